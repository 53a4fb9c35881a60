"""The built-in features, in the units a person understands, as of the run's time.

Every time feature is in whole days (rounded down) counted back from ``as_of``;
orders and events after ``as_of`` are not seen.

Missing-value policy (unknown stays unknown): counts and money totals are 0 for
a customer with no completed order, but what only exists for a buyer is missing
for everyone else: time since the last order, average order value, the mean gap
between orders (also missing after a single order) and the top category's share.
Tenure counts from the signup date; when it is not known, from the first
order, then the first event: never from the time the customer was imported.
Age stays missing when the birth date is unknown. A rule condition on a missing
value is false everywhere (Python, SQL, Q, JsonLogic).
"""

from datetime import timedelta

from django.db.models import Count, F, FloatField, Max, Min, Q, Sum
from django.db.models.functions import Cast, Floor, NullIf, Round

from ..rules.catalog import FeatureInfo
from .db import EpochDays, OrderColumn, days_since
from .registry import CUSTOMERS, EVENTS, ORDERS, Feature, FeatureRegistry


def _money(expression):
    return Cast(expression, FloatField())


def _top_category_share(as_of):
    """Spend in the customer's top category over all spend: one pass over the orders.

    ``category_spend`` is each order's category total for its customer, added by a
    window function in the orders source (see ``compute.ORDER_WINDOWS``).
    """
    return Cast(Max(OrderColumn("category_spend")), FloatField()) / NullIf(
        _money(Sum("amount")), 0.0
    )


def register_builtin_features(registry: FeatureRegistry) -> None:
    """Declare the built-in features on ``registry``."""
    builtin = [
        # Hidden: where tenure counts from when the signup date is unknown.
        Feature(FeatureInfo("_first_order_days", "time since first order", "距首次下单时间",
                            unit="days"),
                ORDERS, lambda as_of: days_since(as_of, Min("placed_at")), hidden=True),
        Feature(FeatureInfo("_first_event_days", "time since first visit", "距首次访问时间",
                            unit="days"),
                EVENTS, lambda as_of: days_since(as_of, Min("occurred_at")), hidden=True),
        Feature(
            FeatureInfo("tenure_days", "time since signup", "注册时长", unit="days", skewed=True),
            CUSTOMERS,
            lambda as_of: days_since(as_of, F("signed_up_at")),
            fallback=("_first_order_days", "_first_event_days"),
        ),
        Feature(
            FeatureInfo("age_years", "age", "年龄", unit="years"),
            CUSTOMERS,
            lambda as_of: Floor(days_since(as_of, F("birth_date")) / 365.25),
        ),
        Feature(
            FeatureInfo("recency_days", "time since last order", "距上次下单时间",
                        unit="days", skewed=True),
            ORDERS,
            lambda as_of: days_since(as_of, Max("placed_at")),
        ),
        Feature(
            FeatureInfo("frequency", "orders", "订单数", unit="orders", skewed=True),
            ORDERS, lambda as_of: Count("id"), default=0,
        ),
        Feature(
            FeatureInfo("orders_90d", "orders in the last 90 days", "近90天订单数",
                        unit="orders", skewed=True),
            ORDERS,
            lambda as_of: Count("id", filter=Q(placed_at__gt=as_of - timedelta(days=90))),
            default=0,
        ),
        Feature(
            FeatureInfo("total_spend", "total spend", "累计消费", unit="money", skewed=True),
            ORDERS, lambda as_of: _money(Sum("amount")), default=0,
        ),
        Feature(
            FeatureInfo("avg_order_value", "average order value", "平均客单价",
                        unit="money", skewed=True),
            ORDERS, lambda as_of: _money(Sum("amount")) / Count("id"),
        ),
        Feature(
            FeatureInfo("mean_days_between_orders", "mean time between orders",
                        "平均下单间隔", unit="days", skewed=True),
            ORDERS,
            lambda as_of: Round(
                (EpochDays(Max("placed_at")) - EpochDays(Min("placed_at")))
                / NullIf(Count("id") - 1, 0)
            ),
        ),
        Feature(
            FeatureInfo("top_category_share", "share of spend in the top category",
                        "最常购品类消费占比", unit="share", decimals=2),
            ORDERS, _top_category_share,
        ),
        Feature(
            FeatureInfo("sessions_30d", "sessions in the last 30 days", "近30天访问次数",
                        unit="sessions", skewed=True),
            EVENTS,
            lambda as_of: Count(
                "id", filter=Q(event_type="session", occurred_at__gt=as_of - timedelta(days=30))
            ),
            default=0,
        ),
        Feature(
            FeatureInfo("events_30d", "events in the last 30 days", "近30天行为次数",
                        unit="sessions", skewed=True),
            EVENTS,
            lambda as_of: Count("id", filter=Q(occurred_at__gt=as_of - timedelta(days=30))),
            default=0,
        ),
    ]
    for feature in builtin:
        registry.register(
            Feature(feature.info, feature.source, feature.expression, feature.default,
                    feature.fallback, builtin=True, hidden=feature.hidden)
        )
