"""Engagement as segmentation features: a customer's open and click rates.

Registered on ``segmentation.features.registry`` in the app's ``ready()``. Each is
the share of the customer's sent deliveries (sent before the run's time) opened
or clicked at least once; 0 for a customer never emailed. Both come from one
source, the customer's sent deliveries LEFT JOINed to their tracking events and
grouped by customer: one pass over each table per batch, no subquery per customer.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, FloatField, Q, QuerySet
from django.db.models.functions import Cast, NullIf

from segmentation.features.registry import Feature, FeatureRegistry
from segmentation.rules.catalog import FeatureInfo

from .models import Delivery, DeliveryStatus, EventKind

#: The feature source: a customer's sent deliveries.
DELIVERIES = "deliveries"


def sent_deliveries(as_of: datetime) -> QuerySet:
    return Delivery.objects.filter(
        status=DeliveryStatus.SENT, sent_at__lte=as_of, customer__isnull=False
    )


def engagement_rate(kind: str):
    """An aggregate over a customer's sent deliveries: the share with a ``kind`` event."""

    def expression(as_of: datetime):
        engaged = Count("events__delivery_id", distinct=True,
                        filter=Q(events__kind=kind, events__occurred_at__lte=as_of))
        return Cast(engaged, FloatField()) / NullIf(
            Cast(Count("id", distinct=True), FloatField()), 0.0)

    return expression


def register_engagement_features(registry: FeatureRegistry) -> None:
    """Declare ``open_rate`` and ``click_rate`` on ``registry`` (once)."""
    if registry.source_rows(DELIVERIES) is None:
        registry.register_source(DELIVERIES, sent_deliveries)
    features = [
        Feature(FeatureInfo("open_rate", "email open rate", "邮件打开率", unit="rate"),
                DELIVERIES, engagement_rate(EventKind.OPEN), default=0),
        Feature(FeatureInfo("click_rate", "email click rate", "邮件点击率", unit="rate"),
                DELIVERIES, engagement_rate(EventKind.CLICK), default=0),
    ]
    for feature in features:
        if feature.name not in registry:
            registry.register(feature)
