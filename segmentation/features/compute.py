"""The one adapter from the ORM to the feature table.

Each source is one set-based query per batch of customers, built by the ORM: a
GROUP BY over the customer's completed orders, one over their events, one per
source an app registered (e.g. campaigns' deliveries), and plain columns for
customers. They are LEFT JOINed in one SELECT, with defaults and fallbacks as
COALESCE, so the database can either return the rows (``compute_features``) or
write them straight into the feature table (``insert_features``) without a
round trip through Python. No feature is a subquery per customer: a value that
needs a second level of grouping (the top category's share of spend) reads a
per-order column added by a window function, so the orders are still scanned
once per batch, and the events once.

Everything is measured *as of* a time: rows after it are not seen, and time
features count whole days back from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import F, QuerySet, Sum, Window

from .db import OrderColumn, among
from .registry import CUSTOMERS, EVENTS, ORDERS, Feature, FeatureRegistry, registry


def _order_windows() -> dict:
    """Per-order columns the orders source can add, each a window over the customer's orders."""
    return {
        "category_spend": Window(Sum("amount"), partition_by=[F("customer_id"), F("category")]),
    }


def _alias(source: str) -> str:
    return {CUSTOMERS: "c", ORDERS: "o", EVENTS: "e"}.get(source) or f"s_{source}"


def _source_queryset(source: str, as_of: datetime, features: FeatureRegistry) -> QuerySet:
    from crm.models import Customer, Event, Order

    if source == CUSTOMERS:
        return Customer.objects.order_by()
    if source == ORDERS:
        return Order.objects.completed().filter(placed_at__lte=as_of).order_by()
    if source == EVENTS:
        return Event.objects.filter(occurred_at__lte=as_of).order_by()
    rows = features.source_rows(source)
    if rows is None:
        raise KeyError(f"unknown feature source {source!r}")
    return rows(as_of).order_by()


def _window_columns(annotations: dict) -> set[str]:
    names: set[str] = set()
    for expression in annotations.values():
        names.update(e.name for e in expression.flatten() if isinstance(e, OrderColumn))
    return names


def _orders_with_windows(base: QuerySet, annotations: dict,
                         windows: set[str]) -> tuple[str, tuple]:
    """GROUP BY customer over a derived table of the orders plus window columns.

    The ORM cannot aggregate over a window, so the grouped query is compiled over
    the orders table and its FROM is pointed at the derived table (same alias, same
    columns, plus the windows): still one scan of the orders.
    """
    from crm.models import Order

    qn = connection.ops.quote_name
    table = qn(Order._meta.db_table)
    available = _order_windows()
    outer = (Order.objects.order_by().values("customer_id").annotate(**annotations)
             .values_list("customer_id", *annotations))
    outer_sql, outer_params = outer.query.sql_with_params()
    # The derived table carries only the columns the aggregates read.
    columns = [field.column for field in Order._meta.concrete_fields
               if field.column == "customer_id" or f"{table}.{qn(field.column)}" in outer_sql]
    inner = base.annotate(**{name: available[name] for name in sorted(windows)}) \
        .values(*columns, *sorted(windows))
    inner_sql, inner_params = inner.query.sql_with_params()
    head, found, tail = outer_sql.rpartition(f" FROM {table} ")
    if not found or not tail.startswith("GROUP BY"):  # pragma: no cover - ORM changed shape
        raise RuntimeError(f"unexpected SQL for the orders source: {outer_sql}")
    return f"{head} FROM ({inner_sql}) {table} {tail}", (*outer_params, *inner_params)


def _of_customers(queryset: QuerySet, column: str, id_filter: dict) -> QuerySet:
    """``queryset`` limited to the customers of ``id_filter`` (a list of ids or a range)."""
    ids = id_filter.get("__in")
    if ids is not None:
        return queryset.filter(among(column, ids))
    return queryset.filter(**{f"{column}{k}": v for k, v in id_filter.items()})


def _source_sql(source: str, features: list[Feature], as_of: datetime,
                id_filter: dict, registry_: FeatureRegistry) -> tuple[str, tuple]:
    """The ORM's SQL for one source: its key column is ``customer_id``."""
    annotations = {feature.name: feature.expression(as_of) for feature in features}
    base = _source_queryset(source, as_of, registry_)
    if source == CUSTOMERS:
        queryset = (
            _of_customers(base, "pk", id_filter)
            .annotate(customer_id=F("pk"), **annotations)
            .values_list("customer_id", *annotations)
        )
        return queryset.query.sql_with_params()
    base = _of_customers(base, "customer_id", id_filter)
    windows = _window_columns(annotations)
    if windows:
        if source != ORDERS:
            raise ValueError(f"per-order window columns {sorted(windows)} need the orders source")
        return _orders_with_windows(base, annotations, windows)
    queryset = (base.values("customer_id").annotate(**annotations)
                .values_list("customer_id", *annotations))
    return queryset.query.sql_with_params()


@dataclass(frozen=True)
class FeatureSelect:
    sql: str
    params: tuple
    names: list[str]


def _float(sql: str) -> str:
    kind = "double precision" if connection.vendor == "postgresql" else "REAL"
    return f"CAST({sql} AS {kind})"


def feature_select(*, now: datetime, id_filter: dict, features: list[Feature],
                   registry_: FeatureRegistry = registry) -> FeatureSelect:
    """One SELECT of ``customer_id`` and each feature as of ``now``, defaults and fallbacks applied.

    Hidden features are computed for the fallbacks that need them but not selected.
    A list of ids on PostgreSQL (a live refresh) reuses the SQL compiled for the same
    features (:class:`_SelectTemplate`).
    """
    ids = id_filter.get("__in")
    if ids is not None and connection.vendor == "postgresql":
        key = (connection.alias, id(registry_), tuple(features),
               frozenset((f.source, registry_.source_rows(f.source)) for f in features))
        template = _TEMPLATES.get(key)
        if template is None:
            template = _TEMPLATES[key] = _SelectTemplate.build(features, registry_)
        if template.sql is not None:
            return template.select(now, ids)
    return _compile_select(now=now, id_filter=id_filter, features=features, registry_=registry_)


# A marker id list, and two reference times an odd interval apart, to find where the ids
# and the as-of time go among the parameters of the compiled SQL.
_MARKER_IDS = [-730_119]
_FIRST_REFERENCE = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
_SECOND_REFERENCE = _FIRST_REFERENCE + timedelta(days=37, seconds=11)


@dataclass(frozen=True)
class _SelectTemplate:
    """The compiled SQL of a feature select for a list of ids, with the place of each
    parameter that depends on the ids or the as-of time.

    Django compiled the same query for every live refresh, a third of refreshing one
    customer. The template is compiled at two reference times: a parameter equal at
    both is a constant; one that moved with them is the as-of time shifted by a fixed
    interval (a datetime), or its day number (the float ``epoch_days`` sends). Any
    other parameter, or SQL that differs, leaves the features compiled each time
    (``sql`` None), so the template never guesses.
    """

    sql: str | None
    slots: tuple = ()
    names: tuple[str, ...] = ()

    @classmethod
    def build(cls, features: list[Feature], registry_: FeatureRegistry) -> _SelectTemplate:
        first, second = (_compile_select(now=moment, id_filter={"__in": _MARKER_IDS},
                                         features=features, registry_=registry_)
                         for moment in (_FIRST_REFERENCE, _SECOND_REFERENCE))
        if first.sql != second.sql or len(first.params) != len(second.params):
            return cls(None)
        shift = _SECOND_REFERENCE - _FIRST_REFERENCE
        slots = []
        for one, other in zip(first.params, second.params, strict=True):
            if one == _MARKER_IDS:
                slots.append(("ids", None))
            elif isinstance(one, datetime) and other - one == shift:
                slots.append(("moment", one - _FIRST_REFERENCE))
            elif (isinstance(one, float) and one == _FIRST_REFERENCE.timestamp() / 86400.0
                  and other == _SECOND_REFERENCE.timestamp() / 86400.0):
                slots.append(("day", None))  # epoch_days(as_of), computed exactly
            elif one == other and not isinstance(one, list):
                slots.append(("constant", one))
            else:
                return cls(None)
        return cls(first.sql, tuple(slots), tuple(first.names))

    def select(self, now: datetime, ids) -> FeatureSelect:
        values = {"ids": lambda _: [int(i) for i in ids], "moment": lambda delta: now + delta,
                  "day": lambda _: now.timestamp() / 86400.0, "constant": lambda value: value}
        params = tuple(values[kind](value) for kind, value in self.slots)
        return FeatureSelect(sql=self.sql, params=params, names=list(self.names))


_TEMPLATES: dict[tuple, _SelectTemplate] = {}


def _compile_select(*, now: datetime, id_filter: dict, features: list[Feature],
                    registry_: FeatureRegistry) -> FeatureSelect:
    qn = connection.ops.quote_name
    by_source: dict[str, list[Feature]] = {CUSTOMERS: []}
    for feature in features:
        by_source.setdefault(feature.source, []).append(feature)
    params: list = []
    parts = []
    for source, members in by_source.items():
        sql, source_params = _source_sql(source, members, now, id_filter, registry_)
        alias = _alias(source)
        join = "" if source == CUSTOMERS else (
            f"LEFT JOIN ({sql}) {alias} ON {alias}.{qn('customer_id')} = c.{qn('customer_id')}")
        parts.append((source, sql, join))
        params.extend(source_params)
    columns: dict[str, str] = {}
    for feature in features:  # fallbacks come first (see with_fallbacks)
        value = _float(f"{_alias(feature.source)}.{qn(feature.name)}")
        if feature.default is not None:
            value = f"COALESCE({value}, {float(feature.default)!r})"
        if feature.fallbacks:
            value = f"COALESCE({value}, {', '.join(columns[f] for f in feature.fallbacks)})"
        columns[feature.name] = value
    shown = [feature.name for feature in features if not feature.hidden]
    select = ", ".join(f"{columns[name]} AS {qn(name)}" for name in shown)
    customers_sql = parts[0][1]
    joins = " ".join(join for _, _, join in parts[1:])
    sql = (f"SELECT c.{qn('customer_id')} AS {qn('customer_id')}"
           f"{', ' if shown else ''}{select} FROM ({customers_sql}) c {joins}")
    return FeatureSelect(sql=sql, params=tuple(params), names=shown)


def with_fallbacks(names: Sequence[str], features: FeatureRegistry = registry) -> list[Feature]:
    """The features asked for, plus the ones their fallbacks need (placed before them)."""
    wanted: list[str] = []

    def add(name: str) -> None:
        if name in wanted:
            return
        for fallback in features[name].fallbacks:
            add(fallback)
        wanted.append(name)

    for name in names:
        add(name)
    return [features[name] for name in wanted]


def id_ranges(batch_size: int, *, at_least: int = 1) -> list[dict]:
    """Customer-id ranges of at most ``batch_size`` ids, as lookups.

    ``at_least``: smaller ranges when needed for that many (connections working side by side).
    """
    from django.db.models import Max, Min

    from crm.models import Customer

    bounds = Customer.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    span = bounds["high"] - bounds["low"] + 1
    batch_size = max(1, min(batch_size, -(-span // at_least)))
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
    """The feature table (index: customer id) computed as of ``now``, without storing it."""
    names = list(names) if names is not None else features.names()
    chosen = with_fallbacks(names, features)
    filters = [{"__in": list(customer_ids)}] if customer_ids is not None else id_ranges(batch_size)
    frames = [_read(feature_select(now=now, id_filter=f, features=chosen, registry_=features))
              for f in filters]
    if not frames:
        return pd.DataFrame(columns=names, index=pd.Index([], name="customer_id"),
                            dtype=np.float64)
    return pd.concat(frames)[names]
