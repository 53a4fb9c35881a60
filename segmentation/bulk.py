"""Bulk writes: PostgreSQL COPY, batched executemany elsewhere."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import islice

from django.db import connection


def _clean(value):
    # NaN is not NULL to a database; missing features must be NULL.
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def insert_rows(
    table: str, columns: Sequence[str], rows: Iterable[Sequence], *, batch_size: int = 10_000
) -> int:
    """Insert ``rows`` into ``table``; returns the number written. Call inside a transaction."""
    quote = connection.ops.quote_name
    column_sql = ", ".join(quote(column) for column in columns)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({column_sql}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_clean(value) for value in row])
                    written += 1
            return written
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {quote(table)} ({column_sql}) VALUES ({placeholders})"
        iterator = iter(rows)
        while batch := [tuple(_clean(v) for v in row) for row in islice(iterator, batch_size)]:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written
