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
from segmentation.models import (
    CustomerFeatures,
    RunStatus,
    Segmentation,
    SegmentationRun,
    SegmentMembership,
)
from segmentation.services import execute_run, features_to_compute

from .conftest import NOW, build_shop

# Side by side is PostgreSQL's (crm.sidebyside): elsewhere one connection does it all.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres")]

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


def test_members_written_on_two_connections_are_the_runs_labels(small_shop, monkeypatch):
    from crm import sidebyside
    from segmentation import membership, services

    parts = []
    run_parts = sidebyside.run_side_by_side

    def counting(jobs, workers=2):
        parts.append(len(jobs))
        return run_parts(jobs, workers)

    monkeypatch.setattr(services, "SIDE_BY_SIDE_MEMBERS", 1)  # the small shop goes side by side
    monkeypatch.setattr(membership, "run_side_by_side", counting)
    run = SegmentationRun.objects.create(segmentation=Segmentation.objects.create(name="m"))
    run = execute_run(run_id=run.pk, now=NOW)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert parts == [2]
    stored = dict(SegmentMembership.objects.filter(segment__run=run)
                  .values_list("customer_id", "segment__size"))
    # Every customer once, each segment's stored size equal to its members.
    assert set(stored) == set(Customer.objects.values_list("pk", flat=True))
    for segment in run.segments.all():
        assert segment.memberships.count() == segment.size


def test_a_failed_member_part_leaves_no_segment_and_no_member(small_shop, monkeypatch):
    from segmentation import membership, services

    write = membership.write_members
    calls = []

    def second_part_fails(members):
        calls.append(len(members))
        if len(calls) == 2:
            raise RuntimeError("connection lost")
        return write(members)

    monkeypatch.setattr(services, "SIDE_BY_SIDE_MEMBERS", 1)
    monkeypatch.setattr(membership, "write_members", second_part_fails)
    run = SegmentationRun.objects.create(segmentation=Segmentation.objects.create(name="f"))
    run = execute_run(run_id=run.pk, now=NOW)
    assert run.status == RunStatus.FAILED
    assert "connection lost" in run.error
    assert len(calls) == 2  # both parts ran: one committed, the other failed
    assert not run.segments.exists()
    assert not SegmentMembership.objects.exists()


def test_progress_notes_commit_without_a_disk_flush_but_never_a_callers_transaction(db):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from segmentation import services

    run = SegmentationRun.objects.create(segmentation=Segmentation.objects.create(name="p"))
    with CaptureQueriesContext(connection) as own:
        services._report(run.pk, "explain", 0.5, None)
    run.refresh_from_db()
    assert (run.stage, run.progress) == ("explain", 0.5)
    assert any("synchronous_commit TO off" in q["sql"] for q in own.captured_queries)

    with transaction.atomic(), CaptureQueriesContext(connection) as inside:
        services._report(run.pk, "saving", 0.9, None)
    assert not any("synchronous_commit" in q["sql"] for q in inside.captured_queries)
