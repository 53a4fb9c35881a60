"""Which column of a file feeds which field: the catalogue of fields and the mapping.

Field names a mapping (or a header) may use, by kind of import:

* customers: ``external_id``, ``email``, ``name``, ``gender``, ``birth_date``, ``age``,
  ``city``, ``country``, ``signed_up_at``, ``consent_status``, ``consent_source``,
  ``consent_at``, ``unsubscribed_at``, ``attributes.<key>``;
* orders: ``customer_external_id``, ``customer_email``, ``external_id``, ``placed_at``,
  ``amount``, ``currency``, ``item_count``, ``category``, ``channel``, ``status``,
  ``attributes.<key>``;
* customers and orders (one row per order): the customer fields, the order fields
  without the ``customer_`` ones, and ``order_external_id`` and ``order_attributes.<key>``
  for the order's own id and extra columns.

A header matching a field name (case, spaces and dashes aside; also ``customer_id`` and
``order_id``) needs no mapping; any other column goes to ``attributes`` (the customer's
for a customers file, else the order's) under its header in snake case.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import ColumnMapping, ImportKind
from .reading import DATE_CELL, DECIMAL_CELL, ImportFileError

CUSTOMER_FIELDS: dict[str, str] = {  # field -> value type
    "external_id": "id", "email": "email", "name": "text", "gender": "gender",
    "birth_date": "date", "age": "age", "city": "text", "country": "text",
    "signed_up_at": "datetime", "consent_status": "consent", "consent_source": "text",
    "consent_at": "datetime", "unsubscribed_at": "datetime",
}
ORDER_FIELDS: dict[str, str] = {
    "customer_external_id": "id", "customer_email": "email", "external_id": "id",
    "placed_at": "datetime", "amount": "money", "currency": "currency",
    "item_count": "count", "category": "text", "channel": "text", "status": "status",
}
ATTRIBUTES = "attributes"
# Headers shops' exports use for our fields (lower case, spaces and dashes as
# underscores), best first: when two columns fit one field, the better one feeds it
# and the other is kept as an attribute ("Total" wins over "Subtotal" and "Price").
_CUSTOMER_ID_HEADERS = ["customer_id", "customer_external_id", "customer_number",
                        "customer_no", "client_id", "customer_user_id", "user_id", "buyer_id",
                        "customer"]
_EMAIL_HEADERS = ["email", "e_mail", "email_address", "customer_email", "billing_email",
                  "buyer_email"]
_ORDER_HEADERS: dict[str, list[str]] = {
    "order_external_id": ["order_id", "order_external_id", "order_number", "order_no",
                          "invoice_id", "invoice_no", "invoice_number", "invoice",
                          "transaction_id"],
    "placed_at": ["order_date", "date", "invoice_date", "purchase_date", "created_at",
                  "order_created", "created", "date_created", "order_time", "paid_at",
                  "processed_at", "transaction_date", "timestamp"],
    "amount": ["total", "order_total", "total_price", "grand_total", "total_amount",
               "amount_paid", "revenue", "sales", "price", "subtotal", "line_total"],
    "item_count": ["items", "quantity", "qty", "item_quantity", "lineitem_quantity",
                   "units", "number_of_items", "num_items"],
    "currency": ["order_currency", "currency_code"],
    "status": ["order_status", "financial_status", "payment_status", "state"],
    "category": ["product_category", "product_type", "category_name"],
    "channel": ["sales_channel", "source_name", "source"],
}
_CUSTOMER_HEADERS: dict[str, list[str]] = {
    "name": ["full_name", "customer_name", "billing_name"],
    "signed_up_at": ["signup_date", "sign_up_date", "registration_date", "date_registered",
                     "registered_at", "customer_since"],
}


def _aliases(kind: str) -> dict[str, tuple[str, int]]:
    """Header (normalised) to the field name it stands for in ``kind``, and its rank."""
    table: dict[str, list[str]] = {}
    if kind == ImportKind.CUSTOMERS:
        table = {"external_id": _CUSTOMER_ID_HEADERS, "email": _EMAIL_HEADERS,
                 **_CUSTOMER_HEADERS}
        table["signed_up_at"] = [*table["signed_up_at"], "created_at", "created"]
    elif kind == ImportKind.ORDERS:
        table = {"customer_external_id": _CUSTOMER_ID_HEADERS,
                 "customer_email": _EMAIL_HEADERS, **_ORDER_HEADERS}
        # An orders file's own "Id" and "Name" are the order's (Shopify: "#1001").
        table["order_external_id"] = [*table["order_external_id"], "id", "name"]
    else:
        table = {"customer_external_id": _CUSTOMER_ID_HEADERS,
                 "customer_email": _EMAIL_HEADERS, **_CUSTOMER_HEADERS, **_ORDER_HEADERS}
    aliases: dict[str, tuple[str, int]] = {}
    for name, headers in table.items():
        for rank, header in enumerate(headers, start=1):
            aliases.setdefault(header, (name, rank))
    return aliases


@dataclass(frozen=True)
class Target:
    """Where a column's values go: a field of the customer or the order, or an attribute."""

    entity: str  # "customer" or "order"
    field: str  # a field of CUSTOMER_FIELDS / ORDER_FIELDS, or ATTRIBUTES
    key: str = ""  # the attribute's key

    @property
    def value_type(self) -> str:
        if self.field == ATTRIBUTES:
            return "attribute"
        return (CUSTOMER_FIELDS if self.entity == "customer" else ORDER_FIELDS)[self.field]


def _field_names(kind: str) -> tuple[dict[str, Target], dict[str, str]]:
    """Names usable in a mapping for ``kind``, and attribute prefixes to their entity."""
    customer = {name: Target("customer", name) for name in CUSTOMER_FIELDS}
    if kind == ImportKind.CUSTOMERS:
        names = {
            **customer,
            "customer_external_id": customer["external_id"],
            "customer_email": customer["email"],
        }
        return names, {"attributes.": "customer", "customer_attributes.": "customer"}
    order = {name: Target("order", name) for name in ORDER_FIELDS}
    if kind == ImportKind.ORDERS:
        names = {**order, "order_external_id": order["external_id"]}
        return names, {"attributes.": "order", "order_attributes.": "order"}
    if kind == ImportKind.CUSTOMERS_AND_ORDERS:
        names = {
            **{k: v for k, v in order.items() if k not in ("external_id",)},
            **customer,
            "customer_external_id": customer["external_id"],
            "customer_email": customer["email"],
            "order_external_id": order["external_id"],
        }
        prefixes = {
            "attributes.": "customer",
            "customer_attributes.": "customer",
            "order_attributes.": "order",
        }
        return names, prefixes
    raise ImportFileError(f"unknown kind of import {kind!r}")


def resolve_field(name: str, kind: str) -> Target | None:
    """The target a mapping's field name stands for in an import of ``kind``."""
    names, prefixes = _field_names(kind)
    name = name.strip()
    if name in names:
        return names[name]
    for prefix, entity in prefixes.items():
        if name.startswith(prefix) and name[len(prefix):].strip():
            return Target(entity, ATTRIBUTES, name[len(prefix):].strip())
    return None


def field_names(kind: str) -> list[str]:
    """The field names a mapping may use for ``kind`` (attributes aside)."""
    return sorted(_field_names(kind)[0])


def attribute_key(header: str) -> str:
    """An attribute key from a header: lower case, words joined by underscores."""
    return re.sub(r"\W+", "_", header.strip().casefold()).strip("_") or "column"


def _normalize_header(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().casefold())


# Words of a date column that is not when the order was placed.
_OTHER_DATES = {"birth", "birthday", "dob", "signup", "sign", "registration", "registered",
                "ship", "shipped", "shipping", "delivery", "delivered", "due", "refund",
                "refunded", "cancel", "cancelled", "canceled", "updated", "modified", "expiry",
                "expires", "expiration", "return", "returned", "last", "first"}
_LAST_RESORT = 100  # the rank of a guess from a header's words: any alias goes first


def guess_target(header: str, kind: str) -> tuple[Target, int] | None:
    """The field a header names by itself (rank 0), by a usual alias (rank 1+), or, for
    an order's date, by its words (``created_at_date``, ``Invoice Datetime``: last)."""
    name = _normalize_header(header)
    target = resolve_field(name, kind)
    if target is not None:
        return target, 0
    alias = _aliases(kind).get(name)
    if alias is not None:
        return resolve_field(alias[0], kind), alias[1]
    words = set(re.split(r"[^a-z]+", name))
    if (kind != ImportKind.CUSTOMERS and words & {"date", "datetime", "time", "timestamp"}
            and not words & _OTHER_DATES):
        return resolve_field("placed_at", kind), _LAST_RESORT
    return None


@dataclass(frozen=True)
class ImportMapping:
    """A file's headers to Rulecast's fields, value translations and a date format.

    ``columns`` maps a field name to the file's header, e.g. ``{"external_id": "Customer
    ID"}``; ``values`` maps, per field, the file's value to Rulecast's, e.g. ``{"status":
    {"Cancelled": "cancelled"}}`` (matched ignoring case); ``date_format`` is a strptime
    format tried first for dates, e.g. ``%d/%m/%Y``.
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    date_format: str = ""

    @classmethod
    def from_column_mapping(cls, saved: ColumnMapping) -> ImportMapping:
        """The mapping saved in the admin."""
        return cls(dict(saved.columns or {}), dict(saved.values or {}), saved.date_format or "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportMapping:
        """From ``{"columns": ..., "values": ..., "date_format": ...}`` or a flat
        ``{field: header}`` dict."""
        if not isinstance(data, dict):
            raise ImportFileError("a mapping must be a JSON object")
        if "columns" not in data:
            data = {"columns": data}
        columns, values = data.get("columns") or {}, data.get("values") or {}
        if not isinstance(columns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise ImportFileError('"columns" must map field names to headers (strings)')
        if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
            raise ImportFileError('"values" must map field names to {file value: value}')
        return cls(dict(columns), {k: dict(v) for k, v in values.items()},
                   str(data.get("date_format") or ""))

    def merged(self, other: ImportMapping | None) -> ImportMapping:
        """This mapping with ``other``'s entries on top."""
        if other is None:
            return self
        values = {k: dict(v) for k, v in self.values.items()}
        for name, table in other.values.items():
            values[name] = {**values.get(name, {}), **table}
        return ImportMapping(
            {**self.columns, **other.columns}, values, other.date_format or self.date_format
        )

    def as_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "values": self.values, "date_format": self.date_format}

    def check(self, kind: str) -> None:
        """Raise ImportFileError naming any field unknown for ``kind``."""
        unknown = [name for name in [*self.columns, *self.values] if not resolve_field(name, kind)]
        if unknown:
            raise ImportFileError(
                f"unknown field(s) for {kind}: {', '.join(sorted(set(unknown)))}; "
                f"use {', '.join(field_names(kind))} or attributes.<key>"
            )


def parse_map_options(pairs: list[str]) -> dict[str, str]:
    """``['external_id=Customer ID', ...]`` (as given to ``--map``) to a columns dict."""
    columns = {}
    for pair in pairs:
        name, sep, header = pair.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise ImportFileError(f"--map expects FIELD=HEADER, got {pair!r}")
        columns[name.strip()] = header.strip().strip("\"'")
    return columns


@dataclass(frozen=True)
class MappingFile:
    """A mapping shipped as JSON: an optional name and kind, and the mapping."""

    name: str
    kind: str
    mapping: ImportMapping


def read_mapping_file(path: str | Path) -> MappingFile:
    """Read a JSON mapping: ``{"name", "kind", "columns", "values", "date_format"}``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ImportFileError(f"cannot read the mapping file {path}: {exc}") from None
    mapping = ImportMapping.from_dict(data)
    if "columns" not in data:
        data = {}
    kind = str(data.get("kind") or "")
    if kind and kind not in ImportKind.values:
        raise ImportFileError(f"the mapping file's kind must be one of {ImportKind.values}")
    return MappingFile(str(data.get("name") or ""), kind, mapping)


def save_column_mapping(*, name: str, kind: str, mapping: ImportMapping) -> ColumnMapping:
    """Create or replace the saved mapping called ``name``."""
    mapping.check(kind)
    saved, _ = ColumnMapping.objects.update_or_create(
        name=name,
        defaults={"kind": kind, "columns": mapping.columns, "values": mapping.values,
                  "date_format": mapping.date_format},
    )
    return saved


@dataclass(frozen=True)
class Column:
    """One column of the file feeding one target."""

    index: int
    header: str
    target: Target
    values: dict[str, Any] | None = None  # case-folded file value -> value


REQUIRED = {
    ImportKind.CUSTOMERS: ([("customer", "external_id"), ("customer", "email")],),
    ImportKind.ORDERS: (
        [("order", "customer_external_id"), ("order", "customer_email")],
        [("order", "placed_at")],
        [("order", "amount")],
    ),
    ImportKind.CUSTOMERS_AND_ORDERS: (
        [("customer", "external_id"), ("customer", "email")],
        [("order", "placed_at")],
        [("order", "amount")],
    ),
}


_INTEGER = re.compile(r"[+-]?\d+")


def headerless_names(sample: list[list[str]], kind: str) -> list[str]:
    """Names for the columns of an orders file without a header line, from their values:
    the one column of dates is the order date, the one column of numbers with decimals
    the amount, the first other column the customer, one more column of whole numbers
    the items; any other column keeps its place's name (``column_3``).

    Raises :class:`ImportFileError` with an example of ``--columns`` when the values
    do not tell (a customers file, two date columns, no amount...).
    """
    width = max(map(len, sample), default=0)
    names = [f"column_{i}" for i in range(1, width + 1)]
    usual = (["external_id", "email", "name", "signed_up_at"] if kind == ImportKind.CUSTOMERS
             else ["customer_id", "order_date", "items", "amount"])
    example = ",".join(usual[:width] or ["..."])
    refusal = ImportFileError(
        f"the file has no header line (line 1 reads: {' '.join(sample[0]) if sample else ''}); "
        f"name its columns in order, e.g. --columns {example}")
    if kind == ImportKind.CUSTOMERS or width < 3:
        raise refusal
    values = [[row[i].strip() for row in sample if i < len(row) and row[i].strip()]
              for i in range(width)]

    def every(pattern: re.Pattern, column: list[str]) -> bool:
        return bool(column) and all(pattern.fullmatch(value) for value in column)

    dates = [i for i, column in enumerate(values) if every(DATE_CELL, column)]
    amounts = [i for i, column in enumerate(values) if i not in dates
               and all(_INTEGER.fullmatch(v) or DECIMAL_CELL.fullmatch(v) for v in column)
               and any(DECIMAL_CELL.fullmatch(value) for value in column)]
    if len(dates) != 1 or len(amounts) != 1:
        raise refusal
    rest = [i for i in range(width) if i not in (dates[0], amounts[0])]
    names[dates[0]], names[amounts[0]], names[rest[0]] = "order_date", "amount", "customer_id"
    counts = [i for i in rest[1:] if every(_INTEGER, values[i])]
    if len(counts) == 1:
        names[counts[0]] = "items"
    return names


def plan_columns(header: list[str], kind: str, mapping: ImportMapping | None) -> list[Column]:
    """Match the file's header to targets: the mapping first, then header names.

    Raises :class:`ImportFileError` when a field the import needs has no column.
    """
    mapping = mapping or ImportMapping()
    columns = assign_columns(header, kind, mapping)
    present = {(c.target.entity, c.target.field) for c in columns}
    for alternatives in REQUIRED[kind]:
        if not present.intersection(alternatives):
            names = " or ".join(field for _, field in alternatives)
            raise ImportFileError(
                f"no column for {names}; the file's columns are: {', '.join(header)} "
                "(map one with a column mapping)"
            )
    return columns


def assign_columns(header: list[str], kind: str, mapping: ImportMapping) -> list[Column]:
    """Each column's target: the mapping's choice, else what its header names, else an
    attribute."""
    mapping.check(kind)
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(name, index)
        positions.setdefault(name.casefold(), index)
    used: dict[int, Target] = {}
    for name, wanted in mapping.columns.items():
        index = positions.get(wanted.strip(), positions.get(wanted.strip().casefold()))
        if index is None:
            raise ImportFileError(
                f"column {wanted!r} (mapped to {name}) is not in the file; "
                f"its columns are: {', '.join(header)}"
            )
        if index in used:
            raise ImportFileError(f"column {wanted!r} is mapped to two fields")
        used[index] = resolve_field(name, kind)
    taken = set(used.values())
    default_entity = "customer" if kind == ImportKind.CUSTOMERS else "order"
    # The best-ranked header for each field the mapping leaves open.
    best: dict[Target, tuple[int, int]] = {}
    for index, name in enumerate(header):
        guess = guess_target(name, kind) if index not in used and name else None
        if guess is not None and guess[0] not in taken:
            target, rank = guess
            if target not in best or rank < best[target][0]:
                best[target] = (rank, index)
    chosen = {index: target for target, (_, index) in best.items()}
    for index, name in enumerate(header):
        if index in used or not name:
            continue
        target = chosen.get(index)
        if target is None:
            key = attribute_key(name)
            target = Target(default_entity, ATTRIBUTES, key)
            suffix = 1
            while target in taken:
                suffix += 1
                target = Target(default_entity, ATTRIBUTES, f"{key}_{suffix}")
        used[index] = target
        taken.add(target)
    value_tables = {}
    for name, table in mapping.values.items():
        value_tables[resolve_field(name, kind)] = {
            str(key).strip().casefold(): value for key, value in table.items()
        }
    return [
        Column(index, header[index], target, value_tables.get(target))
        for index, target in sorted(used.items())
    ]


def field_name(target: Target, kind: str) -> str:
    """The name a mapping uses for ``target`` in an import of ``kind`` (the first of its
    names in :func:`field_names`' order that is not a ``customer_`` alias)."""
    if target.field == ATTRIBUTES:
        prefix = "order_attributes." if (
            kind == ImportKind.CUSTOMERS_AND_ORDERS and target.entity == "order"
        ) else "attributes."
        return prefix + target.key
    names = [name for name, named in _field_names(kind)[0].items() if named == target]
    plain = [name for name in names if not name.startswith("customer_")
             or kind == ImportKind.ORDERS]
    return (plain or names)[0]


def targets(kind: str) -> list[tuple[str, Target]]:
    """The fields of an import of ``kind``, each once, by its :func:`field_name`."""
    seen: dict[Target, str] = {}
    for target in _field_names(kind)[0].values():
        seen.setdefault(target, field_name(target, kind))
    return [(name, target) for target, name in seen.items()]
