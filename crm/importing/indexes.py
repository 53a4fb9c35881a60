"""Secondary indexes set aside while a large first import loads a table.

Maintaining a B-tree row by row while COPY loads hundreds of thousands of rows costs
more than building it once afterwards. So when a file of at least
``IMPORT_REBUILD_INDEXES_ROWS`` rows (estimated from its size) goes into a table holding
fewer than a tenth of that, the table's secondary indexes (its ``Meta.indexes``: not
the primary key, the unique constraints the import relies on, or foreign key indexes)
are dropped and built again at the end, even when the import fails. Should the
process die in between, the next import (any size) builds any missing one first.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

from django.db import connection
from django.db.models import Model

from ..conf import crm_settings
from ..models import Customer, ImportKind, Order

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
    return {ImportKind.CUSTOMERS: [Customer], ImportKind.ORDERS: [Order]}.get(
        kind, [Customer, Order])


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
    for model in (Customer, Order):
        present = _present(model)
        missing = [index for index in model._meta.indexes if index.name not in present]
        if missing:
            with connection.schema_editor(atomic=False) as editor:
                for index in missing:
                    editor.add_index(model, index)


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
    dropped: list[tuple[type[Model], object]] = []
    for model in tables_for(kind):
        if _row_estimate(model) * 10 < rows:
            dropped.extend((model, index) for index in model._meta.indexes)
    try:
        with connection.schema_editor(atomic=False) as editor:
            for model, index in dropped:
                editor.remove_index(model, index)
        yield [index.name for _, index in dropped]
    finally:
        with connection.schema_editor(atomic=False) as editor:
            for model, index in dropped:
                editor.add_index(model, index)
