"""crm's Celery tasks: thin, each takes ids and calls one service."""

from celery import shared_task

from .importing import jobs


@shared_task(name="crm.import_csv_job")
def import_csv_job(job_id: int) -> None:
    """Import an uploaded file (an admin import job) in a worker."""
    jobs.run(job_id=job_id)


@shared_task(name="crm.apply_retention", acks_late=True)
def apply_retention() -> dict[str, int]:
    """Periodic (celery beat, daily): delete what is kept past its retention."""
    from .privacy.retention import apply_retention as apply

    return apply()
