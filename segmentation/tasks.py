"""Celery tasks: thin wrappers over segmentation.services."""

from celery import shared_task


@shared_task(name="segmentation.run_segmentation", acks_late=True)
def run_segmentation(run_id: int) -> str:
    """Execute a queued run; returns its final status."""
    from .services import execute_run

    return execute_run(run_id=run_id).status
