"""The one adapter from the ORM to the feature table.

Each source is one set-based query per batch of customers, built by the ORM (a
GROUP BY over orders or events, plain columns for customers). They are joined
in one SELECT, with defaults and fallbacks as COALESCE, so the database can
either return the rows (``compute_features``) or write them straight into the
feature table (``insert_features``) without a round trip through Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import QuerySet

from .registry import CUSTOMERS, EVENTS, ORDERS, Feature, FeatureRegistry, registry

ALIASES = {CUSTOMERS: "c", ORDERS: "o", EVENTS: "e"}


def _source_queryset(source: str) -> QuerySet:
    from crm.models import Customer, Event, Order

    if source == CUSTOMERS:
        return Customer.objects.order_by()
    if source == ORDERS:
        return Order.objects.completed().order_by()
    return Event.objects.order_by()


def _source_sql(source: str, features: list[Feature], now: datetime,
                id_filter: dict) -> tuple[str, tuple]:
    """The ORM's SQL for one source: its key column is ``customer_id``."""
    annotations = {feature.name: feature.expression(now) for feature in features}
    if source == CUSTOMERS:
        queryset = (
            _source_queryset(source).filter(**{f"pk{k}": v for k, v in id_filter.items()})
            .annotate(customer_id=_pk(), **annotations)
            .values_list("customer_id", *annotations)
        )
    else:
        queryset = (
            _source_queryset(source)
            .filter(**{f"customer_id{k}": v for k, v in id_filter.items()})
            .values("customer_id").annotate(**annotations)
            .values_list("customer_id", *annotations)
        )
    return queryset.query.sql_with_params()


def _pk():
    from django.db.models import F

    return F("pk")


@dataclass(frozen=True)
class FeatureSelect:
    sql: str
    params: tuple
    names: list[str]


def _float(sql: str) -> str:
    kind = "double precision" if connection.vendor == "postgresql" else "REAL"
    return f"CAST({sql} AS {kind})"


def feature_select(*, now: datetime, id_filter: dict,
                   features: list[Feature]) -> FeatureSelect:
    """One SELECT of ``customer_id`` and each feature, defaults and fallbacks applied."""
    qn = connection.ops.quote_name
    by_source: dict[str, list[Feature]] = {CUSTOMERS: []}
    for feature in features:
        by_source.setdefault(feature.source, []).append(feature)
    params: list = []
    parts = []
    for source, members in by_source.items():
        sql, source_params = _source_sql(source, members, now, id_filter)
        alias = ALIASES[source]
        join = "" if source == CUSTOMERS else (
            f"LEFT JOIN ({sql}) {alias} ON {alias}.{qn('customer_id')} = c.{qn('customer_id')}")
        parts.append((source, sql, join))
        params.extend(source_params)
    columns: dict[str, str] = {}
    for feature in features:  # fallbacks come first (see with_fallbacks)
        value = _float(f"{ALIASES[feature.source]}.{qn(feature.name)}")
        if feature.default is not None:
            value = f"COALESCE({value}, {float(feature.default)!r})"
        if feature.fallback is not None:
            value = f"COALESCE({value}, {columns[feature.fallback]})"
        columns[feature.name] = value
    select = ", ".join(f"{sql} AS {qn(name)}" for name, sql in columns.items())
    customers_sql = parts[0][1]
    joins = " ".join(join for _, _, join in parts[1:])
    sql = (f"SELECT c.{qn('customer_id')} AS {qn('customer_id')}, {select} "
           f"FROM ({customers_sql}) c {joins}")
    return FeatureSelect(sql=sql, params=tuple(params), names=list(columns))


def with_fallbacks(names: Sequence[str], features: FeatureRegistry = registry) -> list[Feature]:
    """The features asked for, plus the ones their fallbacks need (placed first)."""
    wanted: list[str] = []
    for name in names:
        fallback = features[name].fallback
        if fallback and fallback not in wanted:
            wanted.append(fallback)
        if name not in wanted:
            wanted.append(name)
    return [features[name] for name in wanted]


def id_ranges(batch_size: int) -> list[dict]:
    """Customer-id ranges of at most ``batch_size`` ids, as lookups."""
    from django.db.models import Max, Min

    from crm.models import Customer

    bounds = Customer.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    return [{"__gte": start, "__lt": start + batch_size}
            for start in range(bounds["low"], bounds["high"] + 1, batch_size)]


def _read(select: FeatureSelect) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(select.sql, select.params)
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=["customer_id", *select.names])
    frame = frame.set_index("customer_id").astype(np.float64)
    return frame.sort_index()


def compute_features(
    *,
    now: datetime,
    names: Sequence[str] | None = None,
    customer_ids: Sequence[int] | None = None,
    batch_size: int = 100_000,
    features: FeatureRegistry = registry,
) -> pd.DataFrame:
    """The feature table (index: customer id) computed now, without storing it."""
    names = list(names) if names is not None else features.names()
    chosen = with_fallbacks(names, features)
    filters = [{"__in": list(customer_ids)}] if customer_ids is not None else id_ranges(batch_size)
    frames = [_read(feature_select(now=now, id_filter=f, features=chosen)) for f in filters]
    if not frames:
        return pd.DataFrame(columns=names, index=pd.Index([], name="customer_id"),
                            dtype=np.float64)
    return pd.concat(frames)[names]
