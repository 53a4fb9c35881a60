"""A live refresh's feature SQL is compiled once per set of features, then reused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db.models import Count, Q

from crm.models import Customer
from segmentation.features import registry
from segmentation.features.compute import (
    _TEMPLATES,
    _compile_select,
    feature_select,
    with_fallbacks,
)
from segmentation.features.registry import ORDERS, Feature, FeatureRegistry
from segmentation.features.store import refresh_features_of
from segmentation.rules.catalog import FeatureInfo

from .conftest import NOW, build_shop

pytestmark = pytest.mark.usefixtures("postgres")

MOMENTS = [
    NOW,
    NOW + timedelta(microseconds=123_457),  # day numbers that are not round
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=8))),
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_the_template_gives_the_sql_and_parameters_django_compiles(moment):
    features = with_fallbacks(registry.names(), registry)
    ids = [5, 3, 1_000_000]
    reused = feature_select(now=moment, id_filter={"__in": ids}, features=features)
    compiled = _compile_select(now=moment, id_filter={"__in": ids}, features=features,
                               registry_=registry)
    assert (reused.sql, reused.params, reused.names) == (
        compiled.sql, compiled.params, compiled.names)
    assert any(template.sql for template in _TEMPLATES.values())


def test_a_feature_whose_parameters_do_not_follow_the_time_is_compiled_each_time():
    # Orders since the start of the as-of day: a date, not the as-of time shifted.
    features = FeatureRegistry()
    features.register(Feature(
        FeatureInfo("orders_today", "orders today", "今日订单"), ORDERS,
        lambda as_of: Count("id", filter=Q(placed_at__date__gte=as_of.date())), default=0))
    chosen = with_fallbacks(features.names(), features)
    for moment in MOMENTS:
        select = feature_select(now=moment, id_filter={"__in": [1]}, features=chosen,
                                registry_=features)
        assert moment.date() in select.params
    assert [t.sql for k, t in _TEMPLATES.items() if k[1] == id(features)] == [None]


def test_refreshing_customers_stores_what_a_fresh_compile_selects(db):
    shop = build_shop({"a": (5, 4, 120.0, 10, 400, 3), "b": (5, 1, 30.0, 200, 90, 0)})
    ids = sorted(shop)
    for moment in (NOW, NOW + timedelta(days=1, hours=5)):
        # The first call builds the template, the second reuses it.
        first = refresh_features_of(ids, now=moment)
        again = refresh_features_of(ids, now=moment)
        assert first.equals(again)
        assert first.loc[ids[0], "recency_days"] >= 7  # as of the moment, in whole days
    assert Customer.objects.count() == len(ids)
    later = refresh_features_of(ids, now=NOW + timedelta(days=30))
    assert (later["recency_days"] - first["recency_days"]).dropna().ge(28).all()


def test_whole_days_at_an_exact_day_boundary_stay_exact(db):
    shop = build_shop({"a": (1, 1, 100.0, 10, 400, 0)})
    (customer_id,) = shop
    from crm.models import Order

    Order.objects.filter(customer_id=customer_id).update(placed_at=NOW - timedelta(days=5))
    for _ in range(2):  # compiled, then from the template
        frame = refresh_features_of([customer_id], now=NOW.astimezone(UTC))
        assert frame.loc[customer_id, "recency_days"] == 5
