"""Celery tasks: thin wrappers over crm services."""

from celery import shared_task


@shared_task(name="crm.apply_retention", acks_late=True)
def apply_retention() -> dict[str, int]:
    """Periodic (celery beat, daily): delete what is kept past its retention."""
    from .privacy.retention import apply_retention as apply

    return apply()
