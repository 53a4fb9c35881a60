"""With a real worker: changes move each customer into exactly the segment its rule picks.

Saves (several orders in one transaction, one refresh task), the bulk API, a CSV
import and a deletion all announce ``customers_changed``; the worker refreshes the customers. Every
changed customer must end up in exactly the live segments whose rules select their
recomputed features, and a draft run's segments must not change at all.
"""

import io
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from crm.importing import import_csv
from crm.models import Customer, ImportKind, Order
from segmentation.features.compute import compute_features
from segmentation.models import (
    Segment,
    Segmentation,
    SegmentationRun,
    SegmentKind,
    SegmentMembership,
)
from segmentation.rules import Rule, evaluate
from segmentation.services import execute_run, publish_run, save_manual_segment
from tests.segmentation.conftest import build_shop

pytestmark = [pytest.mark.worker, pytest.mark.redis]


def expected_segments(customer_ids: list[int], now) -> dict[int, set[int]]:
    """Customer -> the live segments whose rules select their features as of ``now``."""
    frame = compute_features(now=now, customer_ids=customer_ids)
    wanted = {pk: set() for pk in customer_ids}
    for segment in Segment.objects.targetable():
        mask = evaluate(Rule.from_dict(segment.rule), frame)
        for customer in frame.index[mask]:
            wanted[int(customer)].add(segment.pk)
    return wanted


def stored_segments(customer_ids: list[int]) -> dict[int, set[int]]:
    stored = {pk: set() for pk in customer_ids}
    for segment_id, customer_id in SegmentMembership.objects.filter(
        customer_id__in=customer_ids, segment__in=Segment.objects.targetable(),
    ).values_list("segment_id", "customer_id"):
        stored[customer_id].add(segment_id)
    return stored


def memberships_of(run: SegmentationRun) -> set[tuple[int, int]]:
    return set(SegmentMembership.objects.filter(segment__run=run)
               .values_list("segment_id", "customer_id"))


def test_changes_put_each_customer_in_exactly_the_right_segments(celery_worker):
    now = timezone.now()
    shop = build_shop(now=now)
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="live-worker", n_clusters=3))
    publish_run(run=execute_run(run_id=run.pk, now=now))
    big_spenders = save_manual_segment(name="Big spenders", rule=Rule.from_dict(
        {"version": 1, "any": [{"all": [
            {"feature": "total_spend", "op": ">", "value": 8000}]}]}))
    assert big_spenders.kind == SegmentKind.MANUAL
    draft = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="draft", n_clusters=2))
    draft = execute_run(run_id=draft.pk, now=now)  # succeeded, never published
    draft_before = memberships_of(draft)
    assert draft_before

    lapsed = [pk for pk, group in shop.items() if group == "lapsed"]
    loyal = [pk for pk, group in shop.items() if group != "lapsed"]
    by_save, by_api, by_csv = lapsed[:3], lapsed[3:6], lapsed[6:9]
    by_deletion = loyal[:3]
    changed = by_save + by_api + by_csv + by_deletion
    before = stored_segments(changed)

    with transaction.atomic():  # many orders, one refresh task
        for customer_id in by_save:
            for day in range(12):
                Order.objects.create(customer_id=customer_id, amount=Decimal("900"),
                                     placed_at=now - timedelta(days=2 * day + 1))
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("admin", "a@example.com", "x"))
    response = api.post("/api/v1/orders/bulk/", {"items": [
        {"external_id": f"live-{customer_id}-{day}", "customer": customer_id,
         "placed_at": (now - timedelta(days=day + 1)).isoformat(), "amount": "1500"}
        for customer_id in by_api for day in range(8)
    ]}, format="json")
    assert response.status_code == 200, response.content
    emails = dict(Customer.objects.filter(pk__in=by_csv).values_list("pk", "email"))
    rows = "".join(f"{emails[pk]},{(now - timedelta(days=day + 1)).date()},1500\n"
                   for pk in by_csv for day in range(8))
    imported = import_csv(source=io.BytesIO(f"email,order_date,amount\n{rows}".encode()),
                          kind=ImportKind.ORDERS)
    assert imported.errors == () and imported.orders.created == 24, imported
    Order.objects.filter(customer_id__in=by_deletion).delete()

    wanted = expected_segments(changed, timezone.now())
    moved = by_save + by_api + by_csv
    assert all(wanted[pk] != before[pk] for pk in moved)  # they must move
    deadline = time.monotonic() + 60
    while stored_segments(changed) != wanted and time.monotonic() < deadline:
        time.sleep(0.3)
    assert stored_segments(changed) == wanted
    assert any(wanted[pk] for pk in moved)  # they landed somewhere
    assert any(big_spenders.pk in wanted[pk] for pk in by_api + by_csv)
    assert all(not (wanted[pk] & {big_spenders.pk}) for pk in by_deletion)
    assert memberships_of(draft) == draft_before, "a draft run's segments were touched"


def test_the_nightly_refresh_catches_writes_that_announced_nothing(celery_worker):
    from segmentation.tasks import refresh_all_live_segments

    now = timezone.now()
    shop = build_shop(now=now)
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="nightly", n_clusters=3))
    publish_run(run=execute_run(run_id=run.pk, now=now))
    draft = execute_run(run_id=SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="draft", n_clusters=2)).pk, now=now)
    draft_before = memberships_of(draft)

    lapsed = [pk for pk, group in shop.items() if group == "lapsed"][:5]
    before = stored_segments(lapsed)
    Order.objects.bulk_create([  # no signal: a host's raw bulk write
        Order(customer_id=pk, amount=Decimal("900"), placed_at=now - timedelta(days=2 * d + 1))
        for pk in lapsed for d in range(12)
    ])
    assert stored_segments(lapsed) == before

    synced = refresh_all_live_segments.delay().get(timeout=180)

    everyone = list(shop)
    assert synced == Segment.objects.targetable().count()
    assert stored_segments(everyone) == expected_segments(everyone, timezone.now())
    assert stored_segments(lapsed) != before
    assert memberships_of(draft) == draft_before, "a draft run's segments were touched"
