"""Features are computed in the database, in the units a person reads."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from crm.models import Customer, Event, Order, OrderStatus
from segmentation.features import registry
from segmentation.features.compute import compute_features
from segmentation.features.store import refresh_feature_table, refresh_features_of
from segmentation.models import CustomerFeatures

NOW = datetime(2026, 6, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def order(customer, days_ago, amount, category="books", status=OrderStatus.COMPLETED):
    return Order.objects.create(
        customer=customer,
        placed_at=NOW - timedelta(days=days_ago),
        amount=Decimal(amount),
        category=category,
        status=status,
    )


@pytest.fixture
def shop():
    buyer = Customer.objects.create(
        email="buyer@example.com",
        signed_up_at=NOW - timedelta(days=400),
        birth_date=datetime(1990, 6, 2).date(),
    )
    order(buyer, 10, "100.00", "books")
    order(buyer, 30, "300.00", "games")
    order(buyer, 110, "100.00", "books")
    order(buyer, 5, "9999.00", "books", status=OrderStatus.CANCELLED)  # never counts
    for days in (1, 2, 40):
        Event.objects.create(
            customer=buyer, event_type="session", occurred_at=NOW - timedelta(days=days)
        )
    Event.objects.create(
        customer=buyer, event_type="page_view", occurred_at=NOW - timedelta(days=1)
    )
    browser = Customer.objects.create(external_id="B1", signed_up_at=NOW - timedelta(days=20))
    return buyer, browser


def test_features_of_a_buyer(shop):
    buyer, _ = shop
    row = compute_features(now=NOW).loc[buyer.pk]
    assert row["recency_days"] == pytest.approx(10)
    assert row["frequency"] == 3
    assert row["orders_90d"] == 2
    assert row["total_spend"] == pytest.approx(500)
    assert row["avg_order_value"] == pytest.approx(500 / 3)
    assert row["tenure_days"] == pytest.approx(400)
    assert row["age_years"] == 35
    assert row["mean_days_between_orders"] == pytest.approx(50)
    assert row["top_category_share"] == pytest.approx(0.6)  # games 300 of 500
    assert row["sessions_30d"] == 2
    assert row["events_30d"] == 3  # two sessions and a page view


def test_a_customer_without_orders_has_zero_counts_and_no_made_up_values(shop):
    _, browser = shop
    row = compute_features(now=NOW).loc[browser.pk]
    assert row["frequency"] == 0 and row["total_spend"] == 0 and row["orders_90d"] == 0
    # What only exists for a buyer is missing, not invented (recency used to be the tenure).
    for name in ("recency_days", "avg_order_value", "mean_days_between_orders",
                 "top_category_share"):
        assert np.isnan(row[name]), name
    assert row["tenure_days"] == 20


def test_unknown_signup_counts_from_the_first_order_then_the_first_event(shop):
    buyer, browser = shop
    Customer.objects.filter(pk__in=[buyer.pk, browser.pk]).update(signed_up_at=None)
    Event.objects.create(customer=browser, event_type="page_view",
                         occurred_at=NOW - timedelta(days=7, hours=5))
    nobody = Customer.objects.create(email="nobody@example.com")  # imported, nothing else known
    frame = compute_features(now=NOW)
    assert frame.loc[buyer.pk, "tenure_days"] == 110  # the first order, not the import time
    assert frame.loc[browser.pk, "tenure_days"] == 7  # the first event, in whole days
    assert np.isnan(frame.loc[nobody.pk, "tenure_days"])


def test_time_features_are_whole_days_as_of_the_given_time(shop):
    buyer, _ = shop
    order(buyer, -3, "70.00")  # after the as-of time: not seen
    as_of = NOW - timedelta(hours=30)  # 1.25 days before NOW
    row = compute_features(now=as_of).loc[buyer.pk]
    assert row["recency_days"] == 8  # 8.75 days, rounded down
    assert row["tenure_days"] == 398
    assert row["frequency"] == 3 and row["total_spend"] == pytest.approx(500)
    assert row["mean_days_between_orders"] == 50
    for name in ("recency_days", "tenure_days", "age_years", "mean_days_between_orders"):
        assert float(row[name]).is_integer() and row[name] >= 0, name


def test_a_mean_gap_needs_two_orders(shop):
    _, browser = shop
    order(browser, 3, "20.00")
    row = compute_features(now=NOW).loc[browser.pk]
    assert row["recency_days"] == 3 and row["avg_order_value"] == 20
    assert np.isnan(row["mean_days_between_orders"])
    assert row["top_category_share"] == 1.0


def test_batches_give_the_same_table_as_one_query(shop):
    whole = compute_features(now=NOW)
    batched = compute_features(now=NOW, batch_size=1)
    assert whole.equals(batched)
    assert list(whole.columns) == registry.names()


def test_refresh_writes_the_table_and_one_customer_can_be_refreshed(shop):
    buyer, browser = shop
    frame = refresh_feature_table(now=NOW, keep=["frequency"])
    assert list(frame.columns) == ["frequency"]
    assert CustomerFeatures.objects.count() == 2
    assert CustomerFeatures.objects.get(customer=buyer).frequency == 3

    order(browser, 0, "50.00")
    frame = refresh_features_of([browser.pk], now=NOW)
    assert frame.loc[browser.pk, "frequency"] == 1
    assert CustomerFeatures.objects.get(customer=browser).total_spend == 50


def test_one_pass_over_orders_and_events_and_no_subquery_per_customer(shop):
    from django.db import connection

    from crm.models import Event, Order
    from segmentation.features.compute import feature_select, with_fallbacks

    select = feature_select(now=NOW, id_filter={"__in": [1, 2]},
                            features=with_fallbacks(registry.names()))
    sql = select.sql
    qn = connection.ops.quote_name
    assert sql.count(f"FROM {qn(Order._meta.db_table)}") == 1
    assert sql.count(f"FROM {qn(Event._meta.db_table)}") == 1
    assert sql.count(f"FROM {qn('campaigns_delivery')}") == 1
    assert "OVER" in sql  # the top category's spend: a window over the one scan
    # One SELECT per source (orders: the grouping and its window), none per customer.
    assert sql.count("SELECT") == 6
    assert '"attributes"' not in sql  # the window's table carries only what is read


def test_only_the_features_asked_for_are_computed_and_stored(shop):
    buyer, _ = shop
    refresh_feature_table(now=NOW, names=["recency_days"], keep=["recency_days", "age_years"])
    row = CustomerFeatures.objects.get(customer=buyer)
    assert row.recency_days == 10
    assert row.age_years is None and row.top_category_share is None
