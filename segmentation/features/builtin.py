"""The built-in features, in the units a person understands.

Missing-value policy: counts and money are 0 for a customer with no orders;
recency and the mean gap between orders fall back to tenure (someone who never
ordered, or ordered once, has gone that long without ordering). Age stays
missing when the birth date is unknown; a rule condition on a missing value is
false everywhere (Python, SQL, Q, JsonLogic).
"""

from datetime import timedelta

from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Cast, Coalesce, Floor, NullIf

from ..rules.catalog import FeatureInfo
from .db import EpochDays, days_since
from .registry import CUSTOMERS, EVENTS, ORDERS, Feature, FeatureRegistry


def _top_category_spend(now):
    from crm.models import Order

    per_category = (
        Order.objects.completed()
        .filter(customer=OuterRef("pk"))
        .values("customer", "category")
        .annotate(spend=Sum("amount"))
        .order_by("-spend")
        .values("spend")[:1]
    )
    total = (
        Order.objects.completed()
        .filter(customer=OuterRef("pk"))
        .values("customer")
        .annotate(spend=Sum("amount"))
        .values("spend")
    )
    from django.db.models import FloatField

    return Cast(Subquery(per_category), FloatField()) / NullIf(
        Cast(Subquery(total), FloatField()), 0.0
    )


def register_builtin_features(registry: FeatureRegistry) -> None:
    """Declare the built-in features on ``registry``."""
    from django.db.models import FloatField

    def money(expression):
        return Cast(expression, FloatField())

    builtin = [
        Feature(
            FeatureInfo("tenure_days", "time since signup", "注册时长", unit="days", skewed=True),
            CUSTOMERS,
            lambda now: days_since(now, Coalesce("signed_up_at", "created_at")),
        ),
        Feature(
            FeatureInfo("age_years", "age", "年龄", unit="years"),
            CUSTOMERS,
            lambda now: Floor(days_since(now, F("birth_date")) / 365.25),
        ),
        Feature(
            FeatureInfo("recency_days", "time since last order", "距上次下单时间",
                        unit="days", skewed=True),
            ORDERS,
            lambda now: days_since(now, Max("placed_at")),
            fallback="tenure_days",
        ),
        Feature(
            FeatureInfo("frequency", "orders", "订单数", unit="orders", skewed=True),
            ORDERS, lambda now: Count("id"), default=0,
        ),
        Feature(
            FeatureInfo("orders_90d", "orders in the last 90 days", "近90天订单数",
                        unit="orders", skewed=True),
            ORDERS,
            lambda now: Count("id", filter=Q(placed_at__gte=now - timedelta(days=90))),
            default=0,
        ),
        Feature(
            FeatureInfo("total_spend", "total spend", "累计消费", unit="yuan", skewed=True),
            ORDERS, lambda now: money(Sum("amount")), default=0,
        ),
        Feature(
            FeatureInfo("avg_order_value", "average order value", "平均客单价",
                        unit="yuan", skewed=True),
            ORDERS, lambda now: money(Sum("amount")) / Count("id"), default=0,
        ),
        Feature(
            FeatureInfo("mean_days_between_orders", "mean time between orders",
                        "平均下单间隔", unit="days", skewed=True),
            ORDERS,
            lambda now: (EpochDays(Max("placed_at")) - EpochDays(Min("placed_at")))
            / NullIf(Count("id") - 1, 0),
            fallback="tenure_days",
        ),
        Feature(
            FeatureInfo("top_category_share", "share of spend in the top category",
                        "最常购品类消费占比", unit="share", decimals=2),
            CUSTOMERS, _top_category_spend, default=0,
        ),
        Feature(
            FeatureInfo("sessions_30d", "sessions in the last 30 days", "近30天访问次数",
                        unit="sessions", skewed=True),
            EVENTS,
            lambda now: Count(
                "id", filter=Q(event_type="session", occurred_at__gte=now - timedelta(days=30))
            ),
            default=0,
        ),
    ]
    for feature in builtin:
        registry.register(
            Feature(feature.info, feature.source, feature.expression, feature.default,
                    feature.fallback, builtin=True)
        )
