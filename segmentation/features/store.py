"""The materialised feature table (CustomerFeatures): refreshed in bulk or per customer.

The rows are written by ``INSERT ... SELECT`` from the feature query, so a
refresh of a million customers never moves their features through Python.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection, transaction

from .. import pgbinary
from ..models import CustomerFeatures
from ..querying import COLUMN_FEATURES, feature_columns
from .compute import FeatureSelect, feature_select, id_ranges, with_fallbacks
from .registry import FeatureRegistry, registry


def _json_object(pairs: list[tuple[str, str]]) -> str:
    if connection.vendor == "postgresql":
        body = ", ".join(f"'{key}', {value}" for key, value in pairs)
        return f"json_build_object({body})::jsonb" if pairs else "'{}'::jsonb"
    body = ", ".join(f"'{key}', {value}" for key, value in pairs)
    return f"json_object({body})" if pairs else "'{}'"


def _insert(select: FeatureSelect, now: datetime, table: str | None = None) -> None:
    """INSERT the rows of ``select`` into the feature table (or ``table``, shaped like it)."""
    qn = connection.ops.quote_name
    columns = [name for name in select.names if name in COLUMN_FEATURES]
    # Feature names are registry identifiers ([a-z_][a-z0-9_]*), safe as JSON keys.
    extra = [(name, f"f.{qn(name)}") for name in select.names if name not in COLUMN_FEATURES]
    target = ", ".join(qn(c) for c in ["customer_id", "computed_at", *columns, "extra"])
    values = ", ".join([f"f.{qn('customer_id')}", "%s", *(f"f.{qn(c)}" for c in columns),
                        _json_object(extra)])
    sql = (f"INSERT INTO {qn(table or CustomerFeatures._meta.db_table)} ({target}) "
           f"SELECT {values} FROM ({select.sql}) f")
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, (stamp, *select.params))


def read_features(names: Sequence[str], customer_ids: Sequence[int] | None = None, *,
                  table: str | None = None) -> pd.DataFrame:
    """Stored features (index: customer id) for everyone or for ``customer_ids``.

    ``table``: read another table shaped like the feature table (a run's staging table).
    """
    qn = connection.ops.quote_name
    expressions = feature_columns(connection)
    own = qn(CustomerFeatures._meta.db_table)
    # The expressions are qualified with the feature table's name: another table takes it as alias.
    source = own if table is None else f"{qn(table)} AS {own}"
    params: list = []
    where = ""
    if customer_ids is not None:
        where = f" WHERE {own}.{qn('customer_id')} IN ({', '.join(['%s'] * len(customer_ids))})"
        params = list(customer_ids)
    columns = ["customer_id", *names]
    if connection.vendor == "postgresql" and not params:
        if not any(registry[name].info.kind == "categorical" for name in names if name in registry):
            return _read_binary(names, expressions, source, own)
        select = ", ".join(f"{expressions[name]} AS {qn(name)}" for name in names)
        sql = (f"SELECT {own}.{qn('customer_id')}{', ' if names else ''}{select} FROM {source}"
               f" ORDER BY {own}.{qn('customer_id')}")
        # COPY out and parse in C: a million rows in about a second.
        buffer = io.BytesIO()
        with connection.cursor() as cursor, \
                cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
        buffer.seek(0)
        frame = pd.read_csv(buffer, header=None, names=columns) if buffer.getbuffer().nbytes \
            else pd.DataFrame(columns=columns)
    else:
        select = ", ".join(f"{expressions[name]} AS {qn(name)}" for name in names)
        sql = (f"SELECT {own}.{qn('customer_id')}{', ' if names else ''}{select} FROM {source}"
               f"{where} ORDER BY {own}.{qn('customer_id')}")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    return frame.set_index("customer_id").astype(np.float64)


def _read_binary(names: Sequence[str], expressions: dict[str, str], source: str,
                 own: str) -> pd.DataFrame:
    """Numeric features through a binary COPY: fixed-width rows (NULL sent as NaN) into numpy.

    Unordered (a sort in the database costs more than numpy's check that the ids
    already grow, which they do when the table was written in id order).
    """
    qn = connection.ops.quote_name
    select = "".join(f", COALESCE(({expressions[name]})::double precision, 'NaN')"
                     for name in names)
    sql = f"SELECT {own}.{qn('customer_id')}::bigint{select} FROM {source}"
    types = [np.dtype(np.int64), *[np.dtype(np.float64)] * len(names)]
    with connection.cursor() as cursor, \
            cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)") as copy:
        ids, *values = pgbinary.unpack(copy, types)
    frame = pd.DataFrame(dict(zip(names, values, strict=True)),
                         index=pd.Index(ids, name="customer_id"), columns=list(names))
    del values
    return frame if frame.index.is_monotonic_increasing else frame.sort_index()


@transaction.atomic
def refresh_feature_table(
    *,
    now: datetime,
    keep: Sequence[str] | None = None,
    batch_size: int = 100_000,
    features: FeatureRegistry = registry,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Recompute every customer's features as of ``now``, replace the table, return ``keep``.

    ``names`` limits the work to the features something uses (default: all); the
    others are stored as missing until the next full refresh. Runs in one
    transaction: readers see the old table until the new one is whole.
    """
    chosen = with_fallbacks(list(names) if names is not None else features.names(), features)
    keep = list(keep) if keep is not None else features.names()
    if connection.vendor == "postgresql":
        return _replace_through_staging(chosen, now, batch_size, features, keep)
    CustomerFeatures.objects.all().delete()
    for id_filter in id_ranges(batch_size):
        _insert(feature_select(now=now, id_filter=id_filter, features=chosen,
                               registry_=features), now)
    return read_features(keep)


STAGING_TABLE = "segmentation_customerfeatures_staging"


def _replace_through_staging(chosen: list, now: datetime, batch_size: int,
                             features: FeatureRegistry, keep: list[str]) -> pd.DataFrame:
    """Compute into a temporary table, read ``keep`` from it, then swap its rows in at once.

    The batches fill a temporary table (no WAL, no index, no lock on the feature
    table), so live refreshes and readers go on meanwhile; then TRUNCATE (no dead
    rows, unlike a DELETE of a million) and one INSERT ... SELECT. Readers wait for that last
    step only and never see a half-written table. The frame returned is read from the
    temporary table (the same rows), in binary.
    """
    qn = connection.ops.quote_name
    table = qn(CustomerFeatures._meta.db_table)
    with connection.cursor() as cursor:
        # The batch queries cost enough for PostgreSQL to compile them (JIT): 5-10% of their
        # time each, and seconds on a whole-table plan, for queries that run once.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGING_TABLE} "
                       f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
        for id_filter in id_ranges(batch_size):
            _insert(feature_select(now=now, id_filter=id_filter, features=chosen,
                                   registry_=features), now, table=STAGING_TABLE)
        frame = read_features(keep, table=STAGING_TABLE)
        cursor.execute(f"TRUNCATE {table}")
        # The batches came in customer-id ranges: the key mostly grows at its right edge.
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {STAGING_TABLE}")
        cursor.execute(f"DROP TABLE {STAGING_TABLE}")
    return frame


def refresh_features_of(
    customer_ids: Sequence[int], *, now: datetime, features: FeatureRegistry = registry
) -> pd.DataFrame:
    """Recompute some customers' features, store them, and return them (all features)."""
    ids = list(customer_ids)
    chosen = with_fallbacks(features.names(), features)
    with transaction.atomic():
        CustomerFeatures.objects.filter(customer_id__in=ids).delete()
        if ids:
            _insert(feature_select(now=now, id_filter={"__in": ids}, features=chosen,
                                   registry_=features), now)
    return read_features(features.names(), ids)
