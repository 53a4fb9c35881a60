"""Upsert one batch of parsed rows: match stored records, then create, update or skip.

Customers are matched by external id, then by email, with one ``IN`` query per batch;
orders by external id. Within a batch a later row for the same customer or order wins
(a cell left empty keeps the earlier or stored value). Records whose values would not
change are not written, so re-importing a file writes nothing.

While a file brings only new records the lookups are skipped: the batch is inserted
in a savepoint and, should a record exist after all (a unique index says so), undone
and upserted with the lookups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from ..conf import crm_settings
from ..models import ConsentStatus, ImportKind, OrderStatus
from .columns import ColumnRows
from .report import Counts, RowError
from .rows import ParsedRow
from .writers import ORDER_COLUMNS, BatchWriter

CUSTOMER_DEFAULTS: dict[str, Any] = {
    "external_id": None, "email": None, "name": "", "gender": "", "birth_date": None,
    "city": "", "country": "", "signed_up_at": None, "consent_status": ConsentStatus.UNKNOWN,
    "consent_source": "", "consent_at": None, "unsubscribed_at": None,
}
ORDER_DEFAULTS: dict[str, Any] = {
    "item_count": 1, "category": "", "channel": "", "status": OrderStatus.COMPLETED,
}
_ORDER_VALUES = frozenset(ORDER_COLUMNS) - {"customer_id", "attributes", "import_key"}
ESTIMATED = "birth_date_estimated"


class _Record:
    """A customer or order this batch touches: its stored values and its new ones."""

    __slots__ = ("id", "original", "state", "touched")

    def __init__(self, pk: int | None, original: dict[str, Any] | None) -> None:
        self.id = pk
        self.original = original
        self.state: dict[str, Any] = dict(original) if original is not None else {}
        self.touched = False


@dataclass
class BatchResult:
    """What one batch wrote, and the rows it refused."""

    customers: Counts = field(default_factory=Counts)
    orders: Counts = field(default_factory=Counts)
    duplicates: int = 0
    order_lines: int = 0  # rows that were further lines of an order (added to it)
    order_ids: set[int] = field(default_factory=set)  # hashes of the order ids written
    line_ids: set[int] = field(default_factory=set)  # and of their lines
    found: int = 0  # stored records matched
    rejected: list[RowError] = field(default_factory=list)
    customer_ids: set[int] = field(default_factory=set)  # customers written or given orders


class BatchUpsert:
    """Upserts the batches of one import; ``reject`` receives the rows refused."""

    def __init__(
        self,
        kind: str,
        writer: BatchWriter,
        reject: Callable[[RowError], None],
        headers: dict[str, str],
        *,
        order_lines: bool = False,
    ) -> None:
        self.kind = kind
        # A file's rows with one order id are that order's lines (an export with a row
        # per item): their amounts and items add up. Elsewhere (the API's records), a
        # later row with the same id updates the order.
        self.order_lines = order_lines
        # Hashes of the order ids earlier batches wrote: a line of one of them in a later
        # batch (a file not sorted by order) adds to the stored order.
        self.orders_written: set[int] = set()
        self.lines_written: set[int] = set()  # and hashes of their lines: a repeat is one
        self.writer = writer
        self.reject = reject
        self.headers = headers
        self.currency = crm_settings.DEFAULT_CURRENCY
        self.only_new = True  # the last batch matched no stored record
        # Orders without an id seen so far, by (customer, time, amount): their positions.
        self.positions: dict[str, int] = {}

    def __call__(self, rows: list[ParsedRow] | ColumnRows) -> BatchResult:
        """Write a batch (inside the caller's transaction)."""
        if isinstance(rows, ColumnRows):
            result = self._new_customer_columns(rows)
            if result is not None:
                return result
            rows = rows.rows()
        result = None
        positions = dict(self.positions)
        if self.only_new and not self._continues_orders(rows):
            try:
                with transaction.atomic():  # a savepoint, undone if a record exists
                    result = self._run(rows, lookup=False)
            except IntegrityError:
                result = None
                self.positions = positions
        if result is None:
            result = self._run(rows, lookup=True)
            self.only_new = result.found == 0
        self.orders_written |= result.order_ids  # once the batch is through, not before
        self.lines_written |= result.line_ids
        for error in result.rejected:
            self.reject(error)
        return result

    def _new_customer_columns(self, rows: ColumnRows) -> BatchResult | None:
        """Insert a batch of new customers from its columns, as :meth:`customers` would
        without lookups: each row a new customer, its consent recorded. None when the
        batch needs the row-by-row upsert (a stored customer, a customer on two rows, a
        row the row parser read), and then nothing was written."""
        insert = getattr(self.writer, "insert_customer_columns", None)
        if not (insert and self.only_new and self.kind == ImportKind.CUSTOMERS
                and rows.all_columns and rows.keys_unique()):
            return None
        from ..privacy.consent import record_created

        try:
            with transaction.atomic():  # a savepoint, undone if a customer exists
                ids = insert(rows, CUSTOMER_DEFAULTS)
                statuses = rows.fields.get("consent_status")
                # The history from the rows just written (their status, when known).
                if statuses is not None and any(statuses):
                    record_created(ids)
        except IntegrityError:
            return None
        return BatchResult(customers=Counts(created=len(ids)))

    def _run(self, rows: list[ParsedRow], *, lookup: bool) -> BatchResult:
        result = BatchResult()
        owners: list[_Record | None] | None = None
        if self.kind != ImportKind.ORDERS:
            owners = self.customers(rows, result, lookup)
        if self.kind != ImportKind.CUSTOMERS:
            self.orders(rows, owners, result, lookup)
        return result

    def _refuse(self, result: BatchResult, line: int, field_name: str, reason: str,
                value: str = "") -> None:
        result.rejected.append(
            RowError(line, self.headers.get(field_name, field_name), reason, value)
        )

    # --- customers ------------------------------------------------------------

    def customers(self, rows: list[ParsedRow], result: BatchResult, lookup: bool
                  ) -> list[_Record | None]:
        """Upsert the rows' customers; return each row's customer (None if refused)."""
        by_ext: dict[str, _Record] = {}
        by_email: dict[str, _Record] = {}
        if lookup:
            ext_ids = {r.customer["external_id"] for r in rows if "external_id" in r.customer}
            emails = {r.customer["email"] for r in rows if "email" in r.customer}
            for values in self.writer.find_customers(ext_ids, emails):
                record = _Record(values.pop("id"), values)
                result.found += 1
                if values["external_id"]:
                    by_ext[values["external_id"]] = record
                if values["email"]:
                    by_email[values["email"]] = record

        owners: list[_Record | None] = []
        touched: list[_Record] = []
        repeated = 0
        for row in rows:
            values = row.customer
            ext, email = values.get("external_id"), values.get("email")
            found_by_ext = by_ext.get(ext) if ext else None
            found_by_email = by_email.get(email) if email else None
            record = found_by_ext or found_by_email
            if record is None:
                # A new customer: the common case of a first import, kept quick.
                record = _Record(None, None)
                record.state = {**CUSTOMER_DEFAULTS, **values,
                                "attributes": row.customer_attributes}
                if row.birth_date_estimate:
                    _estimate_birth_date(record.state, row.birth_date_estimate)
                record.touched = True
                touched.append(record)
            else:
                other = None
                if found_by_ext and found_by_email and found_by_ext is not found_by_email:
                    other = found_by_email
                elif ext and record.state["external_id"] not in (None, ext):
                    other = record
                if other is not None:
                    self._refuse(result, row.line, "email",
                                 "the email belongs to another customer (external id "
                                 f"{other.state['external_id'] or '-'})", email or "")
                    owners.append(None)
                    continue
                if record.touched:
                    repeated += 1
                else:
                    record.touched = True
                    touched.append(record)
                _merge_customer(record.state, row)
            if ext:
                by_ext[ext] = record
            if email:
                by_email[email] = record
            owners.append(record)

        new = [r for r in touched if r.id is None]
        changed = [r for r in touched if r.id is not None and r.state != r.original]
        if new:
            ids = self.writer.insert_customers(
                [r.state for r in new], return_ids=self.kind != ImportKind.CUSTOMERS
            )
            for record, pk in zip(new, ids or (), strict=False):
                record.id = pk
        if changed:
            self.writer.update_customers([(r.id, r.state) for r in changed])
        from ..privacy.consent import record_upserted  # consent history, erased addresses
        record_upserted(touched)
        result.customers = Counts(len(new), len(changed), len(touched) - len(new) - len(changed))
        # A customers file's new customers are found by the import once it is done (their
        # ids may be unknown, and a million of them must not pile up in memory meanwhile).
        announced = changed if self.kind == ImportKind.CUSTOMERS else [*new, *changed]
        result.customer_ids.update(r.id for r in announced if r.id is not None)
        if self.kind == ImportKind.CUSTOMERS:  # else a customer's rows are its orders
            result.duplicates += repeated
        return owners

    # --- orders ---------------------------------------------------------------

    def orders(self, rows: list[ParsedRow], owners: list[_Record | None] | None,
               result: BatchResult, lookup: bool) -> None:
        """Upsert the rows' orders; customers come from ``owners`` or are looked up."""
        customer_ids = self._order_customers(rows, result) if owners is None else [
            owner.id if owner is not None else None for owner in owners
        ]
        wanted: list[tuple[ParsedRow, int, tuple[str, str]]] = []
        for row, customer_id, in zip(rows, customer_ids, strict=True):
            if customer_id is None:
                continue
            external_id = row.order.get("external_id")
            if external_id:
                wanted.append((row, customer_id, ("external_id", external_id)))
            else:
                wanted.append((row, customer_id, ("import_key", self._import_key(
                    customer_id, row.order["placed_at"], row.order["amount"]))))

        by_key: dict[tuple[str, str], _Record] = {}
        if lookup and wanted:
            ext_ids = {value for _, _, (name, value) in wanted if name == "external_id"}
            keys = {value for _, _, (name, value) in wanted if name == "import_key"}
            for values in self.writer.find_orders(ext_ids, keys):
                record = _Record(values.pop("id"), values)
                if values["external_id"]:
                    by_key["external_id", values["external_id"]] = record
                if values["import_key"]:
                    by_key["import_key", values["import_key"]] = record
                result.found += 1
        touched: list[_Record] = []
        continued: set[int] = set()  # orders this import wrote before: not "updated"
        repeated = 0
        for row, customer_id, key in wanted:
            record = by_key.get(key)
            if record is None:
                record = by_key[key] = _Record(None, None)
                record.state = {**ORDER_DEFAULTS, "currency": self.currency, "attributes": {},
                                "external_id": None, "import_key": None}
            continues = record.touched or (
                self.order_lines and record.original is not None
                and key[0] == "external_id" and hash(key[1]) in self.orders_written)
            if "amount" not in row.order and not (self.order_lines and continues):
                self._refuse(result, row.line, "amount", "the order's amount is missing")
                continue
            if self.order_lines and key[0] == "external_id":  # a line, by its values
                line = hash((key[1], repr(sorted(row.order.items())),
                             repr(sorted(row.order_attributes.items()))))
                if line in result.line_ids or line in self.lines_written:
                    repeated += 1  # the same row again
                    continue
                result.line_ids.add(line)
            if record.touched and not self.order_lines:
                repeated += 1  # through the API, a later record updates the order
            elif continues and self.order_lines:
                if not record.touched:  # an order an earlier batch of this file wrote
                    record.touched = True
                    touched.append(record)
                    continued.add(id(record))
                self._add_line(record.state, row)
                result.order_lines += 1
                continue
            else:
                record.touched = True
                touched.append(record)
            state = record.state
            for name, value in row.order.items():
                if name in _ORDER_VALUES:
                    state[name] = value
            state[key[0]] = key[1]
            state["customer_id"] = customer_id
            if row.order_attributes:
                state["attributes"] = {**state["attributes"], **row.order_attributes}

        if self.order_lines:
            result.order_ids.update(hash(r.state["external_id"]) for r in touched
                                    if r.state.get("external_id"))
        new = [r.state for r in touched if r.id is None]
        changed = [(r.id, r.state) for r in touched if r.id is not None and r.state != r.original]
        if new:
            self.writer.insert_orders(new)
        if changed:
            self.writer.update_orders(changed)
        updated = sum(id(r) not in continued for r in touched
                      if r.id is not None and r.state != r.original)
        result.orders = Counts(len(new), updated, len(touched) - len(new) - len(changed))
        result.duplicates += repeated
        for record in touched:
            if record.id is None or record.state != record.original:
                result.customer_ids.add(record.state["customer_id"])
                if record.original is not None:
                    result.customer_ids.add(record.original["customer_id"])

    def _continues_orders(self, rows: list[ParsedRow]) -> bool:
        """Whether a row is a further line of an order an earlier batch wrote: then the
        batch looks the orders up (without, a line with no amount would be refused)."""
        written = self.orders_written
        return bool(written) and any(
            hash(row.order["external_id"]) in written for row in rows
            if row.order.get("external_id"))

    @staticmethod
    def _add_line(state: dict[str, Any], row: ParsedRow) -> None:
        """A further line of an order: its amount and items added, its other values only
        where the order has none yet (the first line's status, date... stay)."""
        for name, value in row.order.items():
            if name == "amount":
                state[name] = state[name] + value
            elif name == "item_count" and value is not None:
                state[name] = (state.get(name) or 0) + value
            elif name in _ORDER_VALUES and state.get(name) in (None, ""):
                state[name] = value
        if row.order_attributes:  # the first line's values stay
            stored = state["attributes"]
            state["attributes"] = {**row.order_attributes, **stored}
            # ...but converted lines add up in their own currency too.
            original = row.order_attributes.get("original_amount")
            if (original is not None and "original_amount" in stored
                    and stored.get("original_currency")
                    == row.order_attributes.get("original_currency")):
                state["attributes"]["original_amount"] = str(
                    Decimal(stored["original_amount"]) + Decimal(original))

    def _import_key(self, customer_id: int, placed_at: datetime, amount: Decimal) -> str:
        """The stable key of an order without an id: its customer, time, amount, and its
        position among the import's orders with the same three (identical rows are
        distinct orders). Importing the same rows again gives the same keys."""
        moment = placed_at.astimezone(UTC).isoformat()
        base = f"{customer_id}|{moment}|{amount}"
        position = self.positions[base] = self.positions.get(base, 0) + 1
        content = f"{base}|{position}".encode()
        return hashlib.blake2b(content, digest_size=16).hexdigest()

    def _order_customers(self, rows: list[ParsedRow], result: BatchResult) -> list[int | None]:
        """Each row's customer id, found by external id or email, or created (with that
        external id and email) when the import has not seen it: an orders-only file
        brings its customers along."""
        ext_ids = {r.order["customer_external_id"] for r in rows
                   if "customer_external_id" in r.order}
        emails = {r.order["customer_email"] for r in rows if "customer_email" in r.order}
        by_ext, by_email = {}, {}
        for pk, ext, email in self.writer.find_customer_ids(ext_ids, emails):
            if ext:
                by_ext[ext] = pk
            if email:
                by_email[email] = pk
        missing: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        seen_ext: set[str] = set()
        seen_email: set[str] = set()
        for row in rows:
            ext, email = row.order.get("customer_external_id"), row.order.get("customer_email")
            if (ext and ext in by_ext) or (email and email in by_email):
                continue
            if (ext and ext in seen_ext) or (not ext and email in seen_email):
                continue
            if email in seen_email:  # the address already goes to another new customer
                email = None
            missing[ext, email] = {**CUSTOMER_DEFAULTS, "external_id": ext, "email": email,
                                   "attributes": {}}
            seen_ext.add(ext)
            seen_email.add(email)
        if missing:
            states = list(missing.values())
            ids = self.writer.insert_customers(states, return_ids=True)
            for state, pk in zip(states, ids, strict=True):
                if state["external_id"]:
                    by_ext[state["external_id"]] = pk
                if state["email"]:
                    by_email.setdefault(state["email"], pk)
            result.customers = result.customers + Counts(created=len(states))
        found = []
        for row in rows:
            ext, email = row.order.get("customer_external_id"), row.order.get("customer_email")
            found.append((by_ext.get(ext) if ext else None)
                         or (by_email.get(email) if email else None))
        return found


def _merge_customer(state: dict[str, Any], row: ParsedRow) -> None:
    """Apply a row's non-empty values to a customer's state (without mutating its dicts)."""
    values = row.customer
    state.update(values)
    stored = state["attributes"]
    if row.customer_attributes:
        state["attributes"] = {**stored, **row.customer_attributes}
    if "birth_date" in values:
        if ESTIMATED in state["attributes"]:
            state["attributes"] = {k: v for k, v in state["attributes"].items() if k != ESTIMATED}
    elif row.birth_date_estimate and (state["birth_date"] is None or stored.get(ESTIMATED)):
        _estimate_birth_date(state, row.birth_date_estimate)


def _estimate_birth_date(state: dict[str, Any], estimate: date) -> None:
    """Use a birth date estimated from an age, and flag it as such in the attributes."""
    state["birth_date"] = estimate
    state["attributes"] = {**state["attributes"], ESTIMATED: True}
