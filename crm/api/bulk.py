"""Bulk upsert of customers, orders and events: all items or none.

Customers and orders go through the CSV import's batch upsert
(:class:`crm.importing.upsert.BatchUpsert`), so the API and a file import match records
the same way: a customer by external id, else by (normalised) email; an order by external
id. Fields an item leaves out keep their stored values, ``attributes`` (and an event's
``properties``) are merged into the stored ones, and records that would not change are
not written, so posting the same items twice creates and updates nothing.

Items come validated by the API's serializers (which also find the customer each order
or event names, and give its id as ``customer``); should an item still not be storable
(say its customer was deleted meanwhile), the whole request is refused
(:class:`BulkError`) and nothing is written.

Two requests creating the same new record at once: the second one's insert meets the
first one's row in a unique index; its transaction is then run again from the start
(up to ``CONFLICT_RETRIES`` times), finds the record and updates it, instead of failing.

Bulk writes send no ``post_save`` signals, so when anything was written the customers
concerned (the upserted ones; the owners, old and new, of upserted orders and events)
are announced once by ``crm.signals.customers_changed`` (segmentation listens and
refreshes their features and live memberships after the commit).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from ..importing.report import RowError
from ..importing.rows import ParsedRow
from ..importing.upsert import BatchUpsert
from ..importing.writers import get_writer
from ..models import Customer, Event, ImportKind, Order
from ..signals import customers_changed
from .serializers import CUSTOMER_FIELDS, ORDER_FIELDS

Errors = dict[str, dict[str, list[str]]]
EVENT_FIELDS = ("customer_id", "event_type", "occurred_at", "properties")
CONFLICT_RETRIES = 3


def retry_on_conflict(service: Callable[..., BulkResult]) -> Callable[..., BulkResult]:
    """Run ``service`` again, in a fresh transaction (or savepoint), when a concurrent
    request created one of its records first (an ``IntegrityError``)."""

    @functools.wraps(service)
    def run(*, items: list[dict[str, Any]]) -> BulkResult:
        for attempt in range(CONFLICT_RETRIES):
            try:
                with transaction.atomic():
                    return service(items=items)
            except IntegrityError:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    return run


@dataclass(frozen=True)
class BulkResult:
    """Records created, updated and left as they were; items repeating an earlier one."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0


class BulkError(Exception):
    """Some items cannot be stored; ``errors`` maps each one's index to its fields' reasons."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(f"{len(errors)} items refused")
        self.errors = errors


class _Refusals:
    def __init__(self) -> None:
        self.errors: Errors = defaultdict(lambda: defaultdict(list))

    def add(self, index: int, field: str, reason: str) -> None:
        self.errors[str(index)][field].append(reason)

    def add_row_error(self, error: RowError) -> None:
        self.add(error.line, error.column or "non_field_errors", error.reason)

    def raise_any(self) -> None:
        if self.errors:
            raise BulkError({index: dict(fields) for index, fields in self.errors.items()})


@retry_on_conflict
def upsert_customers(*, items: list[dict[str, Any]]) -> BulkResult:
    """Create or update customers matched by external id, else by email."""
    rows = []
    for index, item in enumerate(items):
        values = {key: item[key] for key in CUSTOMER_FIELDS[:-1] if key in item}
        for key in ("external_id", "email"):
            if not values.get(key):
                values.pop(key, None)
        rows.append(ParsedRow(index, values, dict(item.get("attributes") or {}), {}, {}))
    refusals = _Refusals()
    with transaction.atomic():
        upsert = BatchUpsert(ImportKind.CUSTOMERS, get_writer(), refusals.add_row_error, {})
        result = upsert(rows)
        refusals.raise_any()
        counts = result.customers
        if counts.written:
            refresh_segments_later(_customer_ids(rows))
    return BulkResult(counts.created, counts.updated, counts.unchanged, result.duplicates)


@retry_on_conflict
def upsert_orders(*, items: list[dict[str, Any]]) -> BulkResult:
    """Create or update orders matched by external id; ``customer`` is each one's id."""
    refusals = _Refusals()
    with transaction.atomic():
        keys = _customer_keys(items, refusals)
        rows = []
        for index, item in enumerate(items):
            values = {key: item[key] for key in ORDER_FIELDS[:-1] if key in item}
            # The batch upsert finds the customer again, by a key it knows.
            key, value = keys.get(item["customer"], ("", None))
            if value is None:
                continue
            values[key] = value
            rows.append(ParsedRow(index, {}, {}, values, dict(item.get("attributes") or {})))
        refusals.raise_any()
        previous_owners = set(
            Order.objects.filter(external_id__in={item["external_id"] for item in items})
            .values_list("customer_id", flat=True)
        )
        upsert = BatchUpsert(ImportKind.ORDERS, get_writer(), refusals.add_row_error, {})
        result = upsert(rows)
        refusals.raise_any()
        counts = result.orders
        if counts.written:
            refresh_segments_later(previous_owners | {item["customer"] for item in items})
    return BulkResult(counts.created, counts.updated, counts.unchanged, result.duplicates)


@retry_on_conflict
def upsert_events(*, items: list[dict[str, Any]]) -> BulkResult:
    """Create or update events matched by external id; ``customer`` is each one's id."""
    refusals = _Refusals()
    with transaction.atomic():
        _customer_keys(items, refusals)
        refusals.raise_any()
        stored = {
            event.external_id: event
            for event in Event.objects.filter(external_id__in={i["external_id"] for i in items})
        }
        states: dict[str, dict[str, Any]] = {}
        duplicates = 0
        for item in items:
            external_id = item["external_id"]
            state = states.get(external_id)
            if state is not None:
                duplicates += 1
            elif external_id in stored:
                event = stored[external_id]
                state = {name: getattr(event, name) for name in EVENT_FIELDS}
            else:
                state = {"properties": {}}
            states[external_id] = {
                **state, "customer_id": item["customer"], "event_type": item["event_type"],
                "occurred_at": item["occurred_at"],
                "properties": {**state["properties"], **item.get("properties", {})},
            }
        new, changed, touched = [], [], set()
        for external_id, state in states.items():
            event = stored.get(external_id)
            if event is None:
                new.append(Event(external_id=external_id, **state))
                touched.add(state["customer_id"])
            elif any(getattr(event, name) != state[name] for name in EVENT_FIELDS):
                touched.update({event.customer_id, state["customer_id"]})
                for name in EVENT_FIELDS:
                    setattr(event, name, state[name])
                changed.append(event)
        Event.objects.bulk_create(new, batch_size=500)
        Event.objects.bulk_update(changed, list(EVENT_FIELDS), batch_size=500)
        refresh_segments_later(touched)
    return BulkResult(len(new), len(changed), len(states) - len(new) - len(changed), duplicates)


def _customer_keys(
    items: list[dict[str, Any]], refusals: _Refusals
) -> dict[int, tuple[str, str]]:
    """Each named customer's key for the batch upsert (external id, else email); customers
    gone since the items were validated are refused."""
    keys = {
        pk: ("customer_external_id", ext) if ext else ("customer_email", email)
        for pk, ext, email in Customer.objects.filter(
            pk__in={item["customer"] for item in items}
        ).values_list("pk", "external_id", "email")
    }
    for index, item in enumerate(items):
        if item["customer"] not in keys:
            refusals.add(index, "customer", "No customer has this id.")
    return keys


def _customer_ids(rows: list[ParsedRow]) -> set[int]:
    ext_ids = {row.customer["external_id"] for row in rows if "external_id" in row.customer}
    emails = {row.customer["email"] for row in rows if "email" in row.customer}
    return set(
        Customer.objects.filter(Q(external_id__in=ext_ids) | Q(email__in=emails))
        .values_list("pk", flat=True)
    )


def refresh_segments_later(customer_ids: Iterable[int]) -> None:
    """Announce that these customers changed (``customers_changed``, once per request)."""
    ids = {pk for pk in customer_ids if pk is not None}
    if ids:
        customers_changed.send(sender=Customer, customer_ids=ids)
