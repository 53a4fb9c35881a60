"""Celery tasks: thin wrappers over segmentation services."""

from celery import shared_task
from django.db import OperationalError


@shared_task(name="segmentation.run_segmentation", acks_late=True,
             autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_segmentation(run_id: int) -> str:
    """Execute a queued run; returns its final status."""
    from .services import execute_run

    return execute_run(run_id=run_id).status


# A watchdog killed with its worker goes back to the queue (acks_late alone acks it on
# worker loss, and the run would have nobody left to look at it): watching is idempotent.
@shared_task(name="segmentation.watch_run", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def watch_run(run_id: int) -> str:
    """A run's own watchdog: requeue or fail it when its worker died; its status."""
    from .runwatch import watch

    return watch(run_id)


@shared_task(name="segmentation.recover_runs", acks_late=True)
def recover_runs() -> dict:
    """Periodic backstop: requeue or fail every run whose worker died."""
    from .runwatch import recover_runs as recover

    report = recover()
    return {"requeued": report.requeued, "failed": report.failed}


@shared_task(
    name="segmentation.refresh_customers", acks_late=True,
    autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5,
)
def refresh_customers(customer_ids: list[int]) -> int:
    """Refresh these customers' features and live memberships; returns the changes made."""
    from .membership import refresh_customers as refresh

    return len(refresh(customer_ids=customer_ids))


@shared_task(name="segmentation.refresh_all_live_segments", acks_late=True,
             autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def refresh_all_live_segments() -> int:
    """Periodic: recompute all features and re-sync live segments; returns segments synced."""
    from .membership import refresh_all_live_segments as refresh

    return len(refresh())


@shared_task(name="segmentation.apply_retention", acks_late=True)
def apply_retention() -> dict:
    """Periodic (nightly): drop old runs' members and old membership changes.

    A run also drops the members it pushes past retention when it succeeds; this catches
    runs a campaign stopped relying on.
    """
    from .retention import apply_retention as apply

    return apply()


@shared_task(name="segmentation.start_due_reruns", acks_late=True)
def start_due_reruns() -> list[int]:
    """Periodic (hourly): start the scheduled re-runs that are due; returns their run ids."""
    from .scheduling import start_due_reruns as start

    return start()


@shared_task(name="segmentation.run_scheduled", acks_late=True)
def run_scheduled(run_id: int) -> str:
    """Execute a scheduled run, then publish it if it matches; returns its review state."""
    from .scheduling import execute_scheduled_run

    return execute_scheduled_run(run_id=run_id).review_state
