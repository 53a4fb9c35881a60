"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rulecast.settings")

app = Celery("rulecast")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="rulecast.ping")
def ping() -> str:
    """Answer 'pong': lets tests and operators check that a worker is alive."""
    return "pong"


@app.task(name="rulecast.health")
def health() -> dict:
    """Report what the worker is connected to, so operators can check its database."""
    from django.db import connection

    from crm.models import Customer

    return {"database": connection.vendor, "customers": Customer.objects.count()}
