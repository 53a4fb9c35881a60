"""Email consent: every change recorded (time, source, actor), one service for all callers.

Callers (admin, API, import, bulk API, unsubscribe, complaints, sign-up) call one of:

- :func:`set_consent` to change a customer's consent and record it;
- :func:`record_consent_change` after saving a customer whose consent may have changed;
- :func:`record_withdrawal` when a customer unsubscribes or complains;
- :func:`record_upserted` from the import's batch upsert.

An address that was erased (its keyed hash is in :class:`ErasedAddress`) gets no
consent from an import, the API or the admin: only a confirmed double opt-in sign-up
is new consent, and it takes the address off the erased list.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ..conf import crm_settings
from ..models import ConsentStatus, Customer, normalize_email
from .models import ConsentRecord, ConsentSource, ErasedAddress

WITHHELD_NOTE = "withheld: the address was erased; only a confirmed sign-up is new consent"


# --- the erased-address hashes -----------------------------------------------------------

def _hash_key() -> bytes:
    key = crm_settings.ERASURE_HASH_KEY
    if key:
        return key.encode() if isinstance(key, str) else bytes(key)
    return salted_hmac("rulecast.crm.erasure", "address-hash-key", algorithm="sha256").digest()


def address_digest(email: str) -> str:
    """The keyed hash (HMAC-SHA256, hex) of a normalised address."""
    normalised = normalize_email(email) or ""
    return hmac.new(_hash_key(), normalised.encode(), hashlib.sha256).hexdigest()


def erased_digests(emails: Iterable[str]) -> set[str]:
    """The normalised addresses among ``emails`` that were erased."""
    if not ErasedAddress.objects.exists():
        return set()
    by_digest = {address_digest(e): normalize_email(e) for e in emails if e}
    if not by_digest:
        return set()
    found = ErasedAddress.objects.filter(digest__in=by_digest).values_list("digest", flat=True)
    return {by_digest[digest] for digest in found}


def is_erased_address(email: str | None) -> bool:
    return bool(email) and bool(erased_digests([email]))


# --- who is acting (for callers that cannot pass it down, e.g. the bulk API) ----------

@dataclass(frozen=True)
class Acting:
    source: str = ConsentSource.IMPORT
    actor: Any = None


_acting: contextvars.ContextVar[Acting | None] = contextvars.ContextVar(
    "crm_consent_acting", default=None)


@contextlib.contextmanager
def acting(*, source: str, actor: Any = None) -> Iterator[None]:
    """Consent changes made inside are recorded with this source and actor."""
    token = _acting.set(Acting(source, _user(actor)))
    try:
        yield
    finally:
        _acting.reset(token)


def _user(actor: Any) -> Any:
    """A saved, authenticated user, else None (anonymous users are not actors)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor if getattr(actor, "pk", None) else None


# --- the services ------------------------------------------------------------------------

def set_consent(*, customer: Customer, status: str, source: str, actor: Any = None,
                note: str = "", at: datetime | None = None) -> ConsentRecord | None:
    """Change a customer's consent and record it; None when nothing changed.

    A grant to an erased address is withheld (recorded as such) unless it comes from
    a confirmed sign-up, which takes the address off the erased list.
    """
    at = at or timezone.now()
    if status == ConsentStatus.GRANTED and customer.email:
        if source == ConsentSource.SIGNUP_FORM:
            ErasedAddress.objects.filter(digest=address_digest(customer.email)).delete()
        elif is_erased_address(customer.email):
            status, note = ConsentStatus.WITHDRAWN, WITHHELD_NOTE
    if status == customer.consent_status and not note:
        return None
    customer.consent_status, customer.consent_at = status, at
    customer.consent_source = ConsentSource(source).value  # a stable code, not a translation
    Customer.objects.filter(pk=customer.pk).update(
        consent_status=status, consent_at=at, consent_source=customer.consent_source,
        updated_at=at,
    )
    return ConsentRecord.objects.create(customer=customer, status=status, source=source,
                                        actor=_user(actor), occurred_at=at, note=note[:200])


def record_consent_change(*, customer: Customer, previous: str | None, source: str,
                          actor: Any = None) -> ConsentRecord | None:
    """Record a consent change a save already made (admin, API); withhold erased grants.

    ``previous`` is the status before the save (None for a new customer).
    """
    status = customer.consent_status
    if status == ConsentStatus.GRANTED and is_erased_address(customer.email):
        return set_consent(customer=customer, status=ConsentStatus.WITHDRAWN, source=source,
                           actor=actor, note=WITHHELD_NOTE)
    if status == (previous or ConsentStatus.UNKNOWN):
        return None
    # The time of the change (the customer's own consent_at may be an earlier agreement).
    return ConsentRecord.objects.create(
        customer=customer, status=status, source=source, actor=_user(actor),
        occurred_at=timezone.now(),
    )


def record_withdrawal(*, source: str, customer_ids: Iterable[int] = (),
                      email: str | None = None, note: str = "") -> int:
    """Record that customers (by id, or by address) unsubscribed or complained.

    A customer whose last record is already this withdrawal gets no second one, so
    repeating an unsubscribe records it once.
    """
    query = Q(pk__in=[pk for pk in customer_ids if pk is not None])
    if email:
        query |= Q(email=normalize_email(email))
    now = timezone.now()
    records = []
    for customer in Customer.objects.filter(query).only("pk"):
        last = ConsentRecord.objects.filter(customer=customer).order_by(
            "-occurred_at", "-pk").values_list("status", "source").first()
        if last != (ConsentStatus.WITHDRAWN, source):
            records.append(ConsentRecord(customer=customer, status=ConsentStatus.WITHDRAWN,
                                         source=source, occurred_at=now, note=note[:200]))
    ConsentRecord.objects.bulk_create(records)
    return len(records)


def record_upserted(records: Iterable[Any]) -> int:
    """Record the consent changes of a batch the import (or bulk API) just wrote.

    ``records`` have ``id`` (None for new customers whose ids were not returned),
    ``original`` (stored values or None) and ``state`` (the values written). Grants to
    erased addresses are withheld (set to withdrawn). Source and actor come from
    :func:`acting` (an import when unset).
    """
    changed = [r for r in records if _status_changed(r)]
    if not changed:
        return 0
    granted_emails = [r.state.get("email") for r in changed
                      if r.state.get("consent_status") == ConsentStatus.GRANTED]
    withheld = erased_digests(e for e in granted_emails if e)
    now, acting_now = timezone.now(), _acting.get() or Acting()
    if withheld:
        Customer.objects.filter(email__in=withheld).update(
            consent_status=ConsentStatus.WITHDRAWN, consent_source=ConsentSource.ERASURE.value,
            consent_at=now, updated_at=now,
        )
    rows = []  # (how the customer is found, the key, status, note)
    for record in changed:
        state = record.state
        if state.get("email") in withheld:
            status, note = ConsentStatus.WITHDRAWN, WITHHELD_NOTE
        else:
            status, note = state["consent_status"], ""
        if record.id is not None:
            rows.append(("id", record.id, status, note))
        elif state.get("email"):
            rows.append(("email", state["email"], status, note))
        elif state.get("external_id"):
            rows.append(("external_id", state["external_id"], status, note))
    actor_id = getattr(acting_now.actor, "pk", None)
    if connection.vendor == "postgresql":
        return _insert_postgres(rows, acting_now.source, actor_id, now)
    ids = _ids(rows)
    entries = [ConsentRecord(customer_id=pk, occurred_at=now, source=acting_now.source,
                             actor_id=actor_id, status=status, note=note)
               for (_, _, status, note), pk in zip(rows, ids, strict=True) if pk is not None]
    ConsentRecord.objects.bulk_create(entries)
    return len(entries)


class _Created:
    """A customer just created, as :func:`record_upserted` reads it."""

    __slots__ = ("id", "original", "state")

    def __init__(self, pk: int, status: str, email: str | None) -> None:
        self.id, self.original = pk, None
        self.state = {"consent_status": status, "email": email}


def record_created(ids: Sequence[int]) -> int:
    """Record the consent of customers an import just created (on PostgreSQL), as
    :func:`record_upserted` does for new customers: their stored status, when known.

    One ``INSERT ... SELECT`` from the customers themselves (``ids`` a range: no list
    sent at all), so that a million new customers cost no Python object each. While
    erased addresses exist, the customers are read back and go through
    :func:`record_upserted`, which withholds their grants.
    """
    if not ids:
        return 0
    table, customers = ConsentRecord._meta.db_table, Customer._meta.db_table
    if isinstance(ids, range) and ids.step == 1:
        where, key = "c.id BETWEEN %s AND %s", [ids[0], ids[-1]]
    else:
        where, key = "c.id = ANY(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"]
    if ErasedAddress.objects.exists():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT c.id, c.consent_status, c.email FROM {customers} c "
                           f"WHERE {where} AND c.consent_status <> %s",
                           [*key, ConsentStatus.UNKNOWN.value])
            return record_upserted([_Created(*row) for row in cursor.fetchall()])
    acting_now = _acting.get() or Acting()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (customer_id, status, source, actor_id, occurred_at, note) "
            f"SELECT c.id, c.consent_status, %s, %s, %s, '' FROM {customers} c "
            f"WHERE {where} AND c.consent_status <> %s",
            [acting_now.source, getattr(acting_now.actor, "pk", None), timezone.now(), *key,
             ConsentStatus.UNKNOWN.value],
        )
        return cursor.rowcount


def _insert_postgres(rows: list[tuple], source: str, actor_id: int | None,
                     now: datetime) -> int:
    """One ``INSERT ... SELECT`` per kind of key, status and note (an import's batch has
    two or three), the ids found by the database: an import of a million customers must
    not fetch them back, nor send a status and a note per row."""
    table, customers = ConsentRecord._meta.db_table, Customer._meta.db_table
    groups: dict[tuple[str, str, str], list] = {}
    for kind, key, status, note in rows:
        groups.setdefault((kind, status, note), []).append(key)
    written = 0
    with connection.cursor() as cursor:
        for (kind, status, note), keys in groups.items():
            if kind == "id":  # no join: the foreign key checks the ids
                sql = "SELECT v.key, %s, %s, %s, %s, %s FROM unnest(%s::bigint[]) AS v(key)"
            else:
                sql = ("SELECT c.id, %s, %s, %s, %s, %s "
                       f"FROM unnest(%s::text[]) AS v(key) JOIN {customers} c ON c.{kind} = v.key")
            cursor.execute(
                f"INSERT INTO {table} (customer_id, status, source, actor_id, occurred_at, note) "
                + sql, [status, source, actor_id, now, note, keys],
            )
            written += cursor.rowcount
    return written


def _status_changed(record: Any) -> bool:
    status = record.state.get("consent_status", ConsentStatus.UNKNOWN)
    if record.original is None:
        return status != ConsentStatus.UNKNOWN
    return status != record.original.get("consent_status")


def _ids(rows: list[tuple]) -> list[int | None]:
    """Each row's customer id: given, or looked up by email or external id."""
    emails = {row[1] for row in rows if row[0] == "email"}
    exts = {row[1] for row in rows if row[0] == "external_id"}
    found: dict[tuple[str, Any], int] = {}
    if emails or exts:
        for pk, email, ext in Customer.objects.filter(
                Q(email__in=emails) | Q(external_id__in=exts)).values_list(
                "pk", "email", "external_id"):
            found[("email", email)] = pk
            found[("external_id", ext)] = pk
    return [row[1] if row[0] == "id" else found.get((row[0], row[1])) for row in rows]
