"""Secondary indexes set aside while a large first import loads a table.

Maintaining a B-tree row by row while COPY loads hundreds of thousands of rows costs
more than building it once afterwards. So when a file of at least
``IMPORT_REBUILD_INDEXES_ROWS`` rows (estimated from its size) goes into a table holding
fewer than a tenth of that, the table's secondary indexes are dropped and built again
at the end, even when the import fails: every index Django creates that is not a
constraint (``Meta.indexes``, foreign-key indexes), never the primary key or the unique
constraints the import matches on. (The ``varchar_pattern_ops`` twins Django would give
unique text columns are dropped by migration ``crm 0005``: nothing looks those keys up
by prefix.) A customers file also loads the consent history (a record per customer
whose consent is known), so its table is set aside with the customers'. Should the
process die in between, the next import (any size) builds any missing one first.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterator

from django.db import DatabaseError, connection
from django.db.models import Model

from ..conf import crm_settings
from ..models import Customer, ImportKind, Order
from ..privacy.models import ConsentRecord
from ..sidebyside import can_run_side_by_side, run_side_by_side

SAMPLE_BYTES = 64 * 1024


def estimate_rows(stream) -> int | None:
    """About how many lines a seekable binary stream holds (None when unknown)."""
    try:
        start = stream.tell()
        size = stream.seek(0, io.SEEK_END) - start
        stream.seek(start)
        sample = stream.read(SAMPLE_BYTES)
        stream.seek(start)
    except (AttributeError, OSError, ValueError):
        return None
    lines = sample.count(b"\n")
    if not sample or not lines:
        return 1 if sample else 0
    return int(size * lines / len(sample))


def tables_for(kind: str) -> list[type[Model]]:
    """The tables an import of ``kind`` loads (a new customer may bring a consent record)."""
    return {ImportKind.CUSTOMERS: [Customer, ConsentRecord], ImportKind.ORDERS: [Order]}.get(
        kind, [Customer, ConsentRecord, Order])


def secondary_indexes(model: type[Model]) -> list[tuple[str, str]]:
    """``(name, CREATE INDEX statement)`` of each index of ``model`` that is no constraint:
    what Django's migrations create for ``Meta.indexes``, ``db_index`` and foreign keys,
    but the pattern-ops twins of unique text columns (``_like``), which the schema drops."""
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        statements = editor._model_indexes_sql(model)  # what CreateModel runs
        named = [(str(statement.parts["name"]).strip('"'), str(statement))
                 for statement in statements]
        return [(name, sql) for name, sql in named if not name.endswith("_like")]


def customer_foreign_keys(model: type[Model]) -> list[tuple[str, str]]:
    """``(name, ADD CONSTRAINT statement)`` of each foreign key from ``model`` to customers,
    as Django's migrations name and create it."""
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        statements = [
            editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
            for field in model._meta.local_fields
            if field.remote_field and field.db_constraint
            and field.remote_field.model is Customer
        ]
        return [(str(statement.parts["name"]).strip('"'), str(statement))
                for statement in statements]


def _row_estimate(model: type[Model]) -> float:
    with connection.cursor() as cursor:  # the planner's estimate: no scan
        cursor.execute("SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = %s::regclass",
                       [connection.ops.quote_name(model._meta.db_table)])
        return cursor.fetchone()[0]


def _present(model: type[Model]) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, model._meta.db_table))


def restore_missing() -> None:
    """Build any secondary index an interrupted import left dropped."""
    if connection.vendor != "postgresql":
        return
    for model in (Customer, ConsentRecord, Order):
        present = _present(model)
        _build([sql for name, sql in secondary_indexes(model) if name not in present])
        _add_foreign_keys([key for key in customer_foreign_keys(model) if key[0] not in present],
                          model)


def _build(statements: list[str]) -> None:
    """Create indexes; one another import (finishing, or restoring) built meanwhile is
    left as it is. Outside a transaction they are built two at a time on connections of
    their own (a build sorts on one core; two builds on one table may run at once)."""
    statements = [sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
                  for sql in statements]
    if len(statements) > 1 and can_run_side_by_side():
        run_side_by_side([functools.partial(_create_index, sql, with_memory=True)
                          for sql in statements])
        return
    for sql in statements:
        _create_index(sql, with_memory=False)


def _create_index(sql: str, *, with_memory: bool) -> None:
    with connection.cursor() as cursor:
        if with_memory:  # a connection of its own: its session's setting
            _set_build_memory(cursor)
        cursor.execute(sql)


def _set_build_memory(cursor) -> None:
    cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [BUILD_MEMORY])


def _add_foreign_keys(keys: list[tuple[str, str]], model: type[Model]) -> None:
    """Add foreign keys NOT VALID (new rows are checked from then on), then validate
    the rows already there in one scan. A key another import added meanwhile is only
    validated."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        for name, sql in keys:
            try:
                cursor.execute(f"{sql} NOT VALID")
            except DatabaseError:
                if name not in _present(model):
                    raise
            cursor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {quote(name)}")


# Memory for the sorts of index builds (PostgreSQL's default, 64MB, spills a million
# addresses to disk: a third slower); the session's own setting, reset afterwards.
BUILD_MEMORY = "256MB"


@contextlib.contextmanager
def _sort_memory() -> Iterator[None]:
    with connection.cursor() as cursor:
        _set_build_memory(cursor)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET maintenance_work_mem")


@contextlib.contextmanager
def set_aside_for(kind: str, rows: int | None) -> Iterator[list[str]]:
    """Drop the secondary indexes of the tables a large first import of ``rows`` rows
    loads, and build them again on the way out; yields the names set aside."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield []
        return
    restore_missing()
    threshold = crm_settings.IMPORT_REBUILD_INDEXES_ROWS
    if not threshold or rows is None or rows < threshold:
        yield []
        return
    dropped: list[tuple[str, str]] = []
    keys: list[tuple[type[Model], tuple[str, str]]] = []
    for model in tables_for(kind):
        if _row_estimate(model) * 10 < rows:
            dropped.extend(secondary_indexes(model))
            keys.extend((model, key) for key in customer_foreign_keys(model))
    quote = connection.ops.quote_name
    try:
        with connection.cursor() as cursor:
            for model, (name, _sql) in keys:
                cursor.execute(f"ALTER TABLE {quote(model._meta.db_table)} "
                               f"DROP CONSTRAINT IF EXISTS {quote(name)}")
            for name, _sql in dropped:
                cursor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
        yield [name for name, _ in dropped] + [name for _, (name, _) in keys]
    finally:
        with _sort_memory():
            _build([sql for _, sql in dropped])
            for model, key in keys:
                _add_foreign_keys([key], model)
        if dropped:  # the planner's statistics, once, rather than when autovacuum comes by
            with connection.cursor() as cursor:
                for model in tables_for(kind):
                    cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")
