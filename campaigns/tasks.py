"""Celery tasks: ids in, one service call each.

Sending tasks acknowledge late and are re-queued when their worker dies; that is
safe because a delivery is claimed in the database before its SMTP call. Sending
is I/O-bound: a worker with a thread pool (``celery worker --pool=threads
--concurrency=4``) overlaps SMTP and database waits; prefork works too.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import services

SAFE = {"acks_late": True, "reject_on_worker_lost": True}
# The database, the broker or the rate limit's Redis away for a while: try again later.
TRANSIENT = (DatabaseError, BrokerError, RedisConnectionError, RedisTimeoutError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 5, "retry_backoff_max": 300,
         "max_retries": 8}


@shared_task(name="campaigns.send_batch", **RETRY, **SAFE)
def send_campaign_batch(campaign_id: int, delivery_ids: list[int] | None = None) -> dict:
    """Send one batch of a campaign (claim-N, or only ``delivery_ids``)."""
    result = services.send_batch(campaign_id=campaign_id, delivery_ids=delivery_ids)
    return {"claimed": result.claimed, "sent": result.sent, "failed": result.failed,
            "retried": result.retried, "skipped": result.skipped}


@shared_task(name="campaigns.launch_due", **RETRY, **SAFE)
def launch_due() -> list[int]:
    """Launch the scheduled campaigns whose time has come (celery beat)."""
    return services.launch_due_campaigns()


@shared_task(name="campaigns.watch", **RETRY, **SAFE)
def watch_campaign(campaign_id: int) -> dict:
    """A campaign's own watchdog: go on after a dead worker, or finish (no beat needed)."""
    report = services.watch_campaign(campaign_id=campaign_id)
    return {"released": report.released, "unknown": report.unknown,
            "finished": report.finished, "restarted": report.restarted}


@shared_task(name="campaigns.recover", **SAFE)
def recover() -> dict:
    """Record deliveries of dead workers as unknown, finish or restart campaigns (beat)."""
    report = services.recover_campaigns()
    return {"unknown": report.unknown, "finished": report.finished,
            "restarted": report.restarted}


# --- automation (campaigns.automation) ------------------------------------------------------
# Periodic: "campaigns.run_triggers" and "campaigns.decide_ab_tests" each minute
# (see CELERY_BEAT_SCHEDULE in rulecast/settings.py).


@shared_task(name="campaigns.handle_membership_changes", autoretry_for=(DatabaseError,),
             retry_backoff=5, max_retries=5, **SAFE)
def handle_membership_changes(segment_ids: list[int], since: str) -> dict:
    """Record and release trigger entries after segmentation announced changes."""
    from datetime import datetime

    from .automation import triggers

    made = triggers.handle_membership_changes(segment_ids=segment_ids,
                                              since=datetime.fromisoformat(since))
    return {str(campaign_id): count for campaign_id, count in made.items()}


@shared_task(name="campaigns.run_triggers", **SAFE)
def run_triggers() -> dict:
    """Record missed entries, release due ones, send messages the cap held (beat)."""
    from .automation import frequency, triggers

    made = triggers.run_triggers()
    frequency.prune()
    return {str(campaign_id): count for campaign_id, count in made.items()}


@shared_task(name="campaigns.decide_ab_tests", **SAFE)
def decide_ab_tests() -> list[int]:
    """Decide the A/B tests whose wait is over and send the winners (beat)."""
    from .automation import abtest

    return abtest.decide_due_tests()
