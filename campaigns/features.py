"""Engagement as segmentation features: a customer's open and click rates.

Registered on ``segmentation.features.registry`` in the app's ``ready()``. Each is
the share of the customer's sent deliveries (sent before ``now``) opened or
clicked at least once; 0 for a customer never emailed.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Avg, Case, Exists, FloatField, OuterRef, Subquery, Value, When

from segmentation.features.registry import CUSTOMERS, Feature, FeatureRegistry
from segmentation.rules.catalog import FeatureInfo

from .models import Delivery, DeliveryStatus, EventKind, TrackingEvent


def engagement_rate(kind: str):
    """An expression per customer (``OuterRef('pk')``): share of sent mail with a ``kind`` event."""

    def expression(now: datetime) -> Subquery:
        engaged = TrackingEvent.objects.filter(
            delivery=OuterRef("pk"), kind=kind, occurred_at__lte=now,
        )
        rates = (
            Delivery.objects.filter(
                customer=OuterRef("pk"), status=DeliveryStatus.SENT, sent_at__lte=now,
            )
            .order_by().values("customer")
            .annotate(rate=Avg(Case(When(Exists(engaged), then=Value(1.0)), default=Value(0.0),
                                    output_field=FloatField())))
            .values("rate")
        )
        return Subquery(rates, output_field=FloatField())

    return expression


def register_engagement_features(registry: FeatureRegistry) -> None:
    """Declare ``open_rate`` and ``click_rate`` on ``registry`` (once)."""
    features = [
        Feature(FeatureInfo("open_rate", "email open rate", "邮件打开率", unit="rate"),
                CUSTOMERS, engagement_rate(EventKind.OPEN), default=0),
        Feature(FeatureInfo("click_rate", "email click rate", "邮件点击率", unit="rate"),
                CUSTOMERS, engagement_rate(EventKind.CLICK), default=0),
    ]
    for feature in features:
        if feature.name not in registry:
            registry.register(feature)
