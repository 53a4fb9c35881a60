"""With a real worker: a new order moves its customer into the matching segment within seconds."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.models import Order
from segmentation.models import Segment, Segmentation, SegmentationRun
from segmentation.services import execute_run, publish_run
from tests.segmentation.conftest import build_shop

pytestmark = [pytest.mark.worker, pytest.mark.redis]


def test_an_order_moves_the_customer_within_seconds(celery_worker):
    now = timezone.now()
    shop = build_shop(now=now)
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="live-worker", n_clusters=3)
    )
    run = publish_run(run=execute_run(run_id=run.pk, now=now))
    lapsed = next(pk for pk, group in shop.items() if group == "lapsed")
    before = set(
        Segment.objects.filter(memberships__customer_id=lapsed).values_list("pk", flat=True)
    )

    started = time.monotonic()
    for day in range(12):  # autocommit: each save queues a refresh on the worker
        Order.objects.create(
            customer_id=lapsed, amount=Decimal("900"), placed_at=now - timedelta(days=2 * day + 1)
        )
    while time.monotonic() - started < 20:
        after = set(
            Segment.objects.filter(memberships__customer_id=lapsed).values_list("pk", flat=True)
        )
        if after and after != before:
            break
        time.sleep(0.2)
    assert after != before, "the customer did not move"
    assert run.segments.filter(
        pk__in=after, changes__customer_id=lapsed, changes__direction="entered"
    ).exists()
