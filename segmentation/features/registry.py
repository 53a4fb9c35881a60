"""Feature declarations and the registry that holds them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Expression, QuerySet

from ..rules.catalog import MONEY_UNITS, FeatureInfo

# Where a feature's expression is evaluated: on the customer row, or as an
# aggregate over the customer's completed orders or events (GROUP BY customer).
CUSTOMERS = "customers"
ORDERS = "orders"
EVENTS = "events"
SOURCES = (CUSTOMERS, ORDERS, EVENTS)


@dataclass(frozen=True)
class Feature:
    """A per-customer number (or category), computed in the database as of a time.

    ``expression(as_of)`` returns a Django expression: a plain expression over
    ``crm.Customer`` for the customers source, an aggregate over the source's rows
    otherwise (rows after ``as_of`` are never seen). ``default`` fills customers with
    no rows in the source; ``fallback`` names other features (one name or a tuple,
    tried in order) whose value is used when this one is missing, e.g. tenure falls
    back to the first order, then the first event, when the signup date is unknown.
    A ``hidden`` feature only feeds fallbacks: it is neither stored nor listed.
    """

    info: FeatureInfo
    source: str
    expression: Callable[[datetime], Expression]
    default: float | None = None
    fallback: str | tuple[str, ...] | None = None
    builtin: bool = False
    hidden: bool = False

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def fallbacks(self) -> tuple[str, ...]:
        if self.fallback is None:
            return ()
        return (self.fallback,) if isinstance(self.fallback, str) else tuple(self.fallback)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"feature {self.info.name!r}: unknown source {self.source!r}")


class FeatureRegistry:
    """Ordered features by name; the one place features are declared.

    Besides the built-in sources (customers, orders, events), an app can declare
    its own: ``register_source(name, rows)`` where ``rows(as_of)`` is a queryset
    with a ``customer_id`` column. Its features aggregate over those rows, grouped
    by customer, in one joined subquery (never a subquery per customer).
    """

    def __init__(self) -> None:
        self._features: dict[str, Feature] = {}
        self._sources: dict[str, Callable[[datetime], QuerySet]] = {}

    def register_source(self, name: str, rows: Callable[[datetime], QuerySet]) -> None:
        if name in SOURCES:
            raise ValueError(f"source {name!r} is built in")
        self._sources[name] = rows

    def source_rows(self, name: str) -> Callable[[datetime], QuerySet] | None:
        return self._sources.get(name)

    def register(self, feature: Feature, *, replace: bool = False) -> Feature:
        if feature.name in self._features and not replace:
            raise ValueError(f"feature {feature.name!r} is already registered")
        if feature.source not in SOURCES and feature.source not in self._sources:
            raise ValueError(f"feature {feature.name!r}: unknown source {feature.source!r}")
        for fallback in feature.fallbacks:
            if fallback not in self._features:
                raise ValueError(
                    f"feature {feature.name!r}: fallback {fallback!r} must be registered first"
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
        return name in self._features and not self._features[name].hidden

    def __iter__(self) -> Iterator[Feature]:
        return (f for f in self._features.values() if not f.hidden)

    def names(self) -> list[str]:
        return [name for name, f in self._features.items() if not f.hidden]

    def catalog(self, names: list[str] | None = None) -> dict[str, FeatureInfo]:
        """The pure-Python description of the features (for the pipeline and renderers).

        Money features carry the shop's currency (``RULECAST_CRM["DEFAULT_CURRENCY"]``),
        so every renderer shows amounts in it.
        """
        from crm.conf import crm_settings

        currency = str(crm_settings.DEFAULT_CURRENCY).upper()
        chosen = names if names is not None else self.names()
        infos = {name: self[name].info for name in chosen}
        return {
            name: dataclasses.replace(info, currency=currency)
            if info.unit in MONEY_UNITS and info.currency != currency else info
            for name, info in infos.items()
        }


registry = FeatureRegistry()
