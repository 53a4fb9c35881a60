"""Runs: features, clustering, rules and membership stored; failures marked with their cause."""

from datetime import timedelta

import pytest
from django.test import override_settings
from sklearn.metrics import adjusted_rand_score

from crm.models import Customer, Order
from segmentation.features.compute import compute_features
from segmentation.models import RunStatus, Segment, Segmentation, SegmentationRun, SegmentMembership
from segmentation.rules import Rule, evaluate
from segmentation.services import default_segmentation, execute_run, publish_run, start_run

from .conftest import NOW

pytestmark = pytest.mark.django_db


def run_now(segmentation: Segmentation, **kwargs) -> SegmentationRun:
    run = SegmentationRun.objects.create(segmentation=segmentation)
    return execute_run(run_id=run.pk, now=NOW, **kwargs)


def test_a_run_finds_the_groups_and_stores_rule_membership(shop):
    segmentation = Segmentation.objects.create(name="three", n_clusters=3)
    stages = []
    run = run_now(segmentation, progress=lambda stage, fraction: stages.append((stage, fraction)))

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.progress == 1.0 and run.stage == "done"
    fractions = [fraction for _, fraction in stages]
    assert fractions == sorted(fractions) and {"features", "cluster", "explain"} <= {
        s for s, _ in stages
    }
    assert set(run.timings) >= {"features", "saving"}
    assert run.customer_count == len(shop)
    segments = list(run.segments.order_by("index"))
    assert len(segments) == 3
    assert len({segment.name for segment in segments}) == 3

    # Membership is exactly what each rule selects over the features.
    frame = compute_features(now=NOW, names=run.feature_names)
    predicted = {}
    for segment in segments:
        mask = evaluate(Rule.from_dict(segment.rule), frame)
        members = set(segment.members().values_list("pk", flat=True))
        assert members == set(frame.index[mask])
        assert segment.size == len(members)
        predicted.update(dict.fromkeys(members, segment.index))
    ids = sorted(shop)
    assert adjusted_rand_score([shop[i] for i in ids], [predicted.get(i, -1) for i in ids]) > 0.9


def test_running_twice_is_harmless(shop):
    run = run_now(Segmentation.objects.create(name="twice", n_clusters=3))
    memberships = SegmentMembership.objects.count()
    again = execute_run(run_id=run.pk, now=NOW)
    assert again.status == RunStatus.SUCCEEDED
    assert SegmentMembership.objects.count() == memberships
    assert Segment.objects.filter(run=run).count() == 3


def test_no_customers_fails_with_a_reason(db):
    run = run_now(default_segmentation())
    assert run.status == RunStatus.FAILED
    assert "no customers" in run.error.lower()


CLUSTER_SMALL_SHOPS = {"SMALL_SHOP_BUYERS": 0}


@override_settings(RULECAST_SEGMENTATION=CLUSTER_SMALL_SHOPS)
def test_fewer_customers_than_k_fails_with_a_reason(db):
    for n in range(3):
        customer = Customer.objects.create(email=f"few{n}@example.com", signed_up_at=NOW)
        Order.objects.create(customer=customer, placed_at=NOW - timedelta(days=n), amount=n + 1)
    run = run_now(Segmentation.objects.create(name="k5", n_clusters=5))
    assert run.status == RunStatus.FAILED
    assert run.error and "5" in run.error


@override_settings(RULECAST_SEGMENTATION=CLUSTER_SMALL_SHOPS)
def test_k_larger_than_distinct_customers_fails_with_a_reason(db):
    for n in range(12):  # twelve customers, two distinct behaviours
        customer = Customer.objects.create(
            email=f"d{n}@example.com", signed_up_at=NOW - timedelta(days=100)
        )
        Order.objects.create(
            customer=customer, placed_at=NOW - timedelta(days=10 + 50 * (n % 2)), amount=100
        )
    run = run_now(Segmentation.objects.create(name="k4", n_clusters=4))
    assert run.status == RunStatus.FAILED
    assert "distinct" in run.error.lower()


def test_unknown_feature_fails_with_a_reason(shop):
    run = run_now(Segmentation.objects.create(name="bad", features=["no_such_feature"]))
    assert run.status == RunStatus.FAILED
    assert "no_such_feature" in run.error


def test_publishing_keeps_one_published_run(shop):
    segmentation = Segmentation.objects.create(name="pub", n_clusters=3)
    first, second = run_now(segmentation), run_now(segmentation)
    publish_run(run=first)
    publish_run(run=second)
    first.refresh_from_db()
    assert not first.is_published
    assert SegmentationRun.objects.get(is_published=True) == second


def test_start_run_queues_and_runs_the_task(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run(segmentation=Segmentation.objects.create(name="task", n_clusters=3))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch_kmeans", "agglomerative"])
def test_each_algorithm_runs_end_to_end(shop, algorithm):
    run = run_now(Segmentation.objects.create(name=algorithm, algorithm=algorithm, n_clusters=3))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.metrics["algorithm"] == algorithm
    assert run.segments.count() == 3
    assert run.metrics["fidelity"] >= 0.9


def test_k_is_chosen_when_not_given(shop):
    run = run_now(Segmentation.objects.create(name="auto", k_min=2, k_max=6))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [score["k"] for score in run.metrics["k_scores"]] == [2, 3, 4, 5, 6]
    assert run.metrics["k"] == 3  # the shop has three behaviour groups


def test_a_constant_feature_is_dropped_with_a_note(shop):
    # age_years is missing for everyone (no birth dates): it cannot separate anyone.
    run = run_now(
        Segmentation.objects.create(
            name="const", n_clusters=3, features=["frequency", "total_spend", "age_years"]
        )
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert any("age_years" in note for note in run.metrics.get("notes", []))


def test_only_constant_features_fail_with_a_reason(shop):
    run = run_now(Segmentation.objects.create(name="flat", n_clusters=3, features=["age_years"]))
    assert run.status == RunStatus.FAILED
    assert "constant" in run.error.lower() or "missing" in run.error.lower()


def test_missing_values_are_imputed_for_clustering(shop):
    ids = list(shop)[:150]  # 60 of 210 without a birth date: few enough to impute
    Customer.objects.filter(pk__in=ids[:75]).update(birth_date="1980-01-01")
    Customer.objects.filter(pk__in=ids[75:]).update(birth_date="2000-01-01")
    run = run_now(
        Segmentation.objects.create(
            name="gaps", n_clusters=3, features=["frequency", "total_spend", "age_years"]
        )
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.segments.count() == 3
    assert any("imputed" in note for note in run.metrics["notes"])


def test_a_small_shop_gets_rfm_groups_and_is_told_so(db):
    for n in range(40):
        customer = Customer.objects.create(
            email=f"s{n}@example.com", signed_up_at=NOW - timedelta(days=300)
        )
        for i in range(n % 5):
            Order.objects.create(
                customer=customer, amount=50 + n, placed_at=NOW - timedelta(days=5 + 20 * i + n)
            )
    run = run_now(Segmentation.objects.create(name="tiny", n_clusters=4))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.metrics["method"] == "rfm"
    assert "too few to cluster" in run.metrics["notes"][0]
    names = set(run.segments.values_list("name", flat=True))
    # Customers who never ordered are a segment of their own, beside the RFM groups.
    assert "Never ordered" in names and "Champions" in names and "Prospects" not in names
    assert sum(run.segments.values_list("size", flat=True)) == 40
