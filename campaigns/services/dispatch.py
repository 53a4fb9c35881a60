"""What happens after a batch: the next batch now or later, or the campaign is done.

Each campaign keeps up to PARALLEL_BATCHES send tasks in flight ("lanes"); a
batch that filled up queues its successor, one that ended early (rate limit,
SMTP server down) queues it with a countdown, and the last one marks the
campaign sent. When the last batch finds nothing to send while other batches still
hold leases (they may be alive, or their worker died), it schedules the campaign's
watchdog for when the oldest lease would lapse: the campaign goes on, or finishes,
within SENDING_TIMEOUT of a worker's death, with or without celery beat. Tasks are
queued with ``transaction.on_commit``.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from ..conf import campaigns_settings
from ..models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from . import claims


def continue_campaign(*, campaign_id: int, continue_in: float | None, full: bool) -> None:
    """After a batch: queue the next one now or later, or mark the campaign sent.

    ``continue_in``: the batch ended early and the campaign continues after that many
    seconds; ``full``: the batch took all it could, so more may be waiting.
    """
    if not Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).exists():
        return  # paused or cancelled: resume_campaign queues batches again
    if continue_in is not None:
        enqueue_batches(campaign_id=campaign_id, count=1, countdown=continue_in)
        return
    if full:
        enqueue_batches(campaign_id=campaign_id, count=1)
        return
    next_due = Delivery.objects.filter(
        campaign_id=campaign_id, status=DeliveryStatus.PENDING,
    ).aggregate(at=Min("next_attempt_at"))["at"]
    if next_due is not None:
        countdown = max((next_due - timezone.now()).total_seconds(), 0.0)
        enqueue_batches(campaign_id=campaign_id, count=1, countdown=countdown)
        return
    if not finish_if_done(campaign_id=campaign_id):
        schedule_watchdog(campaign_id=campaign_id)


def schedule_watchdog(*, campaign_id: int) -> bool:
    """Queue the campaign's watchdog for when its oldest lease lapses (one at a time).

    ``watchdog_at`` says when the queued one is due; another is queued only once that
    time has passed (it ran, or was lost with its worker).
    """
    from celery import current_app

    if current_app.conf.task_always_eager:
        return False  # in-process: no worker can die apart from us
    oldest = claims.oldest_lease(campaign_id)
    if oldest is None:
        return False
    now = timezone.now()
    lapses = oldest + timedelta(seconds=float(campaigns_settings.SENDING_TIMEOUT))
    due = max(lapses, now) + timedelta(seconds=1)
    taken = Campaign.objects.filter(pk=campaign_id).filter(
        Q(watchdog_at__isnull=True) | Q(watchdog_at__lt=now)).update(watchdog_at=due)
    if not taken:
        return False
    countdown = (due - now).total_seconds()
    transaction.on_commit(lambda: _submit_watchdog(campaign_id, countdown))
    return True


def _submit_watchdog(campaign_id: int, countdown: float) -> None:
    from ..tasks import watch_campaign

    watch_campaign.apply_async(kwargs={"campaign_id": campaign_id}, countdown=countdown)


def enqueue_batches(*, campaign_id: int, count: int, countdown: float = 0.0) -> None:
    """Queue ``count`` send tasks for a campaign after the current transaction commits."""
    countdown = min(max(countdown, 0.0), float(campaigns_settings.RETRY_BACKOFF_MAX))
    if countdown:
        # Tell recover_campaigns the campaign is waiting, not stalled.
        Campaign.objects.filter(pk=campaign_id).update(
            heartbeat_at=timezone.now() + timedelta(seconds=countdown),
        )
    for _ in range(count):
        transaction.on_commit(lambda: _submit(campaign_id, countdown))


_eager = threading.local()


def _submit(campaign_id: int, countdown: float) -> None:
    from celery import current_app

    from ..tasks import send_campaign_batch

    if not current_app.conf.task_always_eager:
        send_campaign_batch.apply_async(kwargs={"campaign_id": campaign_id},
                                        countdown=countdown or None)
        return
    # No broker (the demo runs tasks in-process): batches run one after another in a
    # loop rather than nested, and nothing can wait; recover_campaigns picks retries up.
    if countdown:
        return
    queue = getattr(_eager, "queue", None)
    if queue is not None:
        queue.append(campaign_id)
        return
    _eager.queue = queue = [campaign_id]
    try:
        while queue:
            send_campaign_batch.apply(kwargs={"campaign_id": queue.pop(0)})
    finally:
        _eager.queue = None


def finish_if_done(*, campaign_id: int) -> bool:
    """Mark a sending campaign sent when no delivery is pending or sending."""
    busy = Delivery.objects.filter(
        campaign_id=OuterRef("pk"),
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RESERVED, DeliveryStatus.SENDING,
                    DeliveryStatus.HELD],  # held: waiting for the A/B test's winner
    )
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING)
        .filter(trigger__isnull=True)  # a triggered campaign sends until it is stopped
        .filter(~Exists(busy))
        .update(status=CampaignStatus.SENT, finished_at=timezone.now())
    )
