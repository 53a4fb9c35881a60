"""A real task round trip through Redis to a real worker process."""

import pytest
from django.db import connection

from crm.models import Customer
from rulecast.celery import app

pytestmark = [pytest.mark.worker, pytest.mark.redis]


def test_worker_answers_ping(celery_worker):
    from rulecast.celery import ping

    assert ping.delay().get(timeout=30) == "pong"


def test_worker_reads_the_test_database(celery_worker):
    Customer.objects.create(email="Worker@Example.com")
    report = app.send_task("rulecast.health").get(timeout=30)
    assert report == {"database": connection.vendor, "customers": 1}
