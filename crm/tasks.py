"""crm's Celery tasks: thin, each takes ids and calls one service."""

from celery import shared_task

from .importing import jobs


@shared_task(name="crm.import_csv_job")
def import_csv_job(job_id: int) -> None:
    """Import an uploaded file (an admin import job) in a worker."""
    jobs.run(job_id=job_id)
