"""The feature registry: one table of numbers per customer, declared once.

A host project adds its own features in its AppConfig.ready() (README, "Your own
features")::

    from django.db.models import Count, Q

    from segmentation.features import EVENTS, Feature, registry
    from segmentation.rules import FeatureInfo

    registry.register(Feature(
        FeatureInfo("reviews_written", "reviews written", "评价数"),
        source=EVENTS, expression=lambda now: Count("id", filter=Q(event_type="review")),
        default=0,
    ))
"""

from .registry import CUSTOMERS, EVENTS, ORDERS, Feature, FeatureRegistry, registry

__all__ = ["CUSTOMERS", "EVENTS", "ORDERS", "Feature", "FeatureRegistry", "registry"]
