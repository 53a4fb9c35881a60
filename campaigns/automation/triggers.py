"""Triggered campaigns: an email to each customer who enters a target segment.

Life of an entry (``TriggerEntry``, the automation's queue):

1. *Recorded*: segmentation announces membership changes (``membership_changed``,
   after refreshes, imports through the live refresh, and publications); the
   entries into an active triggered campaign's target segments become entries,
   due ``delay_days`` later, one per membership change (a unique constraint), in
   one ``INSERT ... SELECT``. The periodic tick records any a lost task missed
   (looking back TRIGGER_LOOKBACK_DAYS).
2. *Released* when due: if the customer is still in the segment, in no excluded
   segment, still contactable, not suppressed and has not already received this
   campaign (or, with ``reentry_days``, not within that many days), a pending
   ``Delivery`` is created (``sequence`` numbers the sends to one address) and
   the ordinary sending machinery sends it, claims, frequency cap and all;
   otherwise the entry is skipped with the reason.

Recording and releasing for one campaign hold its ``Trigger`` row lock, so two
workers never release the same entry twice; the delivery's unique (campaign,
address, sequence) is the last guard against a duplicate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Lower, Trim
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Customer
from segmentation.selectors import entries_since

from .. import rendering
from ..conf import campaigns_settings
from ..models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Link, Suppression
from ..services.dispatch import enqueue_batches
from ..services.lifecycle import CampaignError, _validate
from .models import EntryStatus, SkipReason, Trigger, TriggerEntry

# Deliveries that count as "received" for the once-per-campaign rule.
RECEIVED = [DeliveryStatus.PENDING, DeliveryStatus.RESERVED, DeliveryStatus.SENDING,
            DeliveryStatus.SENT, DeliveryStatus.UNKNOWN]
RELEASE_CHUNK = 5_000
ENTRY_COLUMNS = ("campaign_id", "customer_id", "segment_id", "change_id", "entered_at",
                 "due_at", "status", "reason")


def active_triggers() -> Iterable[Trigger]:
    """Triggers of campaigns that are on (sending) or paused."""
    return Trigger.objects.filter(
        activated_at__isnull=False,
        campaign__status__in=[CampaignStatus.SENDING, CampaignStatus.PAUSED],
    ).select_related("campaign")


def ensure_links(campaign: Campaign) -> None:
    """Store the tracked links of the campaign's bodies (and its variants')."""
    bodies = [campaign.html_body, *campaign.variants.values_list("html_body", flat=True)]
    Link.objects.bulk_create(
        [Link(campaign=campaign, url=url) for body in bodies if body
         for url in rendering.extract_links(body)],
        ignore_conflicts=True,
    )


def activate_trigger(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Turn a draft triggered campaign on: from now, entering a target segment sends it."""
    now = now or timezone.now()
    trigger = Trigger.objects.filter(campaign=campaign).first()
    if trigger is None:
        raise CampaignError(_("This campaign has no segment-entry trigger."))
    if hasattr(campaign, "ab_test"):
        raise CampaignError(_("A triggered campaign cannot have an A/B test; remove one."))
    with transaction.atomic():
        started = Campaign.objects.filter(
            pk=campaign.pk, status__in=[CampaignStatus.DRAFT, CampaignStatus.SCHEDULED],
        ).update(status=CampaignStatus.SENDING, launched_at=now, heartbeat_at=now)
        if not started:
            raise CampaignError(_("Only a draft can be activated."))
        campaign.refresh_from_db()
        _validate(campaign)
        ensure_links(campaign)
        Trigger.objects.filter(pk=trigger.pk).update(activated_at=now)
        if trigger.include_current_members:
            _enter_current_members(campaign, trigger, now)
        release_due(campaign=campaign, now=now)
    campaign.refresh_from_db()
    return campaign


def _insert_entries(rows, *, trigger: Trigger) -> int:
    """INSERT ... SELECT entries from a values_list query shaped like ENTRY_COLUMNS."""
    sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in ENTRY_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(TriggerEntry._meta.db_table)} ({columns}) {sql}",
                       params)
        return cursor.rowcount


def _constants(campaign: Campaign, *, now: datetime | None = None) -> dict:
    values = {
        "t_campaign": Value(campaign.pk, output_field=IntegerField()),
        "t_status": Value(EntryStatus.WAITING.value), "t_reason": Value(""),
    }
    if now is not None:
        values["t_now"] = Value(now, output_field=DateTimeField())
    return values


def _enter_current_members(campaign: Campaign, trigger: Trigger, now: datetime) -> int:
    """"Also send to current members": everyone in a target segment enters now."""
    due = now + timedelta(days=trigger.delay_days)
    count = 0
    for segment in campaign.segments.order_by("pk"):
        rows = (
            segment.members().order_by()
            .exclude(Exists(TriggerEntry.objects.filter(campaign=campaign,
                                                        customer=OuterRef("pk"))))
            .annotate(**_constants(campaign, now=now),
                      t_segment=Value(segment.pk, output_field=IntegerField()),
                      t_change=Value(None, output_field=IntegerField()),
                      t_due=Value(due, output_field=DateTimeField()))
            .values_list("t_campaign", "pk", "t_segment", "t_change", "t_now", "t_due",
                         "t_status", "t_reason")
        )
        count += _insert_entries(rows, trigger=trigger)
    return count


def record_entries(*, campaign: Campaign, since: datetime,
                   segment_ids: Iterable[int] | None = None) -> int:
    """Make queue entries of the customers who entered a target segment since ``since``.

    Only entries after the trigger's activation count; each membership change once.
    """
    trigger = Trigger.objects.select_for_update().get(campaign=campaign)
    if trigger.activated_at is None:
        return 0
    targets = set(campaign.segments.values_list("pk", flat=True))
    if segment_ids is not None:
        targets &= set(segment_ids)
    if not targets:
        return 0
    since = max(since, trigger.activated_at)
    delay = timedelta(days=trigger.delay_days)
    rows = (
        entries_since(segment_ids=targets, since=since).order_by()
        .exclude(Exists(TriggerEntry.objects.filter(campaign=campaign, change=OuterRef("pk"))))
        .annotate(**_constants(campaign),
                  t_due=ExpressionWrapper(F("at") + Value(delay), output_field=DateTimeField()))
        .values_list("t_campaign", "customer_id", "segment_id", "pk", "at", "t_due",
                     "t_status", "t_reason")
    )
    return _insert_entries(rows, trigger=trigger)


def _any(conditions: list[Q]):
    """The OR of ``conditions`` as a boolean expression (false when there are none)."""
    if not conditions:
        return Value(False, output_field=BooleanField())
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return ExpressionWrapper(combined, output_field=BooleanField())


def release_due(*, campaign: Campaign, now: datetime | None = None) -> int:
    """Hand due entries to sending, or skip them with the reason; return deliveries made."""
    now = now or timezone.now()
    made = 0
    with transaction.atomic():
        trigger = Trigger.objects.select_for_update().get(campaign=campaign)
        status = Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)
        waiting = TriggerEntry.objects.filter(campaign=campaign, status=EntryStatus.WAITING)
        if status == CampaignStatus.CANCELLED:
            waiting.update(status=EntryStatus.SKIPPED, reason=SkipReason.STOPPED, decided_at=now)
            return 0
        if status != CampaignStatus.SENDING or trigger.activated_at is None:
            return 0  # paused (or not on): entries wait
        due = waiting.filter(due_at__lte=now).order_by("pk")
        while True:
            chunk = list(_annotated(campaign, trigger, due, now)[:RELEASE_CHUNK])
            if not chunk:
                break
            made += _release_chunk(campaign, chunk, now)
        if made:
            lanes = min(campaigns_settings.PARALLEL_BATCHES,
                        math.ceil(made / campaigns_settings.BATCH_SIZE))
            enqueue_batches(campaign_id=campaign.pk, count=lanes)
    return made


def _annotated(campaign: Campaign, trigger: Trigger, due, now: datetime):
    targets = list(campaign.segments.all())
    # EXISTS per due entry (an index lookup each), not IN over a whole segment.
    def member_of(segment) -> Exists:
        return Exists(segment.members().filter(pk=OuterRef("customer_id")))

    still_in = _any([Q(segment_id=segment.pk) & Q(member_of(segment)) for segment in targets])
    excluded = _any([Q(member_of(segment)) for segment in campaign.excluded_segments.all()])
    received = Delivery.objects.filter(campaign=campaign, address=OuterRef("norm_address"),
                                       status__in=RECEIVED)
    if trigger.reentry_days is not None:
        received = received.filter(created_at__gt=now - timedelta(days=trigger.reentry_days))
    return (
        due.annotate(norm_address=Lower(Trim("customer__email")))
        .annotate(
            still_in=still_in, excluded=excluded,
            contactable=Exists(Customer.objects.contactable().filter(pk=OuterRef("customer_id"))),
            suppressed=Exists(Suppression.objects.filter(address=OuterRef("norm_address"))),
            received=Exists(received),
        )
        .values("pk", "customer_id", "segment_id", "norm_address", "still_in", "excluded",
                "contactable", "suppressed", "received")
    )


def _reason(row: dict, seen: set[str]) -> str | None:
    if not row["still_in"]:
        return SkipReason.LEFT
    if row["excluded"]:
        return SkipReason.EXCLUDED
    if not row["contactable"] or not row["norm_address"]:
        return SkipReason.NOT_CONTACTABLE
    if row["suppressed"]:
        return SkipReason.SUPPRESSED
    if row["received"] or row["norm_address"] in seen:
        return SkipReason.ALREADY_SENT
    return None


def _release_chunk(campaign: Campaign, chunk: list[dict], now: datetime) -> int:
    skipped: dict[str, list[int]] = {}
    chosen: list[dict] = []
    seen: set[str] = set()
    for row in chunk:
        reason = _reason(row, seen)
        if reason is None:
            seen.add(row["norm_address"])
            chosen.append(row)
        else:
            skipped.setdefault(reason, []).append(row["pk"])
    for reason, ids in skipped.items():
        TriggerEntry.objects.filter(pk__in=ids).update(
            status=EntryStatus.SKIPPED, reason=reason, decided_at=now)
    if not chosen:
        return 0
    last = dict(
        Delivery.objects.filter(campaign=campaign,
                                address__in=[row["norm_address"] for row in chosen])
        .order_by().values("address").annotate(last=Max("sequence")).values_list("address", "last")
    )
    Delivery.objects.bulk_create([
        Delivery(campaign=campaign, customer_id=row["customer_id"], segment_id=row["segment_id"],
                 address=row["norm_address"], status=DeliveryStatus.PENDING,
                 sequence=last.get(row["norm_address"], 0) + 1, next_attempt_at=now,
                 created_at=now)
        for row in chosen
    ], batch_size=2_000)
    # Link each entry to its delivery in one UPDATE (one chosen entry per address, so
    # per customer, in this step: created_at == now finds exactly it).
    made = Delivery.objects.filter(campaign=campaign, customer_id=OuterRef("customer_id"),
                                   created_at=now).order_by("-pk").values("pk")[:1]
    return TriggerEntry.objects.filter(pk__in=[row["pk"] for row in chosen]).update(
        status=EntryStatus.QUEUED, decided_at=now, delivery_id=Subquery(made))


def handle_membership_changes(*, segment_ids: Iterable[int], since: datetime,
                              now: datetime | None = None) -> dict[int, int]:
    """After segmentation announced changes: record and release for the campaigns concerned.

    Returns deliveries made per campaign.
    """
    segment_ids = list(segment_ids)
    made = {}
    for trigger in active_triggers().filter(campaign__segments__in=segment_ids).distinct():
        with transaction.atomic():
            record_entries(campaign=trigger.campaign, since=since, segment_ids=segment_ids)
        made[trigger.campaign_id] = release_due(campaign=trigger.campaign, now=now)
    return made


def run_triggers(*, now: datetime | None = None) -> dict[int, int]:
    """The periodic tick: record missed entries, release due ones, send deferred messages."""
    now = now or timezone.now()
    since = now - timedelta(days=campaigns_settings.TRIGGER_LOOKBACK_DAYS)
    TriggerEntry.objects.filter(
        status=EntryStatus.WAITING, campaign__status=CampaignStatus.CANCELLED,
    ).update(status=EntryStatus.SKIPPED, reason=SkipReason.STOPPED, decided_at=now)
    made = {}
    for trigger in active_triggers():
        campaign = trigger.campaign
        with transaction.atomic():
            record_entries(campaign=campaign, since=since)
        made[campaign.pk] = release_due(campaign=campaign, now=now)
        if campaign.status == CampaignStatus.SENDING and not made[campaign.pk] and \
                Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.PENDING,
                                        next_attempt_at__lte=now).exists():
            # Messages the frequency cap (or a retry) held back are due now.
            with transaction.atomic():
                enqueue_batches(campaign_id=campaign.pk, count=1)
    return made
