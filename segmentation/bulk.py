"""Bulk reads and writes: a DataFrame written with PostgreSQL COPY (batched executemany
elsewhere); numeric columns read with one binary COPY."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection

from . import pgbinary


def copy_columns(sql: str, types: Sequence[np.dtype],
                 params: Sequence | None = None) -> list[np.ndarray]:
    """The columns of a PostgreSQL ``SELECT`` whose every field is a non-NULL fixed-width
    number of ``types``, through one binary COPY straight into numpy (:mod:`.pgbinary`)."""
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)", params) as copy:
        return pgbinary.unpack(copy, types)


def insert_frame(table: str, frame: pd.DataFrame, *, batch_size: int = 50_000) -> int:
    """Insert ``frame``'s rows (its columns named as the table's) into ``table``.

    NaN and None become NULL. Returns the number of rows written; call it inside a
    transaction so a failure leaves nothing half-written.
    """
    quote = connection.ops.quote_name
    column_sql = ", ".join(quote(column) for column in frame.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # CSV with an unquoted empty field for NULL: one C-speed to_csv per batch.
            sql = f"COPY {quote(table)} ({column_sql}) FROM STDIN WITH (FORMAT csv)"
            with cursor.cursor.copy(sql) as copy:
                for start in range(0, len(frame), batch_size):
                    buffer = io.StringIO()
                    frame.iloc[start:start + batch_size].to_csv(buffer, header=False, index=False)
                    copy.write(buffer.getvalue())
            return len(frame)
        placeholders = ", ".join(["%s"] * len(frame.columns))
        sql = f"INSERT INTO {quote(table)} ({column_sql}) VALUES ({placeholders})"
        for start in range(0, len(frame), batch_size):
            chunk = frame.iloc[start:start + batch_size].astype(object)
            chunk = chunk.where(chunk.notna(), None)
            rows = [_plain(row) for row in chunk.itertuples(index=False)]
            cursor.executemany(sql, rows)
    return len(frame)


def _plain(row: tuple) -> tuple:
    """Database parameters: numpy scalars to Python, datetimes as the backend stores them."""
    return tuple(_parameter(value) for value in row)


def _parameter(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):  # pandas.Timestamp is a datetime
        return connection.ops.adapt_datetimefield_value(pd.Timestamp(value).to_pydatetime())
    return value
