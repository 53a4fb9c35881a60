"""A delivery's state changes while it is sent, each one committed UPDATE.

    pending --reserve--> reserved --claim--> sending --> sent / failed / pending (retry)
                            |                   |
                            +--release----------+--unclaim (never attempted)--> pending

A batch *reserves* up to BATCH_SIZE due deliveries (rows chosen with ``FOR UPDATE
SKIP LOCKED`` where the database has it; SQLite takes its write lock first), so two
workers, or the same batch run twice, never hold the same delivery. Reserved means
not attempted: the watchdog puts a dead batch's reservations back to ``pending``.

A batch then *claims* CLAIM_SIZE reserved deliveries at a time (``sending``), in one
committed UPDATE that re-checks that the campaign is still sending, the customer is
still contactable and the address is not suppressed. Only then are they sent; they
are marked ``sent`` after, by the statement that claims the next group (one round
trip per group: the previous group's "sent" and the next group's claim commit
together). A worker that dies in between leaves them ``sending``, and the watchdog
records them as ``unknown``: they may or may not have gone out.

Durability. The reservation is a durable commit (flushed to disk before it returns),
and with it the batch writes a *marker* row (``BatchMarker``) to a table PostgreSQL
does not log: crash recovery empties it. The claims and "sent" records after it are
committed asynchronously (``synchronous_commit = off``: no disk flush per message).
Why that keeps every message from going out twice:

- The worker dies, the database lives: an asynchronous commit is visible to every
  session the moment it returns, so the watchdog sees exactly what the batch
  recorded: ``sending`` (in flight, at most CLAIM_SIZE) becomes ``unknown``,
  ``reserved`` (never attempted) goes back to ``pending``.
- The database crashes: the last claims before the crash may be lost, so a
  ``reserved`` row of that batch may have been sent. Its marker is gone too, and
  the watchdog records every ``reserved`` or ``sending`` row of a batch without a
  marker as ``unknown``, never ``pending``. The reservation itself, being durable,
  cannot be lost (rows would be ``pending`` again), and a marker present means no
  crash since the reservation, so no claim of that batch was lost. Claims and the
  batch's own release re-check the marker: a batch cannot go on past a crash.
- Nothing is sent on the strength of a lost commit: a message goes out only after
  its batch's durable reservation, and a durable commit flushes every asynchronous
  one before it (WAL is flushed in order). A watchdog decision lost in a crash
  leaves its rows in flight without a marker: ``unknown`` again. A clean shutdown
  flushes everything and keeps the markers.

A batch holds its reservations and claims on a *lease*: ``claimed_at`` is renewed
every LEASE_RENEWAL seconds while it runs (``renew``), and once SENDING_TIMEOUT has
passed without renewal its worker is taken for dead (``expire``). Claiming one
delivery at a time (CLAIM_SIZE 1) means a killed process leaves at most one message
``unknown``. A lease that lapses under a live but slow batch costs no duplicate: every
claim and "sent" re-checks the batch's token and the row's status.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, connection, connections, transaction
from django.db.models import CharField, Exists, F, Min, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat, Now
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from crm.models import Customer

from ..models import (
    BatchMarker,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Suppression,
)

_NO_ROW = 0  # an id no delivery has: pads a short group
_SENTINEL = -7_340_193_811  # never an id


class GroupUpdate:
    """``Delivery.objects.filter(pk__in=ids, ...).update(...)`` compiled once per batch.

    Building a Django query costs more than running it (about 1 ms for the claim with
    its three EXISTS), and a batch runs the same statement for each group of ids. So
    it is compiled with ``size`` sentinel ids, and each run binds the group's ids
    (padded with an id no row has). ``returning``: the ids changed (UPDATE ...
    RETURNING, in PostgreSQL and SQLite 3.35+), else how many. ``after(first)``
    runs ``first`` in the same statement (PostgreSQL), each with its own ids.
    """

    def __init__(self, queryset: QuerySet, values: dict, *, size: int,
                 returning: bool = False) -> None:
        sentinels = [_SENTINEL - k for k in range(size)]
        query = queryset.filter(pk__in=sentinels).query.chain(UpdateQuery)
        query.add_update_values(values)
        self.using = queryset.db
        sql, params = query.get_compiler(self.using).as_sql()
        if returning:
            sql += f" RETURNING {connection.ops.quote_name(Delivery._meta.pk.column)}"
        self.sql, self.params, self.returning = sql, list(params), returning
        # Per id list the statement takes: where each of its ids is bound.
        self.slots = [[self.params.index(sentinel) for sentinel in sentinels]]

    def after(self, first: GroupUpdate) -> GroupUpdate:
        """One statement: ``first`` (in a WITH clause), then this one, which it returns.

        PostgreSQL runs a data-modifying WITH to completion whether or not it is read;
        the two must change different rows. ``run`` takes ``first``'s ids first.
        """
        combined = object.__new__(GroupUpdate)
        combined.using, combined.returning = self.using, self.returning
        combined.sql = f"WITH earlier AS ({first.sql}) {self.sql}"
        combined.params = first.params + self.params
        offset = len(first.params)
        combined.slots = [*first.slots,
                          *[[position + offset for position in slot] for slot in self.slots]]
        return combined

    def _bind(self, id_lists: Sequence[Sequence[int]]) -> list:
        params = list(self.params)
        for ids, positions in zip(id_lists, self.slots, strict=True):
            if len(ids) > len(positions):
                raise ValueError("more ids than the statement was compiled for")
            for k, position in enumerate(positions):
                params[position] = ids[k] if k < len(ids) else _NO_ROW
        return params

    def start(self, *id_lists: Sequence[int]) -> Callable[[], list[int] | int]:
        """Send the statement and return at once; the returned function waits for its
        result (call it before anything else uses the connection).

        So a batch renders a message and opens its SMTP envelope while the claim
        travels. PostgreSQL with psycopg 3 only; elsewhere it runs here and now.
        """
        db = connections[self.using]
        # Inside a transaction (tests) a statement psycopg deallocated on a rollback
        # could not be prepared again: run it here and now.
        if db.vendor != "postgresql" or not _prepares(db) or db.in_atomic_block:
            result = self.run(*id_lists)
            return lambda: result
        return _InFlight(db, self.sql, self._bind(id_lists), self.returning).result

    def run(self, *id_lists: Sequence[int]) -> list[int] | int:
        """Execute for ``ids`` (one list per statement combined; see ``after``).

        Outside a transaction it is one round trip, committed by itself; inside
        ``durable_commits`` that commit is on disk when it returns.
        """
        params = self._bind(id_lists)
        db = connections[self.using]
        prepared = _prepared_cursor(db)
        with prepared or db.cursor() as cursor:
            if prepared is not None:
                cursor.execute(self.sql, params, prepare=True)
            else:
                cursor.execute(self.sql, params)
            return [row[0] for row in cursor.fetchall()] if self.returning else cursor.rowcount


class _InFlight:
    """One statement sent on a Django connection's psycopg 3 connection, its result not
    yet read (libpq's asynchronous API, as a named server-side prepared statement).

    Nothing else may use the connection until ``result`` is called; libpq refuses a
    second command in the meantime ("another command is already in progress").
    """

    def __init__(self, db, sql: str, params: list, returning: bool) -> None:
        from psycopg import generators

        self.db, self.returning = db, returning
        self.conn = db.connection
        self.name = _statement_name(sql)
        self.query = _dollar_placeholders(sql)
        self.values = [_as_text(value) for value in params]
        self.done: list[int] | int | None = None
        prepared = _prepared_names(db)
        with db.wrap_database_errors:
            if self.name not in prepared:
                self._prepare()
                prepared.add(self.name)
            self.conn.pgconn.send_query_prepared(self.name, self.values)
            self.conn.wait(generators.send(self.conn.pgconn))

    def _prepare(self) -> None:
        from psycopg import errors, generators

        self.conn.pgconn.send_prepare(self.name, self.query)
        self.conn.wait(generators.send(self.conn.pgconn))
        try:
            self._check(self.conn.wait(generators.fetch_many(self.conn.pgconn)))
        except errors.DuplicatePreparedStatement:
            pass  # prepared on this session before we kept count

    def _check(self, results: list) -> list:
        from psycopg import errors, pq

        for res in results:
            if res.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(res, encoding=self.conn.info.encoding)
        return results

    def result(self) -> list[int] | int:
        if self.done is not None:
            return self.done
        from psycopg import errors, generators

        with self.db.wrap_database_errors:
            try:
                [res] = self._check(self.conn.wait(generators.fetch_many(self.conn.pgconn)))
            except errors.InvalidSqlStatementName:
                # Deallocated: psycopg sends DEALLOCATE ALL after a rollback. Outside a
                # transaction (see ``GroupUpdate.start``) nothing was done: again.
                _prepared_names(self.db).discard(self.name)
                self._prepare()
                _prepared_names(self.db).add(self.name)
                self.conn.pgconn.send_query_prepared(self.name, self.values)
                self.conn.wait(generators.send(self.conn.pgconn))
                [res] = self._check(self.conn.wait(generators.fetch_many(self.conn.pgconn)))
        if self.returning:
            self.done = [int(res.get_value(row, 0)) for row in range(res.ntuples)]
        else:
            self.done = int(res.command_tuples or 0)
        return self.done


def _statement_name(sql: str) -> bytes:
    return b"rc_" + hashlib.sha1(sql.encode()).hexdigest()[:24].encode()


def _dollar_placeholders(sql: str) -> bytes:
    """Django's ``%s`` placeholders as PostgreSQL's ``$1``, ``$2``, ..."""
    parts = sql.replace("%%", "\0").split("%s")
    if any("%" in part for part in parts):
        raise ValueError("unexpected % in SQL")
    numbered = parts[0] + "".join(f"${k}{part}" for k, part in enumerate(parts[1:], 1))
    return numbered.replace("\0", "%").encode()


def _as_text(value) -> bytes | None:
    """A parameter in PostgreSQL's text format (its type is inferred from the SQL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    return str(value).encode()


def _prepared_names(db) -> set[bytes]:
    """Statements ``_InFlight`` prepared on this database session (a new one starts empty)."""
    known = getattr(db, "_rulecast_prepared", None)
    if known is None or known[0] is not db.connection:
        known = (db.connection, set())
        db._rulecast_prepared = known
    return known[1]


def _prepares(db) -> bool:
    """Whether this connection may use server-side prepared statements (psycopg 3, with
    ``OPTIONS["prepare_threshold"]`` set: Django leaves them off for poolers' sake)."""
    raw = getattr(db, "connection", None)
    return getattr(raw, "prepare_threshold", None) is not None


@contextmanager
def _server_side(db):
    """A psycopg cursor binding parameters on the server, its errors as Django's."""
    import psycopg

    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        yield cursor


def _prepared_cursor(db):
    """A cursor whose statements PostgreSQL plans once per connection, or None.

    Planning a claim costs the server about ten times what running it does, and a
    batch runs the same claim once per message.
    """
    if db.vendor != "postgresql":
        return None
    db.ensure_connection()
    if not _prepares(db):
        return None
    return _server_side(db)


def _set_synchronous_commit(value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET synchronous_commit TO {value}")


@contextmanager
def durable_commits():
    """Inside a batch, every commit waits for PostgreSQL to flush it to disk.

    The reservation must be (see the module's "Durability"), and the watchdog's
    decisions should be. PostgreSQL's default already does this; a server configured
    with ``synchronous_commit = off`` does not, so the batch's session asks for it.
    Only the claims and "sent" records, inside ``asynchronous_attempts``, do not wait.
    """
    if connection.vendor != "postgresql":
        yield
        return
    _set_synchronous_commit("ON")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


@contextmanager
def asynchronous_attempts():
    """Inside: commits return without waiting for the disk (``synchronous_commit = off``).

    For a batch's claims, "sent" records and per-message outcomes after its durable
    reservation: a disk flush per message (1 to 8 ms) was most of a message's cost.
    Safe because a crash that loses them also empties the batch's marker (see the
    module's "Durability"). Commits are durable again on leaving.
    """
    if connection.vendor != "postgresql":
        yield
        return
    _set_synchronous_commit("OFF")
    try:
        yield
    except BaseException:
        # Keep the batch's own error; the next batch (and every reservation) asks for
        # durable commits again anyway.
        with suppress(DatabaseError):
            _set_synchronous_commit("ON")
        raise
    _set_synchronous_commit("ON")


def _marked(token_field: str = "claim_token") -> Exists:
    """The row's batch still has its marker: no database crash since it reserved."""
    return Exists(BatchMarker.objects.filter(token=OuterRef(token_field)))


def reserve(
    campaign_id: int, *, limit: int, only_ids: Sequence[int] | None = None,
) -> tuple[uuid.UUID, list[Delivery]]:
    """Reserve up to ``limit`` due pending deliveries for a new batch (committed)."""
    now = timezone.now()
    token = uuid.uuid4()
    due = Delivery.objects.filter(
        campaign_id=campaign_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
    ).order_by("pk")
    if only_ids is not None:
        due = due.filter(pk__in=list(only_ids))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # On disk before anything of this batch is sent, whatever the session or
            # server says: a lost reservation would make sent messages pending again.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO ON")
        if connection.features.has_select_for_update_skip_locked:
            # Lock the rows we take and skip those another batch is taking.
            ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
            chosen = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING)
        else:
            # SQLite: no row locks, but one UPDATE takes the database's write lock first.
            chosen = Delivery.objects.filter(pk__in=Subquery(due.values("pk")[:limit]),
                                             status=DeliveryStatus.PENDING)
        reserved = chosen.update(status=DeliveryStatus.RESERVED, claim_token=token,
                                 claimed_at=now)
        if reserved:
            BatchMarker.objects.create(token=token, created_at=now)
    if not reserved:
        return token, []
    deliveries = list(
        Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.RESERVED,
                                claim_token=token)
        .select_related("customer").order_by("pk")
    )
    return token, deliveries


def renew(token: uuid.UUID) -> int:
    """Renew a live batch's lease on what it reserved or claimed (its heartbeat)."""
    return Delivery.objects.filter(
        claim_token=token, status__in=[DeliveryStatus.RESERVED, DeliveryStatus.SENDING],
    ).update(claimed_at=timezone.now())


CRASHED = ("database restarted while this batch was sending (its attempt records may "
           "be lost): may or may not have gone out")


def expire(*, before: datetime, campaign_id: int | None = None) -> tuple[int, int]:
    """End leases not renewed since ``before``: (released to pending, recorded unknown).

    ``sending`` becomes ``unknown``. ``reserved`` goes back to ``pending`` while its
    batch's marker is there, and becomes ``unknown`` too when the marker is gone (the
    database crashed since: the claim that would say it was attempted may be lost).
    """
    lapsed = Delivery.objects.filter(claimed_at__lte=before)
    if campaign_id is not None:
        lapsed = lapsed.filter(campaign_id=campaign_id)
    in_flight = [DeliveryStatus.RESERVED, DeliveryStatus.SENDING]
    if campaign_id is not None and not lapsed.filter(status__in=in_flight).exists():
        return 0, 0  # the usual case at a batch's start: one read, no writes
    unknown = lapsed.filter(status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.UNKNOWN,
        last_error="worker lost while sending: may or may not have gone out")
    released = lapsed.filter(_marked(), status=DeliveryStatus.RESERVED).update(
        status=DeliveryStatus.PENDING, claim_token=None)
    unknown += lapsed.filter(~_marked(), status=DeliveryStatus.RESERVED).update(
        status=DeliveryStatus.UNKNOWN, last_error=CRASHED)
    # Markers of batches with nothing left in flight (killed, or expired above).
    holds = Delivery.objects.filter(claim_token=OuterRef("token"), status__in=in_flight)
    BatchMarker.objects.filter(created_at__lte=before).filter(~Exists(holds)).delete()
    return released, unknown


def oldest_lease(campaign_id: int) -> datetime | None:
    """When the oldest lease on this campaign's deliveries was last renewed."""
    return Delivery.objects.filter(
        campaign_id=campaign_id, status__in=[DeliveryStatus.RESERVED, DeliveryStatus.SENDING],
    ).aggregate(at=Min("claimed_at"))["at"]


def release(campaign_id: int, token: uuid.UUID) -> int:
    """Give back the deliveries a batch reserved but did not claim; drop its marker.

    Not after a database crash (the marker is gone): a claim the crash lost would
    look unclaimed; the watchdog records those rows as ``unknown`` instead.
    """
    with transaction.atomic():
        released = Delivery.objects.filter(
            _marked(), campaign_id=campaign_id, status=DeliveryStatus.RESERVED,
            claim_token=token,
        ).update(status=DeliveryStatus.PENDING, claim_token=None)
        BatchMarker.objects.filter(token=token).delete()
    return released


def message_id_of(delivery: Delivery, *, token: uuid.UUID, domain: str) -> str:
    """The Message-ID of this attempt: campaign, delivery and batch (unique per attempt)."""
    return f"<rc{delivery.campaign_id}.{delivery.pk}.{token.hex[:16]}@{domain}>"


@dataclass(frozen=True)
class Claimed:
    ids: set[int]
    skipped: int = 0
    stopped: bool = False  # the campaign is no longer sending (paused, cancelled)


class GroupClaims:
    """A batch's claim and sent statements, for groups of up to ``size`` deliveries."""

    def __init__(self, campaign_id: int, token: uuid.UUID, *, domain: str, size: int) -> None:
        self.campaign_id, self.token = campaign_id, token
        self.sending = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING)
        self.contactable = Exists(
            Customer.objects.contactable().filter(pk=OuterRef("customer_id")))
        self.suppressed = Exists(Suppression.objects.filter(address=OuterRef("address")))
        reserved = Delivery.objects.filter(status=DeliveryStatus.RESERVED, claim_token=token)
        # The marker: nothing is claimed after a database crash lost this batch's records.
        self.marker = BatchMarker.objects.filter(token=token)
        self._claim = GroupUpdate(
            reserved.filter(Exists(self.sending), Exists(self.marker), self.contactable,
                            ~self.suppressed),
            {"status": DeliveryStatus.SENDING, "claimed_at": Now(),
             "attempts": F("attempts") + 1,
             "message_id": Concat(Value(f"<rc{campaign_id}."), Cast("id", CharField()),
                                  Value(f".{token.hex[:16]}@{domain}>"),
                                  output_field=CharField())},
            size=size, returning=True,
        )
        self._sent = GroupUpdate(
            Delivery.objects.filter(status=DeliveryStatus.SENDING, claim_token=token),
            {"status": DeliveryStatus.SENT, "sent_at": Now(), "last_error": ""}, size=size,
        )
        # The previous group's "sent" and this group's claim in one statement.
        self._sent_then_claim = (self._claim.after(self._sent)
                                 if connection.vendor == "postgresql" else None)

    def claim(self, ids: Sequence[int], *, sent: Sequence[int] = ()) -> Claimed:
        """Claim reserved deliveries that may still go out (committed): ``sending``.

        ``sent``: the previous group's deliveries whose message went out, marked ``sent``
        in the same commit. Those refused because of consent or suppression are recorded
        as ``skipped``; while the campaign is not sending, or once the batch's marker is
        gone, nothing is claimed. The attempt's Message-ID (see ``message_id_of``) is
        stored with the claim.
        """
        return self.start(ids, sent=sent)()

    def start(self, ids: Sequence[int], *, sent: Sequence[int] = ()) -> Callable[[], Claimed]:
        """``claim``, sent now; the returned function waits for it (see ``GroupUpdate.start``).

        Call it before the connection is used for anything else, and before any of
        ``ids`` is sent: only the ids it returns are claimed.
        """
        if sent and self._sent_then_claim is not None:
            pending = self._sent_then_claim.start(sent, ids)
        else:
            if sent:
                self.mark_sent(sent)
            pending = self._claim.start(ids)
        outcome: list[Claimed] = []

        def claimed() -> Claimed:
            if not outcome:
                outcome.append(self._settle(ids, set(pending())))
            return outcome[0]

        return claimed

    def _settle(self, ids: Sequence[int], claimed: set[int]) -> Claimed:
        if len(claimed) == len(ids):
            return Claimed(claimed)
        skipped = Delivery.objects.filter(
            pk__in=list(ids), status=DeliveryStatus.RESERVED, claim_token=self.token,
        ).filter(~self.contactable | self.suppressed).update(
            status=DeliveryStatus.SKIPPED,
            last_error="skipped: no consent, unsubscribed or suppressed when sending",
        )
        return Claimed(claimed, skipped,
                       stopped=not self.sending.exists() or not self.marker.exists())

    def mark_sent(self, ids: Sequence[int]) -> int:
        """sending -> sent, for the deliveries whose message went out."""
        return self._sent.run(ids) if ids else 0


def unclaim(token: uuid.UUID, ids: Iterable[int]) -> int:
    """sending -> pending for claimed deliveries this live batch never attempted."""
    ids = list(ids)
    if not ids:
        return 0
    return Delivery.objects.filter(
        pk__in=ids, claim_token=token, status=DeliveryStatus.SENDING,
    ).update(status=DeliveryStatus.PENDING, claim_token=None, attempts=F("attempts") - 1,
             message_id="")


def finish(delivery: Delivery, token: uuid.UUID, status: str, **fields) -> int:
    """Move one claimed delivery out of ``sending`` (only if still this batch's)."""
    return Delivery.objects.filter(
        pk=delivery.pk, claim_token=token, status=DeliveryStatus.SENDING,
    ).update(status=status, **fields)
