"""Runs on data shaped like a real shop's: an old file, no signup dates, people who never
bought, a shop in dollars. The clock is fake (``now=``) wherever time matters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.db.models import Max, Min
from django.test import override_settings

from crm.models import Customer, Event, Order, OrderStatus
from segmentation.exports import render_rule
from segmentation.features.compute import compute_features
from segmentation.models import CustomerFeatures, RunStatus, Segmentation, SegmentationRun
from segmentation.review import run_review
from segmentation.rules import Rule, evaluate
from segmentation.services import execute_run

from .conftest import NOW, build_shop

pytestmark = pytest.mark.django_db

END_1998 = datetime(1998, 6, 30, 15, 0, tzinfo=UTC)


def run_at(segmentation: Segmentation, now: datetime = NOW, **fields) -> SegmentationRun:
    run = SegmentationRun.objects.create(segmentation=segmentation, **fields)
    run = execute_run(run_id=run.pk, now=now)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def sentences(run: SegmentationRun) -> list[str]:
    return [render_rule(s, "text", lang=lang) for s in run.segments.all() for lang in ("en", "zh")]


def test_a_file_ending_in_1998_is_measured_from_its_end(db):
    build_shop(now=END_1998)
    first = min(Order.objects.aggregate(t=Min("placed_at"))["t"],
                Customer.objects.aggregate(t=Min("signed_up_at"))["t"])
    run = run_at(Segmentation.objects.create(name="1998", n_clusters=3), now=NOW)

    latest = max(Order.objects.aggregate(t=Max("placed_at"))["t"],
                 Event.objects.aggregate(t=Max("occurred_at"))["t"])
    assert run.as_of == latest + timedelta(days=1)
    assert any("1998" in note and "as of" in note for note in run.metrics["notes"])
    span = (run.as_of - first).days
    for text in sentences(run):
        assert not re.search(r"(?<![\w.])-\d|超过-|不超过-", text), text  # no negative number
        for days in re.findall(r"([\d,.]+) ?(?:days?|天)", text):
            value = float(days.replace(",", ""))
            assert value.is_integer(), text  # whole days
            assert value <= span, text  # no threshold longer than the data
    # Orders in the last 90 days are counted back from the end of the file, not from 2026.
    stored = CustomerFeatures.objects.filter(orders_90d__gt=0).count()
    assert stored > 0
    assert run.metrics["k"] == 3


def test_without_signup_dates_tenure_is_days_since_the_first_order(db):
    groups = build_shop()
    Customer.objects.update(signed_up_at=None)
    ids = sorted(groups)
    # Two import batches, a year apart: nothing about a customer may depend on which.
    Customer.objects.filter(pk__in=ids[::2]).update(created_at=NOW - timedelta(days=400))
    Customer.objects.filter(pk__in=ids[1::2]).update(created_at=NOW - timedelta(minutes=5))

    frame = compute_features(now=NOW, names=["tenure_days"])
    first = pd.Series({
        row["customer_id"]: (NOW - row["first"]).days
        for row in Order.objects.values("customer_id").annotate(first=Min("placed_at"))
    })
    assert (frame["tenure_days"] == first.reindex(frame.index)).all()

    segmentation = Segmentation.objects.create(name="nosignup", n_clusters=3)
    run = run_at(segmentation)
    labels = membership_labels(run)
    Customer.objects.filter(pk__in=ids[::2]).update(created_at=NOW - timedelta(minutes=5))
    again = run_at(segmentation)
    assert [s.rule for s in run.segments.order_by("index")] == \
        [s.rule for s in again.segments.order_by("index")]
    assert membership_labels(again) == labels
    batch = pd.Series({i: i in set(ids[::2]) for i in ids})
    for segment in run.segments.all():  # no segment is one import batch
        members = batch[list(segment.members().values_list("pk", flat=True))]
        assert 0.2 < members.mean() < 0.8, segment.name


def membership_labels(run: SegmentationRun) -> dict[int, int]:
    return dict(run.segments.values_list("memberships__customer_id", "index"))


def add_nonbuyers(count: int = 60) -> list[int]:
    ids = []
    for n in range(count):
        customer = Customer.objects.create(email=f"nb{n}@example.com",
                                           signed_up_at=NOW - timedelta(days=30 + n))
        ids.append(customer.pk)
        if n % 3 == 0:
            Event.objects.create(customer=customer, event_type="page_view",
                                 occurred_at=NOW - timedelta(days=2))
        if n % 4 == 0:  # a cancelled order is not a purchase
            Order.objects.create(customer=customer, placed_at=NOW - timedelta(days=3),
                                 amount=Decimal("80.00"), status=OrderStatus.CANCELLED)
    return ids


def test_customers_who_never_ordered_are_in_segments_of_their_own(db):
    buyers = set(build_shop())
    nonbuyers = set(add_nonbuyers())
    run = run_at(Segmentation.objects.create(name="nonbuyers", n_clusters=3))

    assert run.metrics["k"] == 3 and run.metrics["nonbuyer_segments"] == 2
    assert run.segments.count() == 5
    assert any("no completed order" in note for note in run.metrics["notes"])
    by_index = {s.index: s for s in run.segments.all()}
    labels = membership_labels(run)
    assert set(labels) == buyers | nonbuyers  # everyone is in a segment...
    assert {labels[c] for c in nonbuyers} == {3, 4}
    assert {labels[c] for c in buyers} == {0, 1, 2}
    assert {by_index[3].name, by_index[4].name} == {"Never ordered, seen in 30 days",
                                                     "Never ordered, not seen in 30 days"}
    active = {c for c in nonbuyers if labels[c] == next(
        i for i, s in by_index.items() if s.name == "Never ordered, seen in 30 days")}
    assert active == set(Event.objects.filter(customer__in=nonbuyers)
                         .values_list("customer_id", flat=True))

    # ... exactly once, by the rules themselves, as live segments will evaluate them.
    frame = compute_features(now=NOW)
    hits = np.zeros(len(frame), dtype=int)
    for segment in run.segments.all():
        mask = evaluate(Rule.from_dict(segment.rule), frame)
        hits += mask
        assert set(frame.index[mask]) == set(segment.members().values_list("pk", flat=True))
    assert (hits == 1).all()
    assert frame.loc[sorted(nonbuyers), "recency_days"].isna().all()  # no made-up recency


def test_each_customers_cluster_is_stored_beside_the_segment(shop):
    run = run_at(Segmentation.objects.create(name="clusters", n_clusters=3))
    rows = list(run.segments.values_list("index", "memberships__cluster"))
    assert all(cluster is not None for _, cluster in rows)
    k = run.metrics["k"]
    confusion = np.zeros((k, k), dtype=int)
    for index, cluster in rows:
        confusion[index, cluster] += 1
    assert confusion.tolist() == run.metrics["confusion"]


@override_settings(RULECAST_CRM={"DEFAULT_CURRENCY": "USD"})
def test_a_dollar_shops_sentences_show_dollars_in_both_languages(shop):
    run = run_at(Segmentation.objects.create(
        name="usd", n_clusters=3, features=["total_spend", "avg_order_value", "frequency"]))
    english = [render_rule(s, "text", lang="en") for s in run.segments.all()]
    chinese = [render_rule(s, "text", lang="zh") for s in run.segments.all()]
    money = [text for text in english if "spend" in text or "order value" in text]
    assert money and all(re.search(r"\$\d", text) for text in money)
    assert any("US$" in text for text in chinese)
    assert not any("¥" in text for text in english + chinese)
    # The review page's profiles too.
    for lang, symbol in (("en", "$"), ("zh", "US$")):
        shown = [row["segment"] for segment in run_review(run, lang)["segments"]
                 for row in (segment["profile"] or {}).get("values", [])]
        assert any(value.startswith(symbol) for value in shown)
        assert not any("¥" in value for value in shown)


def test_a_given_as_of_is_kept_and_later_orders_are_not_seen(shop):
    as_of = NOW - timedelta(days=10)
    run = run_at(Segmentation.objects.create(name="asof", n_clusters=3), as_of=as_of)
    assert run.as_of == as_of
    assert not any("as of" in note for note in run.metrics["notes"])
    recency = CustomerFeatures.objects.aggregate(low=Min("recency_days"))["low"]
    assert recency >= 0
    assert CustomerFeatures.objects.first().computed_at == as_of


def test_a_recent_shop_is_measured_from_now(shop):
    run = run_at(Segmentation.objects.create(name="recent", n_clusters=3), now=NOW)
    assert run.as_of == NOW


def test_profiles_compare_each_segment_with_the_whole_shop(db):
    build_shop()
    add_nonbuyers()
    run = run_at(Segmentation.objects.create(name="profiles", n_clusters=3))
    everyone = compute_features(now=NOW)
    shown = {frozenset(segment.profile) for segment in run.segments.all()}
    assert len(shown) == 1 and "events_30d" not in next(iter(shown))  # the run's features
    for segment in run.segments.all():
        spend = segment.profile["total_spend"]
        assert spend["overall_median"] == pytest.approx(everyone["total_spend"].median())
        members = everyone.loc[list(segment.members().values_list("pk", flat=True))]
        assert spend["median"] == pytest.approx(members["total_spend"].median())


def test_a_failed_run_chooses_its_time_again_when_run_again(db):
    run = SegmentationRun.objects.create(segmentation=Segmentation.objects.create(name="empty"))
    run = execute_run(run_id=run.pk, now=NOW)
    assert run.status == RunStatus.FAILED and run.as_of is None
