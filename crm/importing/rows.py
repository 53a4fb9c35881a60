"""Parse one CSV record into typed customer and order values, or into row errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from ..models import Customer, ImportKind, Order, OrderStatus
from . import values
from .mapping import ATTRIBUTES, Column, Target
from .report import RowError

# Cells meaning "no value": spreadsheet error values and the usual placeholders.
NO_VALUE = frozenset({
    "#N/A", "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "N/A", "n/a", "NULL",
    "null",
})

_UNMAPPED = object()
_CENT = Decimal("0.01")

# Where a column's value is stored: an index into (customer, customer attrs, order, order attrs).
_SLOTS = {("customer", False): 0, ("customer", True): 1, ("order", False): 2, ("order", True): 3}


class ParsedRow:
    """A valid record: non-empty customer and order values, keyed by field name."""

    __slots__ = ("line", "customer", "customer_attributes", "order", "order_attributes",
                 "birth_date_estimate")

    def __init__(self, line, customer, customer_attributes, order, order_attributes) -> None:
        self.line = line
        self.customer: dict[str, Any] = customer
        self.customer_attributes: dict[str, Any] = customer_attributes
        self.order: dict[str, Any] = order
        self.order_attributes: dict[str, Any] = order_attributes
        # From an age when the row has no birth date (see estimate_birth_date).
        self.birth_date_estimate: date | None = None

    @property
    def group(self) -> str | None:
        """The customer the row belongs to (rows of one customer are kept in one batch)."""
        c, o = self.customer, self.order
        return (c.get("external_id") or c.get("email")
                or o.get("customer_external_id") or o.get("customer_email"))


def estimate_birth_date(age: int, on: date) -> date:
    """A birth date for someone ``age`` years old ``on`` a day, in year ``on.year - age``.

    Halfway between 1 January and the day's date in that year: any day in that span
    makes the person exactly ``age`` on ``on``.
    """
    year = on.year - age
    start = date(year, 1, 1)
    try:
        end = date(year, on.month, on.day)
    except ValueError:  # 29 February
        end = date(year, 2, 28)
    return start + timedelta(days=(end - start).days // 2)


def _max_length(entity: str, field_name: str) -> int:
    if field_name == "customer_external_id":
        entity, field_name = "customer", "external_id"
    model = Customer if entity == "customer" else Order
    return model._meta.get_field(field_name).max_length


def _parser_for(target: Target, date_format: str, tz: tzinfo) -> Callable[[str], Any]:
    value_type = target.value_type
    if value_type in ("text", "id"):
        return values.text_parser(_max_length(target.entity, target.field))
    return {
        "email": values.parse_email,
        "gender": values.parse_gender,
        "consent": values.parse_consent,
        "status": values.parse_order_status,
        "currency": values.parse_currency,
        "money": values.parse_money,
        "count": values.parse_count,
        "age": values.parse_age,
        "attribute": values.parse_attribute,
        "date": values.date_parser(date_format),
        "datetime": values.datetime_parser(date_format, tz),
    }[value_type]


class RowParser:
    """Turns records into :class:`ParsedRow` values, reporting bad ones to ``on_error``."""

    def __init__(
        self,
        columns: list[Column],
        kind: str,
        *,
        width: int,
        date_format: str = "",
        tz: tzinfo | None = None,
        encoding: str = "utf-8",
        currency: str = "CNY",
        rates: dict[str, Decimal] | None = None,
        on_error: Callable[[RowError], None],
    ) -> None:
        tz = tz or timezone.get_current_timezone()
        self.kind = kind
        self.width = width
        self.tz = tz
        self.encoding = encoding
        self.on_error = on_error
        self.today = timezone.localdate()
        self.currency = currency
        self.rates = rates or {}
        self.plan = []
        for column in columns:
            target = column.target
            is_attr = target.field == ATTRIBUTES
            name = target.key if is_attr else target.field
            parse = _parser_for(target, date_format, tz)
            is_text = target.value_type in ("text", "id", "attribute")
            self.plan.append(
                (column.index, column.header, parse, column.values, is_text,
                 _SLOTS[(target.entity, is_attr)], name)
            )
        # Most columns have no value table: they take the short loop in parse().
        self.plain = [(index, parse, is_text, slot, name)
                      for index, _, parse, table, is_text, slot, name in self.plan
                      if table is None]
        self.translated = [entry for entry in self.plan if entry[3] is not None]
        headers = {(c.target.entity, c.target.field): c.header for c in columns}
        self.key_columns = " / ".join(
            headers[key] for key in [("customer", "external_id"), ("customer", "email"),
                                     ("order", "customer_external_id"),
                                     ("order", "customer_email")]
            if key in headers
        )
        self.placed_column = headers.get(("order", "placed_at"), "placed_at")
        self.amount_column = headers.get(("order", "amount"), "amount")
        self.currency_column = headers.get(("order", "currency"), "currency")
        self.with_orders = kind != ImportKind.CUSTOMERS

    def _reject(self, line: int, column: str, reason: str, value: str = "") -> None:
        self.on_error(RowError(line, column, reason, value))

    def parse(self, line: int, cells: list[str], undecodable: bool = False) -> ParsedRow | None:
        """The row's values, or None after reporting each of its errors."""
        if undecodable:
            for index, cell in enumerate(cells):
                if "\ufffd" in cell:
                    column = self.plan_header(index)
                    self._reject(line, column, f"bytes that are not valid {self.encoding}", cell)
            return None
        count = len(cells)
        if count != self.width:
            if count > self.width and any(cell.strip() for cell in cells[self.width:]):
                self._reject(line, "", f"{count} values but the header has {self.width} columns")
                return None
            cells = cells + [""] * (self.width - count)  # spreadsheets drop empty trailing cells
        slots: tuple[dict, dict, dict, dict] = ({}, {}, {}, {})
        failed = False
        for index, parse, is_text, slot, name in self.plain:
            raw = cells[index].strip()
            if raw and not (is_text and raw in NO_VALUE):
                try:
                    slots[slot][name] = parse(raw)
                except ValueError as exc:
                    if raw in NO_VALUE:  # e.g. #N/A in a date column: no value
                        continue
                    self._reject(line, self.plan_header(index), str(exc), raw)
                    failed = True
        for index, header, parse, table, _is_text, slot, name in self.translated:
            raw = cells[index].strip()
            if not raw:
                continue
            mapped = table.get(raw.casefold(), _UNMAPPED)
            if mapped is _UNMAPPED:
                if raw in NO_VALUE:
                    continue
            elif isinstance(mapped, str):
                raw = mapped.strip()
                if not raw:
                    continue
            elif slot in (1, 3):  # an attribute takes any JSON value
                slots[slot][name] = mapped
                continue
            else:
                raw = str(mapped)
            try:
                slots[slot][name] = parse(raw)
            except ValueError as exc:
                if raw in NO_VALUE:  # e.g. #N/A in a date column: no value
                    continue
                self._reject(line, header, str(exc), raw)
                failed = True
        if failed:
            return None
        customer, customer_attrs, order, order_attrs = slots
        if self.kind != ImportKind.ORDERS:
            if "external_id" not in customer and "email" not in customer:
                self._reject(line, self.key_columns, "neither an email nor an external id")
                return None
        if self.with_orders:
            if self.kind == ImportKind.ORDERS and not (
                "customer_external_id" in order or "customer_email" in order
            ):
                self._reject(line, self.key_columns, "no customer (external id or email)")
                return None
            if "placed_at" not in order:
                self._reject(line, self.placed_column, "the order's date is missing")
                return None
            if "amount" not in order:
                # A row naming its order may be a further line of it with no amount of its
                # own (Shopify gives an order's total on its first row): the upsert tells.
                if self.kind != ImportKind.ORDERS or not order.get("external_id"):
                    self._reject(line, self.amount_column, "the order's amount is missing")
                    return None
                return ParsedRow(line, customer, customer_attrs, order, order_attrs)
            amount, symbol = order["amount"]
            currency = order.get("currency") or symbol or self.currency
            if currency != self.currency:
                rate = self.rates.get(currency)
                if rate is None:
                    self._reject(
                        line, self.currency_column if "currency" in order else self.amount_column,
                        f"the amount is in {currency}, not the shop's currency "
                        f"{self.currency} (give an exchange rate for {currency})", currency,
                    )
                    return None
                order_attrs = {**order_attrs, "original_amount": str(amount),
                               "original_currency": currency}
                amount = (amount * rate).quantize(_CENT, rounding=ROUND_HALF_UP)
            order["amount"] = amount
            order["currency"] = self.currency
            if amount < 0 and order.get("status", OrderStatus.COMPLETED) != OrderStatus.REFUNDED:
                self._reject(line, self.amount_column,
                             "a negative amount (only a refunded order may have one)",
                             str(amount))
                return None
        row = ParsedRow(line, customer, customer_attrs, order, order_attrs)
        if "age" in customer:
            age = customer.pop("age")
            customer_attrs["age"] = age
            if "birth_date" not in customer:
                on = order.get("placed_at") or customer.get("signed_up_at")
                on = timezone.localtime(on, self.tz).date() if on else self.today
                row.birth_date_estimate = estimate_birth_date(age, on)
        return row

    def plan_header(self, index: int) -> str:
        for column_index, header, *_ in self.plan:
            if column_index == index:
                return header
        return f"column {index + 1}"
