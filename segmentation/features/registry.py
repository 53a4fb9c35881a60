"""Feature declarations and the registry that holds them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Expression

from ..rules.catalog import FeatureInfo

# Where a feature's expression is evaluated: on the customer row, or as an
# aggregate over the customer's completed orders or events (GROUP BY customer).
CUSTOMERS = "customers"
ORDERS = "orders"
EVENTS = "events"
SOURCES = (CUSTOMERS, ORDERS, EVENTS)


@dataclass(frozen=True)
class Feature:
    """A per-customer number (or category), computed in the database.

    ``expression(now)`` returns a Django expression: a plain expression over
    ``crm.Customer`` for the customers source, an aggregate over the source's rows
    otherwise. ``default`` fills customers with no rows in the source; ``fallback``
    names another feature whose value is used when this one is missing (e.g.
    recency of a customer who never ordered is their tenure).
    """

    info: FeatureInfo
    source: str
    expression: Callable[[datetime], Expression]
    default: float | None = None
    fallback: str | None = None
    builtin: bool = False

    @property
    def name(self) -> str:
        return self.info.name

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"feature {self.info.name!r}: unknown source {self.source!r}")


class FeatureRegistry:
    """Ordered features by name; the one place features are declared."""

    def __init__(self) -> None:
        self._features: dict[str, Feature] = {}

    def register(self, feature: Feature, *, replace: bool = False) -> Feature:
        if feature.name in self._features and not replace:
            raise ValueError(f"feature {feature.name!r} is already registered")
        if feature.fallback and feature.fallback not in self._features:
            raise ValueError(
                f"feature {feature.name!r}: fallback {feature.fallback!r} must be registered first"
            )
        self._features[feature.name] = feature
        return feature

    def unregister(self, name: str) -> None:
        self._features.pop(name, None)

    def __getitem__(self, name: str) -> Feature:
        try:
            return self._features[name]
        except KeyError:
            raise KeyError(f"unknown feature {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._features

    def __iter__(self) -> Iterator[Feature]:
        return iter(self._features.values())

    def names(self) -> list[str]:
        return list(self._features)

    def catalog(self, names: list[str] | None = None) -> dict[str, FeatureInfo]:
        """The pure-Python description of the features (for the pipeline and renderers)."""
        chosen = names if names is not None else self.names()
        return {name: self[name].info for name in chosen}


registry = FeatureRegistry()
