"""A large first import into an empty customers table: one transaction, the unique
constraints set aside.

Maintaining the UNIQUE indexes on ``email`` and ``external_id`` row by row while COPY
loads a million customers costs more than the rest of the load; building them once at
the end is far cheaper. Without them the database cannot tell the import that a row's
customer is already stored, so the import tells itself: the table was empty, nobody
else may write it meanwhile, so a row meets a stored customer only when an earlier
batch of the same file had its external id or email. Each batch's keys are checked
against the keys written so far (64-bit hashes, a few MB for a million rows); at the
first batch that meets one (or a hash collision: then merely a bit slower), the
constraints are added back and the import goes on as any import does (a failed
insert in a savepoint, then the upsert with lookups), with the same rows merged, the
same errors on the same lines.

Everything happens in one transaction of the writer's connection, which takes
ACCESS EXCLUSIVE on the customers table: dropping a constraint needs that lock anyway,
and a lock lasts until the transaction ends; a weaker one (SHARE ROW EXCLUSIVE, that
lets others read) would have to be taken by a transaction that commits each batch,
and could not be. So until the import ends, other sessions wait to read or write
customers; and if the import dies or the database goes away, the transaction rolls
back whole: the table is empty again, with all its constraints (DDL is
transactional), and nothing is left to repair. A batch that fails otherwise ends the
import as usual; the batches before it are committed, constraints back.
"""

from __future__ import annotations

import numpy as np
from django.db import connection, transaction

from ..models import Customer
from .columns import ColumnRows
from .rows import ParsedRow
from .writers import PostgresCopyWriter

# Wait this long for the lock (other sessions reading customers), else import as usual.
LOCK_TIMEOUT = "2s"
_KEYS = ("external_id", "email")


#: Bits of the filter in front of the exact check: 4 MB, passing about one key in 16
#: at two million keys seen (an external id and an email for each of a million rows).
_FILTER_BITS = 1 << 25


class _Seen:
    """A set of 64-bit hashes: a sorted array, and the recent batches' arrays merged
    into it now and then (a million keys never sorted a hundred times over). A bit
    filter in front tells most new keys apart at once, so only the few it lets
    through are looked up in the arrays (at a million keys, looking up every key of
    every batch cost the writer seconds)."""

    def __init__(self) -> None:
        self.bits = np.zeros(_FILTER_BITS // 8, np.uint8)
        self.sorted = np.empty(0, np.int64)
        self.recent: list[np.ndarray] = []
        self.recent_size = 0

    @staticmethod
    def _slots(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slots = keys & (_FILTER_BITS - 1)
        return slots >> 3, np.left_shift(1, slots & 7).astype(np.uint8)

    def meets(self, keys: np.ndarray) -> bool:
        cells, masks = self._slots(keys)
        maybe = np.sort(keys[(self.bits[cells] & masks) != 0])
        if not len(maybe):
            return False
        for seen in (self.sorted, *self.recent):
            if len(seen):
                at = np.searchsorted(seen, maybe).clip(max=len(seen) - 1)
                if (seen[at] == maybe).any():
                    return True
        return False

    def add(self, keys: np.ndarray) -> None:
        cells, masks = self._slots(keys)
        np.bitwise_or.at(self.bits, cells, masks)
        self.recent.append(np.sort(keys))
        self.recent_size += len(keys)
        if len(self.recent) > 8 and self.recent_size * 4 > len(self.sorted):
            merged = np.concatenate([self.sorted, *self.recent])
            merged.sort()  # in place: one copy of the keys more, not two
            self.sorted = merged
            self.recent, self.recent_size = [], 0


def _keys(rows: ColumnRows | list[ParsedRow], name: str) -> np.ndarray:
    """The hashes of a batch's non-empty values of ``name`` (column values, and the
    values of the rows the row parser read)."""
    parsed = filter(None, rows.parsed) if isinstance(rows, ColumnRows) else rows
    values = [row.customer.get(name) for row in parsed]
    if isinstance(rows, ColumnRows):
        values += rows.fields.get(name, ())
    return np.fromiter(map(hash, filter(None, values)), np.int64)


class FirstLoad:
    """A first import: in the reader's thread :meth:`meets_earlier` as each batch is
    handed over; in the writer's thread :meth:`begin` before the first batch,
    :meth:`check` before each, :meth:`end` after the last."""

    def __init__(self, writer: PostgresCopyWriter | None = None) -> None:
        self.writer = writer  # told while the table is locked (ids drawn at once)
        self.atomic: transaction.Atomic | None = None
        self.dropped: list[tuple[str, str]] = []  # (name, definition) to add back
        # External ids and emails in one set: an external id equal to another
        # customer's email only adds the constraints back early. The reader's alone.
        self.seen: _Seen | None = _Seen()

    @property
    def active(self) -> bool:
        """True while the constraints are set aside."""
        return bool(self.dropped)

    def begin(self) -> bool:
        """Open the transaction, lock the table and, if it is empty, set the unique
        constraints aside. False (and no transaction) when the table is busy or holds
        customers: then the import runs as usual."""
        table = connection.ops.quote_name(Customer._meta.db_table)
        self.atomic = transaction.atomic()
        try:
            self.atomic.__enter__()
        except Exception:  # the database is away: the first batch will say so
            self.atomic = None
            return False
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
                cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
                empty = not cursor.fetchone()[0]
                if empty:
                    cursor.execute(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = 'u' ORDER BY conname",
                        [table])
                    self.dropped = cursor.fetchall()
                    for name, _definition in self.dropped:
                        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT "
                                       f"{connection.ops.quote_name(name)}")
                    cursor.execute("SET LOCAL lock_timeout = DEFAULT")
        except Exception:
            self._close(rollback=True)
            empty = False
        if not empty or not self.dropped:
            self._close(rollback=True)
            self.dropped = []
            return False
        if self.writer is not None:
            self.writer.customers_locked = True
        return True

    def meets_earlier(self, rows: ColumnRows | list[ParsedRow]) -> bool:
        """Whether a batch may meet an earlier batch's customer (then every later one is
        said to); else its keys are remembered. The file alone tells, so the reader
        works it out while the writer, the import's slower thread, writes the batch
        before (hashing a million rows' keys was seconds of the writer's time)."""
        if self.seen is None:
            return True
        keys = np.concatenate([_keys(rows, name) for name in _KEYS])
        if self.seen.meets(keys):
            self.seen = None
            return True
        self.seen.add(keys)
        return False

    def check(self, meets_earlier: bool) -> None:
        """Before a batch: add the constraints back if it may meet an earlier batch's
        customer (:meth:`meets_earlier`)."""
        if self.active and meets_earlier:
            self.restore()

    def restore(self) -> None:
        """Add the constraints back (one index build each)."""
        if not self.active:
            return
        table = connection.ops.quote_name(Customer._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('maintenance_work_mem', '256MB', true)")
            for name, definition in self.dropped:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT "
                               f"{connection.ops.quote_name(name)} {definition}")
        self.dropped = []

    def end(self, *, failed: bool) -> bool:
        """Add the constraints back and commit; True when committed. Rolled back (False)
        when the import crashed or the constraints cannot be added back."""
        if self.atomic is None:
            return False
        if failed:
            self._close(rollback=True)
            return False
        try:
            self.restore()
        except Exception:
            self._close(rollback=True)
            raise
        self._close(rollback=False)
        return True

    def _close(self, *, rollback: bool) -> None:
        if self.writer is not None:
            self.writer.customers_locked = False
        atomic, self.atomic = self.atomic, None
        if atomic is None:
            return
        if rollback:
            transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
