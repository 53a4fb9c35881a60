"""Writing a batch of records: the ORM anywhere, COPY on PostgreSQL.

A writer only writes what it is given; deciding what to create or update is
:mod:`crm.importing.upsert`'s job. Both run inside the batch's transaction.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Model, Q
from django.utils import timezone

from ..conf import crm_settings
from ..models import Customer, Order

if TYPE_CHECKING:
    from .columns import ColumnRows

CUSTOMER_COLUMNS = [
    "external_id", "email", "name", "gender", "birth_date", "city", "country",
    "signed_up_at", "consent_status", "consent_source", "consent_at", "unsubscribed_at",
    "attributes",
]
ORDER_COLUMNS = [
    "customer_id", "external_id", "import_key", "placed_at", "amount", "currency",
    "item_count", "category", "channel", "status", "attributes",
]


# Columns in COPY order but attributes (last), which COPY takes as a dict.
_CUSTOMER_VALUES = itemgetter(*CUSTOMER_COLUMNS[:-1])
_ORDER_VALUES = itemgetter(*ORDER_COLUMNS[:-1])


class BatchWriter:
    """Reads with the ORM and writes with ``bulk_create`` and ``bulk_update``: any
    database Django supports."""

    def find_customers(self, ext_ids: set[str], emails: set[str]) -> Iterable[dict[str, Any]]:
        """Stored customers with one of these external ids or emails: id and columns."""
        query = Q(external_id__in=ext_ids) if ext_ids else Q()
        if emails:
            query |= Q(email__in=emails)
        return Customer.objects.filter(query).order_by().values("id", *CUSTOMER_COLUMNS)

    def find_customer_ids(
        self, ext_ids: set[str], emails: set[str]
    ) -> Iterable[tuple[int, str | None, str | None]]:
        """``(id, external_id, email)`` of the customers with these external ids or emails."""
        query = Q(external_id__in=ext_ids) if ext_ids else Q()
        if emails:
            query |= Q(email__in=emails)
        return Customer.objects.filter(query).order_by().values_list("id", "external_id",
                                                                      "email")

    def find_orders(self, ext_ids: set[str], keys: set[str] = frozenset()
                    ) -> Iterable[dict[str, Any]]:
        """Stored orders with these external ids or import keys: id and columns."""
        return Order.objects.filter(
            Q(external_id__in=ext_ids) | Q(import_key__in=keys)
        ).order_by().values("id", *ORDER_COLUMNS)

    def insert_customers(
        self, records: list[dict[str, Any]], *, return_ids: bool = False
    ) -> list[int] | None:
        """Create customers; return their ids in order if asked."""
        objs = Customer.objects.bulk_create([Customer(**record) for record in records])
        return [obj.pk for obj in objs] if return_ids else None

    def update_customers(self, records: list[tuple[int, dict[str, Any]]]) -> None:
        """Overwrite the import's fields of existing customers and touch ``updated_at``."""
        now = timezone.now()
        objs = [Customer(pk=pk, updated_at=now, **record) for pk, record in records]
        Customer.objects.bulk_update(objs, [*CUSTOMER_COLUMNS, "updated_at"], batch_size=500)

    def insert_orders(self, records: list[dict[str, Any]]) -> None:
        Order.objects.bulk_create([Order(**record) for record in records])

    def update_orders(self, records: list[tuple[int, dict[str, Any]]]) -> None:
        objs = [Order(pk=pk, **record) for pk, record in records]
        Order.objects.bulk_update(objs, ORDER_COLUMNS, batch_size=500)


class PostgresCopyWriter(BatchWriter):
    """Reads with ``= ANY(array)`` (one parameter however long the batch) and writes with
    binary COPY: new rows straight into the table, updates through a temporary table
    and one ``UPDATE ... FROM``."""

    def __init__(self) -> None:
        self._types: dict[str, dict[str, int]] = {}
        self._sequences: dict[str, str] = {}
        self._json = _CachedJson()
        # Set while this connection's transaction holds ACCESS EXCLUSIVE on the customers
        # table (a first import): nobody else can take their ids meanwhile.
        self.customers_locked = False

    def find_customers(self, ext_ids: set[str], emails: set[str]) -> Iterable[dict[str, Any]]:
        names = ["id", *CUSTOMER_COLUMNS]
        for row in self._select(Customer, names, {"external_id": ext_ids, "email": emails}):
            values = dict(zip(names, row, strict=True))
            if isinstance(values["attributes"], str):
                values["attributes"] = json.loads(values["attributes"])
            yield values

    def find_customer_ids(
        self, ext_ids: set[str], emails: set[str]
    ) -> Iterable[tuple[int, str | None, str | None]]:
        return self._select(Customer, ["id", "external_id", "email"],
                            {"external_id": ext_ids, "email": emails})

    def find_orders(self, ext_ids: set[str], keys: set[str] = frozenset()
                    ) -> Iterable[dict[str, Any]]:
        names = ["id", *ORDER_COLUMNS]
        for row in self._select(Order, names, {"external_id": ext_ids, "import_key": keys}):
            values = dict(zip(names, row, strict=True))
            if isinstance(values["attributes"], str):
                values["attributes"] = json.loads(values["attributes"])
            yield values

    def insert_customers(
        self, records: list[dict[str, Any]], *, return_ids: bool = False
    ) -> list[int] | range | None:
        """COPY the new customers with ids drawn from the table's sequence beforehand
        (COPY returns nothing): one query, however many rows, and the consent history
        then needs no lookup by email."""
        ids = self._next_ids(Customer, len(records))
        now = timezone.now()
        values = _CUSTOMER_VALUES
        rows = ((pk, *values(record), record["attributes"], now, now)
                for pk, record in zip(ids, records, strict=True))
        self._copy(Customer, ["id", *CUSTOMER_COLUMNS, "created_at", "updated_at"], rows)
        return ids

    def insert_customer_columns(self, rows: ColumnRows, defaults: dict[str, Any]
                                ) -> list[int] | range:
        """COPY new customers given column by column as COPY text (see
        :mod:`crm.importing.columns`), a cell without a value taking ``defaults``; ids
        drawn from the sequence as :meth:`insert_customers` does, and returned."""
        count = len(rows)
        ids = self._next_ids(Customer, count)
        # Most batches need no escaping: then the text holds no backslash, exactly its
        # separators as tabs and line breaks, and exactly its NULs as \N (a NUL stands
        # for it meanwhile: text PostgreSQL never stores). A few scans of the whole text
        # instead of one per column.
        text, nulls = _copy_text(rows, defaults, ids, escape=False)
        width = len(CUSTOMER_COLUMNS) + 1
        if ("\\" in text or "\r" in text or text.count("\n") != count
                or text.count("\t") != count * (width - 1) or text.count("\0") != nulls):
            text, _ = _copy_text(rows, defaults, ids, escape=True)
        elif nulls:
            text = text.replace("\0", "\\N")
        quote = connection.ops.quote_name
        # created_at and updated_at: the database's default (the statement's time).
        names = ", ".join(map(quote, ["id", *CUSTOMER_COLUMNS]))
        sql = f"COPY {quote(Customer._meta.db_table)} ({names}) FROM STDIN"
        with connection.wrap_database_errors, connection.cursor() as cursor, \
                cursor.cursor.copy(sql) as copy:
            copy.write(text)
        return ids

    def _next_ids(self, model: type[Model], count: int) -> list[int] | range:
        """``count`` values of the table's sequence. They come back as a range when they
        follow each other (no other session drew values meanwhile: the usual case), so
        that thousands of ids do not travel one row each."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            # The sequence's name first, once per import: pg_get_serial_sequence inside
            # the query would run (catalog lookups) once per id.
            sequence = self._sequences.get(table)
            if sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                               [connection.ops.quote_name(table), model._meta.pk.column])
                sequence = self._sequences[table] = cursor.fetchone()[0]
            if count and model is Customer and self.customers_locked:
                # No other session can insert customers, the only rows drawing from
                # this sequence: move it past the whole run at once (a nextval per id
                # was a second of the writer's time at a million customers).
                cursor.execute("SELECT setval(%s::regclass, nextval(%s::regclass) + %s - 1)",
                               [sequence, sequence, count])
                last = cursor.fetchone()[0]
                return range(last - count + 1, last + 1)
            cursor.execute(
                "WITH drawn AS (SELECT nextval(%s::regclass) AS id "
                "FROM generate_series(1, %s)) "
                "SELECT min(id), max(id), CASE WHEN max(id) - min(id) + 1 = count(*) "
                "THEN NULL ELSE array_agg(id ORDER BY id) END FROM drawn",
                [sequence, count],
            )
            low, high, ids = cursor.fetchone()
        if low is None:
            return []
        return range(low, high + 1) if ids is None else ids

    def update_customers(self, records: list[tuple[int, dict[str, Any]]]) -> None:
        now = timezone.now()
        values = _CUSTOMER_VALUES
        rows = ((pk, *values(record), record["attributes"], now) for pk, record in records)
        self._update(Customer, [*CUSTOMER_COLUMNS, "updated_at"], rows)

    def insert_orders(self, records: list[dict[str, Any]]) -> None:
        now = timezone.now()
        values = _ORDER_VALUES
        rows = ((*values(record), record["attributes"], now) for record in records)
        self._copy(Order, [*ORDER_COLUMNS, "created_at"], rows)

    def update_orders(self, records: list[tuple[int, dict[str, Any]]]) -> None:
        values = _ORDER_VALUES
        rows = ((pk, *values(record), record["attributes"]) for pk, record in records)
        self._update(Order, ORDER_COLUMNS, rows)

    @staticmethod
    def _select(model: type[Model], names: list[str], wanted: dict[str, set[str]]
                ) -> list[tuple]:
        """Rows whose column (a key of ``wanted``) holds one of the values."""
        quote = connection.ops.quote_name
        where, params = [], []
        # Each list goes as one array literal: far cheaper than thousands of parameters.
        for column, values in wanted.items():
            if values:
                where.append(f"{quote(column)} = ANY(%s::text[])")
                params.append(_array_literal(values))
        if not where:
            return []
        sql = (f"SELECT {', '.join(map(quote, names))} FROM {quote(model._meta.db_table)} "
               f"WHERE {' OR '.join(where)}")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _column_types(self, table: str) -> dict[str, int]:
        if table not in self._types:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT attname, atttypid::int FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                    [connection.ops.quote_name(table)],
                )
                self._types[table] = dict(cursor.fetchall())
        return self._types[table]

    def _copy(self, model: type[Model], columns: list[str], rows, table: str = "") -> None:
        quote = connection.ops.quote_name
        table = table or model._meta.db_table
        types = self._column_types(model._meta.db_table)
        sql = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN (FORMAT BINARY)"
        from psycopg.types.json import set_json_dumps  # psycopg: the "postgres" extra

        # The raw cursor's errors become Django's (IntegrityError...), as the ORM's do.
        with connection.wrap_database_errors, connection.cursor() as cursor:
            set_json_dumps(self._json, context=cursor.cursor)
            with cursor.cursor.copy(sql) as copy:
                copy.set_types([types[column] for column in columns])
                for row in rows:
                    copy.write_row(row)

    def _update(self, model: type[Model], columns: list[str], rows) -> None:
        quote = connection.ops.quote_name
        table = model._meta.db_table
        stage = f"rulecast_import_{table}"
        names = ", ".join(map(quote, ["id", *columns]))
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {quote(stage)} ON COMMIT DROP AS "
                f"SELECT {names} FROM {quote(table)} WITH NO DATA"
            )
            cursor.execute(f"TRUNCATE {quote(stage)}")
        self._copy(model, ["id", *columns], rows, table=stage)
        assignments = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(table)} AS t SET {assignments} FROM {quote(stage)} AS s "
                "WHERE t.id = s.id"
            )


def _copy_text(rows: ColumnRows, defaults: dict[str, Any], ids: Iterable[int],
               *, escape: bool) -> tuple[str, int]:
    """The COPY text of a batch of new customers (id and the columns), and how many
    NULLs it holds. Escaped, its NULLs are \\N; else its cells are
    as they are, and its NULLs NUL characters."""
    from .columns import copy_text, escape_copy

    count = len(rows)
    escaped = escape_copy if escape else _unchanged
    null = "\\N" if escape else "\0"
    nulls = 0
    columns: list[Iterable[str]] = [map(str, ids)]
    for name in CUSTOMER_COLUMNS[:-1]:
        default = defaults[name]
        default = null if default is None else escape_copy([copy_text(default)])[0]
        values = rows.fields.get(name)
        if values is None:
            columns.append(itertools.repeat(default, count))
            nulls += count if default == null else 0
        elif default and "" in values:
            columns.append([value or default for value in escaped(values)])
            nulls += values.count("") if default == null else 0
        else:
            columns.append(escaped(values))
    columns.append(escaped(rows.attributes))
    return "\n".join(map("\t".join, zip(*columns, strict=False))) + "\n", nulls


def _unchanged(column: list[str]) -> list[str]:
    return column


class _CachedJson:
    """``json.dumps`` remembering flat dicts: imported attributes repeat a lot."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.cache: dict[tuple, str] = {}
        self.encode = json.JSONEncoder(ensure_ascii=False).encode

    def __call__(self, obj: Any) -> str:
        try:
            # Types in the key: True and 1 are equal as dict keys, not as JSON.
            key = (tuple(obj.items()), tuple(map(type, obj.values())))
            text = self.cache.get(key)
        except (AttributeError, TypeError):  # not a dict, or unhashable values
            return self.encode(obj)
        if text is None:
            text = self.encode(obj)
            if len(self.cache) < self.size:
                self.cache[key] = text
        return text


def _array_literal(values: Iterable[str]) -> str:
    """A PostgreSQL text[] literal: ``{"a","b"}`` with quotes and backslashes escaped."""
    escaped = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in escaped) + "}"


def get_writer() -> BatchWriter:
    """COPY on PostgreSQL (unless ``IMPORT_USE_COPY`` is off), the ORM elsewhere."""
    if connection.vendor == "postgresql" and crm_settings.IMPORT_USE_COPY:
        return PostgresCopyWriter()
    return BatchWriter()
