"""A campaign's life: launch (recipients frozen), schedule, pause, resume, cancel, recover."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Lower, Trim
from django.template import TemplateSyntaxError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Customer

from .. import rendering
from ..automation import abtest
from ..conf import campaigns_settings
from ..models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Link, Suppression
from . import claims
from .dispatch import enqueue_batches, finish_if_done, schedule_watchdog

logger = logging.getLogger(__name__)

INSERT_COLUMNS = (
    "campaign_id", "customer_id", "segment_id", "address", "status", "message_id", "attempts",
    "last_error", "next_attempt_at", "created_at",
)


class CampaignError(Exception):
    """A campaign cannot do what was asked (wrong status, invalid content, no segments)."""


def _validate(campaign: Campaign) -> None:
    segments = campaign.segments.all()
    if not segments.exists():
        raise CampaignError(_("Choose at least one target segment."))
    if segments.filter(run__is_published=False).exists():
        raise CampaignError(_("Every target segment must belong to a published run."))
    try:
        rendering.compile_campaign(campaign)
    except TemplateSyntaxError as error:
        raise CampaignError(_("The subject or a body is not a valid template: %s") % error) \
            from error


def recipients_queryset(campaign: Campaign, *, now: datetime):
    """The frozen recipients as a query: one row per address, the lowest customer id wins.

    Members of any target segment, minus members of any excluded segment, minus
    customers without consent or unsubscribed (``Customer.contactable``), minus
    addresses on the suppression list. Rows are the Delivery columns in INSERT_COLUMNS.
    """
    targets = list(campaign.segments.order_by("pk"))
    in_targets = Q()
    for segment in targets:
        in_targets |= Q(pk__in=segment.members().values("pk"))
    eligible = Customer.objects.contactable().filter(in_targets)
    for segment in campaign.excluded_segments.all():
        eligible = eligible.exclude(pk__in=segment.members().values("pk"))
    eligible = eligible.annotate(norm_address=Lower(Trim("email"))).exclude(
        Exists(Suppression.objects.filter(address=OuterRef("norm_address")))
    )
    first_per_address = (
        eligible.order_by().values("norm_address").annotate(first=Min("pk")).values("first")
    )
    segment_of = Case(
        *[When(pk__in=segment.members().values("pk"), then=Value(segment.pk))
          for segment in targets],
        default=None, output_field=IntegerField(),
    )
    moment = Value(now, output_field=DateTimeField())
    return (
        Customer.objects.filter(pk__in=first_per_address).order_by()
        .annotate(
            c_campaign=Value(campaign.pk, output_field=IntegerField()), c_segment=segment_of,
            c_address=Lower(Trim("email")), c_status=Value(DeliveryStatus.PENDING.value),
            c_message_id=Value(""), c_attempts=Value(0, output_field=IntegerField()),
            c_error=Value(""), c_next=moment, c_created=moment,
        )
        .values_list("c_campaign", "pk", "c_segment", "c_address", "c_status", "c_message_id",
                     "c_attempts", "c_error", "c_next", "c_created")
    )


def _freeze_recipients(campaign: Campaign, now: datetime) -> int:
    """INSERT ... SELECT the deliveries in one statement; return how many."""
    sql, params = recipients_queryset(campaign, now=now).query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in INSERT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Delivery._meta.db_table)} ({columns}) {sql}", params,
        )
        return cursor.rowcount


def _lanes(pending: int) -> int:
    return min(campaigns_settings.PARALLEL_BATCHES,
               math.ceil(pending / campaigns_settings.BATCH_SIZE))


def launch_campaign(*, campaign: Campaign, now: datetime | None = None) -> int:
    """Freeze the recipients, start sending; return the number of deliveries."""
    now = now or timezone.now()
    with transaction.atomic():
        # Status first: the row lock (or SQLite's write lock) makes a second launch wait
        # and then find the campaign no longer a draft.
        started = Campaign.objects.filter(
            pk=campaign.pk, status__in=[CampaignStatus.DRAFT, CampaignStatus.SCHEDULED],
            trigger__isnull=True,  # a triggered campaign is activated (automation.triggers)
        ).update(status=CampaignStatus.SENDING, launched_at=now, heartbeat_at=now)
        if not started:
            raise CampaignError(_("Only a draft or scheduled campaign can be launched."))
        campaign.refresh_from_db()
        _validate(campaign)
        Link.objects.bulk_create(
            [Link(campaign=campaign, url=url)
             for url in rendering.extract_links(campaign.html_body)],
            ignore_conflicts=True,
        )
        count = _freeze_recipients(campaign, now)
        fields: dict = {"recipient_count": count}
        if count == 0:
            fields.update(status=CampaignStatus.SENT, finished_at=now)
        Campaign.objects.filter(pk=campaign.pk).update(**fields)
        first = abtest.start_test(campaign=campaign, now=now) if count else 0  # A/B share
        if first:
            enqueue_batches(campaign_id=campaign.pk, count=_lanes(first))
    campaign.refresh_from_db()
    return count


def schedule_campaign(*, campaign: Campaign, at: datetime | None = None) -> Campaign:
    """Have celery beat launch a draft at ``at`` (or its scheduled time)."""
    at = at or campaign.scheduled_at
    if at is None:
        raise CampaignError(_("Set a scheduled time first."))
    _validate(campaign)
    changed = Campaign.objects.filter(
        pk=campaign.pk, status__in=[CampaignStatus.DRAFT, CampaignStatus.SCHEDULED],
    ).update(status=CampaignStatus.SCHEDULED, scheduled_at=at)
    if not changed:
        raise CampaignError(_("Only a draft can be scheduled."))
    campaign.refresh_from_db()
    return campaign


def launch_due_campaigns(*, now: datetime | None = None) -> list[int]:
    """Launch every scheduled campaign whose time has come (celery beat, each minute)."""
    now = now or timezone.now()
    launched = []
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
    for campaign in due.order_by("scheduled_at", "pk"):
        try:
            launch_campaign(campaign=campaign, now=now)
        except CampaignError:
            logger.exception("scheduled campaign %s cannot be launched", campaign.pk)
        else:
            launched.append(campaign.pk)
    return launched


def _change_status(campaign: Campaign, allowed: Iterable[str], status: str, message: str) -> bool:
    changed = Campaign.objects.filter(pk=campaign.pk, status__in=list(allowed)).update(
        status=status, heartbeat_at=timezone.now(),
    )
    if not changed:
        raise CampaignError(message)
    campaign.refresh_from_db()
    return True


def pause_campaign(*, campaign: Campaign) -> Campaign:
    """Stop sending after the messages in flight; pending deliveries wait."""
    _change_status(campaign, [CampaignStatus.SENDING], CampaignStatus.PAUSED,
                   _("Only a sending campaign can be paused."))
    return campaign


def resume_campaign(*, campaign: Campaign) -> Campaign:
    """Continue a paused campaign."""
    with transaction.atomic():
        _change_status(campaign, [CampaignStatus.PAUSED], CampaignStatus.SENDING,
                       _("Only a paused campaign can be resumed."))
        _restart(campaign.pk)
    return campaign


def cancel_campaign(*, campaign: Campaign) -> Campaign:
    """Stop for good: pending deliveries are cancelled; messages in flight finish."""
    with transaction.atomic():
        _change_status(
            campaign,
            [CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING,
             CampaignStatus.PAUSED],
            CampaignStatus.CANCELLED, _("This campaign can no longer be cancelled."),
        )
        Delivery.objects.filter(
            campaign=campaign,
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RESERVED, DeliveryStatus.HELD],
        ).update(status=DeliveryStatus.CANCELLED)
        Campaign.objects.filter(pk=campaign.pk).update(finished_at=timezone.now())
    campaign.refresh_from_db()
    return campaign


def _restart(campaign_id: int) -> None:
    """Queue send tasks for a sending campaign, or finish it when nothing is left."""
    pending = Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.PENDING)
    count = pending.count()
    if count:
        enqueue_batches(campaign_id=campaign_id, count=_lanes(count))
    else:
        finish_if_done(campaign_id=campaign_id)


@dataclass
class RecoveryReport:
    released: int = 0
    unknown: int = 0
    finished: list[int] = field(default_factory=list)
    restarted: list[int] = field(default_factory=list)


def recover_campaigns(
    *, now: datetime | None = None, sending_timeout: timedelta | None = None,
    stall_timeout: timedelta | None = None,
) -> RecoveryReport:
    """The watchdog (celery beat, each minute).

    A delivery ``reserved`` for longer than SENDING_TIMEOUT belonged to a batch whose
    worker died before attempting it: it goes back to ``pending``. A delivery
    ``sending`` that long was claimed by a worker that died mid-send: it may or may not
    have gone out, so it becomes ``unknown`` and is not re-sent without a person.
    A sending campaign with nothing left is marked sent; one with pending deliveries
    and no send activity for STALL_TIMEOUT (its tasks were lost with a worker) gets
    new send tasks.
    """
    now = now or timezone.now()
    if sending_timeout is None:
        sending_timeout = timedelta(seconds=campaigns_settings.SENDING_TIMEOUT)
    if stall_timeout is None:
        stall_timeout = timedelta(seconds=campaigns_settings.STALL_TIMEOUT)
    report = RecoveryReport()
    report.released, report.unknown = claims.expire(before=now - sending_timeout)
    for campaign in Campaign.objects.filter(status=CampaignStatus.SENDING):
        if finish_if_done(campaign_id=campaign.pk):
            report.finished.append(campaign.pk)
            continue
        quiet = campaign.heartbeat_at is None or campaign.heartbeat_at <= now - stall_timeout
        if quiet and Delivery.objects.filter(
            campaign=campaign, status=DeliveryStatus.PENDING,
        ).exists():
            with transaction.atomic():
                Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=now)
                _restart(campaign.pk)
            report.restarted.append(campaign.pk)
    return report


def watch_campaign(*, campaign_id: int, now: datetime | None = None) -> RecoveryReport:
    """One campaign's watchdog (a task it queues for itself, see dispatch).

    Lapsed leases end (reserved: pending again; sending: unknown); then the campaign
    gets new send tasks when deliveries wait, is marked sent when none is left, or
    the watchdog looks again when the remaining leases could lapse.
    """
    now = now or timezone.now()
    report = RecoveryReport()
    Campaign.objects.filter(pk=campaign_id, watchdog_at__lte=now).update(watchdog_at=None)
    report.released, report.unknown = claims.expire(
        campaign_id=campaign_id,
        before=now - timedelta(seconds=float(campaigns_settings.SENDING_TIMEOUT)))
    if not Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).exists():
        return report
    with transaction.atomic():
        if Delivery.objects.filter(campaign_id=campaign_id,
                                   status=DeliveryStatus.PENDING).exists():
            # A dead batch's share, or nobody left working: send tasks now. Otherwise
            # live batches go on and take them.
            if report.released or not schedule_watchdog(campaign_id=campaign_id):
                Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=now)
                _restart(campaign_id)
                report.restarted.append(campaign_id)
        elif finish_if_done(campaign_id=campaign_id):
            report.finished.append(campaign_id)
        else:
            schedule_watchdog(campaign_id=campaign_id)
    return report


def resend_unknown(*, delivery_ids: Iterable[int]) -> int:
    """A person's decision: send ``unknown`` deliveries again (their recipient may get two)."""
    now = timezone.now()
    with transaction.atomic():
        chosen = Delivery.objects.filter(
            pk__in=list(delivery_ids), status=DeliveryStatus.UNKNOWN,
        ).exclude(campaign__status=CampaignStatus.CANCELLED)
        campaign_ids = set(chosen.values_list("campaign_id", flat=True))
        count = chosen.update(
            status=DeliveryStatus.PENDING, next_attempt_at=now, claim_token=None,
            last_error="re-sent by a person after an unknown outcome",
        )
        Campaign.objects.filter(pk__in=campaign_ids, status=CampaignStatus.SENT).update(
            status=CampaignStatus.SENDING, finished_at=None, heartbeat_at=now,
        )
        for campaign_id in Campaign.objects.filter(
            pk__in=campaign_ids, status=CampaignStatus.SENDING,
        ).values_list("pk", flat=True):
            _restart(campaign_id)
    return count
