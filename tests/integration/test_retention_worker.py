"""The periodic retention task, as celery beat would send it, run by a real worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.privacy.models import PendingSignup
from rulecast.celery import app

pytestmark = [pytest.mark.worker, pytest.mark.redis]


def test_the_worker_runs_apply_retention(celery_worker):
    PendingSignup.objects.create(email="old@example.com",
                                 created_at=timezone.now() - timedelta(days=30))
    kept = PendingSignup.objects.create(email="new@example.com")
    counts = app.send_task("crm.apply_retention").get(timeout=60)
    assert counts["pending_signups"] == 1
    assert list(PendingSignup.objects.all()) == [kept]
