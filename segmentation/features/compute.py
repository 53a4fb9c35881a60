"""The one adapter from the ORM to a feature DataFrame.

Every source is one set-based query per batch of customers (a GROUP BY over
orders or events, plain columns for customers); the batches are merged with
pandas, defaults and fallbacks applied column-wise. No Python loop over customers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Max, Min, QuerySet

from .registry import CUSTOMERS, EVENTS, ORDERS, Feature, FeatureRegistry, registry


def _source_queryset(source: str) -> QuerySet:
    from crm.models import Customer, Event, Order

    if source == CUSTOMERS:
        return Customer.objects.order_by()
    if source == ORDERS:
        return Order.objects.completed().order_by()
    return Event.objects.order_by()


def _fetch(queryset: QuerySet, columns: list[str]) -> pd.DataFrame:
    """Run a queryset's SQL with a plain cursor: no model instances, no per-row dicts."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=columns)
    if frame.empty:
        return frame.set_index(columns[0])
    return frame.set_index(columns[0]).apply(pd.to_numeric, errors="coerce")


def _query_source(
    source: str, features: list[Feature], now: datetime, id_filter: dict
) -> pd.DataFrame:
    names = [feature.name for feature in features]
    annotations = {feature.name: feature.expression(now) for feature in features}
    if source == CUSTOMERS:
        queryset = (
            _source_queryset(source).filter(**{f"pk{k}": v for k, v in id_filter.items()})
            .annotate(**annotations).values_list("pk", *names)
        )
    else:
        queryset = (
            _source_queryset(source)
            .filter(**{f"customer_id{k}": v for k, v in id_filter.items()})
            .values("customer_id").annotate(**annotations).values_list("customer_id", *names)
        )
    return _fetch(queryset, ["customer_id", *names])


def compute_batch(
    *, now: datetime, id_filter: dict, features: list[Feature]
) -> pd.DataFrame:
    """Features of the customers selected by ``id_filter`` (lookups on the customer id)."""
    by_source: dict[str, list[Feature]] = {}
    for feature in features:
        by_source.setdefault(feature.source, []).append(feature)
    # The customers query fixes the index, so customers without orders are kept.
    customers = _query_source(CUSTOMERS, by_source.get(CUSTOMERS, []), now, id_filter)
    frame = customers
    for source in (ORDERS, EVENTS):
        if source in by_source:
            part = _query_source(source, by_source[source], now, id_filter)
            frame = frame.join(part, how="left")
    for feature in features:
        column = frame[feature.name].astype("float64")
        if feature.default is not None:
            column = column.fillna(feature.default)
        if feature.fallback is not None:
            column = column.fillna(frame[feature.fallback].astype("float64"))
        frame[feature.name] = column
    frame.index.name = "customer_id"
    return frame[[feature.name for feature in features]].sort_index()


def _with_fallbacks(names: Sequence[str], features: FeatureRegistry) -> list[Feature]:
    """The features asked for, plus the ones their fallbacks need (computed first)."""
    wanted: list[str] = []
    for name in names:
        fallback = features[name].fallback
        if fallback and fallback not in wanted:
            wanted.append(fallback)
        if name not in wanted:
            wanted.append(name)
    return [features[name] for name in wanted]


def iter_feature_batches(
    *,
    now: datetime,
    names: Sequence[str] | None = None,
    batch_size: int = 100_000,
    features: FeatureRegistry = registry,
) -> Iterator[pd.DataFrame]:
    """Yield the feature table in batches of customer-id ranges (bounded memory)."""
    from crm.models import Customer

    names = list(names) if names is not None else features.names()
    chosen = _with_fallbacks(names, features)
    bounds = Customer.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, batch_size):
        batch = compute_batch(
            now=now, id_filter={"__gte": start, "__lt": start + batch_size}, features=chosen
        )
        if not batch.empty:
            yield batch[names]


def compute_features(
    *,
    now: datetime,
    names: Sequence[str] | None = None,
    customer_ids: Sequence[int] | None = None,
    batch_size: int = 100_000,
    features: FeatureRegistry = registry,
) -> pd.DataFrame:
    """The whole feature table (index: customer id), or only ``customer_ids``'s rows."""
    names = list(names) if names is not None else features.names()
    if customer_ids is not None:
        chosen = _with_fallbacks(names, features)
        frame = compute_batch(now=now, id_filter={"__in": list(customer_ids)}, features=chosen)
        return frame[names]
    batches = list(iter_feature_batches(now=now, names=names, batch_size=batch_size,
                                        features=features))
    if not batches:
        return pd.DataFrame(columns=names, index=pd.Index([], name="customer_id"), dtype=np.float64)
    return pd.concat(batches)
