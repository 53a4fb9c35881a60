"""The feature registry: one table of numbers per customer, declared once.

A host project adds its own features in its AppConfig.ready()::

    from segmentation.features import Feature, ORDERS, registry
    registry.register(Feature(FeatureInfo("refunds", "refunds", "退款次数", unit="orders"),
                              source=ORDERS, expression=lambda now: Count("id"), default=0))
"""

from .registry import CUSTOMERS, EVENTS, ORDERS, Feature, FeatureRegistry, registry

__all__ = ["CUSTOMERS", "EVENTS", "ORDERS", "Feature", "FeatureRegistry", "registry"]
