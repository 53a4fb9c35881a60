"""A run outside a transaction: feature batches on two connections, the table written meanwhile.

These tests commit (``transaction=True``): the other connections see only committed rows.
"""

import time
from datetime import timedelta

import numpy as np
import pytest

from crm.models import Customer
from segmentation.features import store
from segmentation.features.compute import compute_features
from segmentation.models import CustomerFeatures, RunStatus, Segmentation, SegmentationRun
from segmentation.services import execute_run, features_to_compute

from .conftest import NOW, build_shop

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ["recency_days", "frequency", "total_spend", "avg_order_value", "tenure_days",
         "sessions_30d"]


@pytest.fixture
def small_shop():
    shop = build_shop({"a": (9, 6, 500.0, 10, 700, 6), "b": (8, 1, 40.0, 200, 200, 0)})
    # A customer without any order: no made-up recency, zero counts.
    browser = Customer.objects.create(email="browser@example.com",
                                      signed_up_at=NOW - timedelta(days=30))
    return shop, browser


def test_batches_on_two_connections_give_the_frame_and_table_of_one_query(small_shop):
    _, browser = small_shop
    computed = features_to_compute(NAMES)
    table = store.compute_feature_table(now=NOW, keep=[*computed, "age_years"], names=computed,
                                        batch_size=3)
    assert table._writer is not None  # the side-by-side path, not the fallback
    table.wait()

    expected = compute_features(now=NOW, names=computed)
    assert table.frame[computed].equals(expected)
    assert table.frame["age_years"].isna().all()  # kept but not computed: missing
    assert np.isnan(table.frame.loc[browser.pk, "recency_days"])
    # The table holds the same rows; missing values are NULL (not NaN), the time is as_of.
    assert store.read_features(computed).equals(expected)
    row = CustomerFeatures.objects.get(customer=browser)
    assert row.recency_days is None and row.frequency == 0 and row.age_years is None
    assert row.computed_at == NOW and row.extra == {}
    assert CustomerFeatures.objects.filter(recency_days__isnull=True).count() == 1
    assert set(CustomerFeatures.objects.values_list("customer_id", flat=True)) == set(
        Customer.objects.values_list("pk", flat=True))


def test_a_failed_table_write_fails_the_run_before_it_is_saved(small_shop, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_write_table", broken)
    run = SegmentationRun.objects.create(segmentation=Segmentation.objects.create(name="w"))
    run = execute_run(run_id=run.pk, now=NOW)
    assert run.status == RunStatus.FAILED
    assert "disk full" in run.error
    assert not run.segments.exists()


def test_a_run_is_saved_once_its_feature_table_is_written(small_shop, monkeypatch):
    from segmentation import services

    write, save = store._write_table, services._save_result
    seen_at_save = []

    def slow_write(*args, **kwargs):
        time.sleep(0.5)  # the pipeline is done first
        write(*args, **kwargs)

    def saving(*args, **kwargs):
        seen_at_save.append(CustomerFeatures.objects.count())
        return save(*args, **kwargs)

    monkeypatch.setattr(store, "_write_table", slow_write)
    monkeypatch.setattr(services, "_save_result", saving)
    run = SegmentationRun.objects.create(segmentation=Segmentation.objects.create(name="s"))
    run = execute_run(run_id=run.pk, now=NOW)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert seen_at_save == [Customer.objects.count()]
    frame = store.read_features(run.feature_names)
    assert frame.equals(compute_features(now=NOW, names=run.feature_names))
