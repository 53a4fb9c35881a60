"""The materialised feature table (CustomerFeatures): refreshed in bulk or per customer.

The rows are written by ``INSERT ... SELECT`` from the feature query, so a
refresh of a million customers never moves their features through Python.
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection, connections, transaction

from crm.sidebyside import SIDE_BY_SIDE_CONNECTIONS, run_side_by_side

from .. import pgbinary
from ..bulk import copy_columns
from ..models import CustomerFeatures
from ..querying import COLUMN_FEATURES, feature_columns
from .compute import FeatureSelect, feature_select, id_ranges, with_fallbacks
from .db import among
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
    if customer_ids is not None and connection.vendor == "postgresql":
        # One array parameter (as features.db.among): 5,000 placeholders cost more.
        where = f" WHERE {own}.{qn('customer_id')} = ANY(%s::bigint[])"
        params = [[int(i) for i in customer_ids]]
    elif customer_ids is not None:
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
    ids, *values = copy_columns(sql, types)
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


#: Connections that compute the feature batches side by side (PostgreSQL, outside a
#: transaction): the aggregation is the run's largest cost and a single query uses one core.
FEATURE_CONNECTIONS = SIDE_BY_SIDE_CONNECTIONS


class FeatureTable:
    """Features computed for everyone; the feature table is being replaced in the background.

    ``frame`` is ready at once; ``wait()`` returns once the table holds the same rows
    (committed), and raises what its writer raised.
    """

    def __init__(self, frame: pd.DataFrame, writer: threading.Thread | None = None) -> None:
        self.frame = frame
        self._writer = writer
        self.error: BaseException | None = None

    def wait(self) -> None:
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def compute_feature_table(
    *,
    now: datetime,
    keep: Sequence[str] | None = None,
    batch_size: int = 100_000,
    features: FeatureRegistry = registry,
    names: Sequence[str] | None = None,
) -> FeatureTable:
    """:func:`refresh_feature_table` for a run: the frame at once, the table written meanwhile.

    On PostgreSQL outside a transaction, with only features stored in their own
    column: FEATURE_CONNECTIONS connections compute the batches side by side, each
    read in binary (no table in between), and another thread replaces the table from
    the frame (binary COPY, one transaction) while the caller goes on with the frame;
    the caller calls ``wait()`` before it relies on the table. Elsewhere (a caller's
    transaction, whose rows other connections cannot see; host features in ``extra``)
    it is ``refresh_feature_table``, already written.
    """
    chosen = with_fallbacks(list(names) if names is not None else features.names(), features)
    keep = list(keep) if keep is not None else features.names()
    shown = [f.name for f in chosen if not f.hidden]
    # Two batches per connection at least, so that a small shop is shared out too.
    batches = (id_ranges(batch_size, at_least=2 * FEATURE_CONNECTIONS)
               if connection.vendor == "postgresql" else [])
    if (connection.in_atomic_block or not batches
            or any(name not in COLUMN_FEATURES for name in shown)):
        return FeatureTable(refresh_feature_table(now=now, keep=keep, batch_size=batch_size,
                                                  features=features, names=names))
    columns = _compute_side_by_side(chosen, now, batches, features)
    ids, values = columns[0], dict(zip(shown, columns[1:], strict=True))
    table = FeatureTable(_frame(ids, {name: values.get(name) for name in keep}))
    writer = threading.Thread(target=_write_in_background, args=(table, ids, values, now),
                              name="feature-table-writer", daemon=True)
    table._writer = writer
    writer.start()
    return table


def _frame(ids: np.ndarray, columns: dict[str, np.ndarray | None]) -> pd.DataFrame:
    """A float frame indexed by customer id; a column not computed is missing (NaN)."""
    frame = pd.DataFrame({name: np.full(len(ids), np.nan) if values is None else values
                          for name, values in columns.items()},
                         index=pd.Index(ids, name="customer_id"), columns=list(columns))
    return frame if frame.index.is_monotonic_increasing else frame.sort_index()


def _compute_side_by_side(chosen: list, now: datetime, batches: list[dict],
                          features: FeatureRegistry) -> list[np.ndarray]:
    """Customer ids and each shown feature (NaN when missing), batches spread over connections."""

    def batch(id_filter: dict) -> list[np.ndarray]:
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")  # see _replace_through_staging
        return _copy_out(feature_select(now=now, id_filter=id_filter, features=chosen,
                                        registry_=features))

    results = run_side_by_side([functools.partial(batch, b) for b in batches],
                               FEATURE_CONNECTIONS)
    return [np.concatenate(parts) for parts in zip(*results, strict=True)]


def _copy_out(select: FeatureSelect) -> list[np.ndarray]:
    """One batch through a binary COPY: fixed-width rows, a missing value sent as NaN."""
    qn = connection.ops.quote_name
    values = "".join(f", COALESCE(f.{qn(name)}, 'NaN')" for name in select.names)
    sql = f"SELECT f.{qn('customer_id')}::bigint{values} FROM ({select.sql}) f"
    types = [np.dtype(np.int64), *[np.dtype(np.float64)] * len(select.names)]
    return copy_columns(sql, types, select.params)


def _write_in_background(table: FeatureTable, ids: np.ndarray, values: dict[str, np.ndarray],
                         now: datetime) -> None:
    try:
        _write_table(ids, values, now)
    except BaseException as error:  # noqa: BLE001 — raised by wait()
        table.error = error
    finally:
        connections.close_all()  # this thread's own connection


@transaction.atomic
def _write_table(ids: np.ndarray, values: dict[str, np.ndarray], now: datetime) -> None:
    """Replace the feature table with these rows: binary COPY into a temporary table, then
    TRUNCATE and one INSERT ... SELECT (NaN back to NULL), so readers never see it half-written.
    """
    qn = connection.ops.quote_name
    table = qn(CustomerFeatures._meta.db_table)
    names = list(values)
    data = pgbinary.pack([ids, *values.values()],
                         [np.dtype(np.int64), *[np.dtype(np.float64)] * len(names)])
    picked = "".join(f", NULLIF(s.{qn(name)}, 'NaN')" for name in names)
    target = ", ".join(qn(c) for c in ["customer_id", "computed_at", *names, "extra"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGING_TABLE} (customer_id bigint"
                       + "".join(f", {qn(name)} double precision" for name in names)
                       + ") ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY {STAGING_TABLE} FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(data)
        del data
        cursor.execute(f"TRUNCATE {table}")
        cursor.execute(f"INSERT INTO {table} ({target}) SELECT s.{qn('customer_id')}, %s"
                       f"{picked}, '{{}}'::jsonb FROM {STAGING_TABLE} s",
                       [connection.ops.adapt_datetimefield_value(now)])
        cursor.execute(f"DROP TABLE {STAGING_TABLE}")


def refresh_features_of(
    customer_ids: Sequence[int], *, now: datetime, features: FeatureRegistry = registry
) -> pd.DataFrame:
    """Recompute some customers' features, store them, and return them (all features)."""
    ids = list(customer_ids)
    chosen = with_fallbacks(features.names(), features)
    # No savepoint inside a caller's transaction (the live refresh's): should this
    # fail, the caller's whole transaction is rolled back anyway; two round trips less.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            # A few thousand customers: JIT compiling costs more than it saves (76 ms of
            # a 5,000-customer refresh on a million-row shop).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        CustomerFeatures.objects.filter(among("customer_id", ids)).delete()
        if ids:
            _insert(feature_select(now=now, id_filter={"__in": ids}, features=chosen,
                                   registry_=features), now)
    return read_features(features.names(), ids)
