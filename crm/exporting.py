"""Export customers and orders to CSV, streaming, safe to open in a spreadsheet.

Text cells that a spreadsheet would take for a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) get a leading single quote (OWASP's advice
against CSV injection); numeric columns are written as they are. The columns are the
import's field names, so an exported file imports back unchanged; attributes become
``attributes.<key>`` columns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from .conf import crm_settings
from .models import Customer, Order

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CUSTOMER_FIELDS = [
    "external_id", "email", "name", "gender", "birth_date", "city", "country",
    "signed_up_at", "consent_status", "consent_source", "consent_at", "unsubscribed_at",
]
ORDER_FIELDS = [
    "external_id", "customer_external_id", "customer_email", "placed_at", "amount",
    "currency", "item_count", "category", "channel", "status",
]
_ORDER_LOOKUPS = {"customer_external_id": "customer__external_id",
                  "customer_email": "customer__email"}
MAX_ATTRIBUTE_COLUMNS = 200


def neutralize(value: str) -> str:
    """Prefix a formula-like text with a single quote so spreadsheets show it as text."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def cell(value: Any) -> str:
    """One value as CSV text: dates in ISO 8601 (local time), numbers as is, text neutralized."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralize(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return neutralize(json.dumps(value, ensure_ascii=False))


def attribute_keys(queryset: QuerySet) -> list[str]:
    """The attribute keys used in ``queryset``, sorted (read in the database)."""
    inner = queryset.order_by().values("attributes")
    sql, params = inner.query.sql_with_params()
    if connection.vendor == "postgresql":
        query = (f"SELECT DISTINCT k FROM ({sql}) AS t, "
                 "jsonb_object_keys(CASE WHEN jsonb_typeof(t.attributes) = 'object' "
                 "THEN t.attributes ELSE '{}'::jsonb END) AS k ORDER BY k")
    elif connection.vendor == "sqlite":
        query = (f"SELECT DISTINCT j.key FROM ({sql}) AS t, json_each(t.attributes) AS j "
                 "WHERE json_type(t.attributes) = 'object' ORDER BY j.key")
    else:
        keys = set()
        for attributes in inner.values_list("attributes", flat=True).iterator():
            keys.update(attributes or {})
        return sorted(keys)[:MAX_ATTRIBUTE_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [row[0] for row in cursor.fetchmany(MAX_ATTRIBUTE_COLUMNS)]


def _rows(queryset: QuerySet, fields: list[str], lookups: dict[str, str],
          chunk_size: int | None) -> Iterator[list[str]]:
    keys = attribute_keys(queryset)
    yield [*fields, *(f"attributes.{key}" for key in keys)]
    columns = [lookups.get(name, name) for name in fields]
    values = queryset.order_by("pk").values_list(*columns, "attributes")
    for *row, attributes in values.iterator(chunk_size=chunk_size
                                            or crm_settings.EXPORT_CHUNK_SIZE):
        attributes = attributes if isinstance(attributes, dict) else {}
        yield [cell(value) for value in row] + [cell(attributes.get(key)) for key in keys]


def customer_rows(queryset: QuerySet | None = None, *, chunk_size: int | None = None
                  ) -> Iterator[list[str]]:
    """The header, then one row per customer, read in chunks."""
    return _rows(Customer.objects.all() if queryset is None else queryset,
                 CUSTOMER_FIELDS, {}, chunk_size)


def order_rows(queryset: QuerySet | None = None, *, chunk_size: int | None = None
               ) -> Iterator[list[str]]:
    """The header, then one row per order with its customer's external id and email."""
    return _rows(Order.objects.all() if queryset is None else queryset,
                 ORDER_FIELDS, _ORDER_LOOKUPS, chunk_size)


class _Line:
    """A file-like object whose ``write`` returns what it is given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]], *, bom: bool = False) -> Iterator[str]:
    """Rows as CSV text, one line at a time; ``bom`` starts with a UTF-8 BOM for Excel."""
    writer = csv.writer(_Line())
    if bom:
        yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


def write_csv(rows: Iterable[list[str]], out: TextIO, *, bom: bool = False) -> int:
    """Write the header and rows to a text stream; return the number of rows after the header."""
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out)
    count = -1
    for row in rows:
        writer.writerow(row)
        count += 1
    return max(count, 0)
