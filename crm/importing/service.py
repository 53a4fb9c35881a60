"""``import_csv``: read a CSV file and upsert its customers and/or orders in batches."""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connection, connections, reset_queries, transaction
from django.db.models import Count, Max, Min

from ..conf import crm_settings
from ..models import Customer, ImportKind
from ..signals import customers_changed
from . import indexes
from .columns import ColumnParser, ColumnRows
from .firstload import FirstLoad
from .mapping import ATTRIBUTES, ImportMapping, headerless_names, plan_columns
from .reading import ImportFileError, MalformedCsv, open_csv
from .report import Batch, BatchFailure, Counts, ImportReport, RowError
from .rows import ParsedRow, RowParser
from .upsert import BatchResult, BatchUpsert
from .writers import get_writer


def import_csv(
    *,
    source: BinaryIO | Path | str,
    kind: ImportKind | str,
    mapping: ImportMapping | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    currency_rates: Mapping[str, Decimal | str] | None = None,
    on_progress: Callable[[int], None] | None = None,
    header: Sequence[str] | None = None,
) -> ImportReport:
    """Import customers, orders or both from a CSV file (a path or a binary stream).

    Rows are read, validated and upserted in batches, each in its own transaction;
    bad rows are reported and skipped. If a batch fails (say the database goes away)
    it is rolled back whole and the import stops; the report says which batches were
    committed. A dry run does all the work in a transaction that is rolled back.

    Amounts must be in the shop's currency (``DEFAULT_CURRENCY``): a row in another
    one is a row error, unless ``currency_rates`` (default: the ``CURRENCY_RATES``
    setting) gives its rate into the shop's currency. ``on_progress`` is called with
    the number of rows read after each committed batch. ``header`` names the columns
    of a file without a header line; an orders file whose first line is a record
    (numbers and dates only) has them named from their values (date, amount, customer,
    items: see :func:`~crm.importing.mapping.headerless_names`), unless ``mapping``
    maps its columns by place (``column_1``...). After an import that wrote
    anything, :data:`crm.signals.customers_changed` is sent with the customers concerned.
    Raises :class:`~crm.importing.ImportFileError` when the file cannot be read at all.
    """
    kind = ImportKind(kind)
    rates = _rates(crm_settings.CURRENCY_RATES if currency_rates is None else currency_rates)
    options = (kind, mapping, dry_run, batch_size, encoding, delimiter, rates, on_progress,
               header)
    if isinstance(source, (str, Path)):
        with open(source, "rb") as stream:
            return _import(stream, *options)
    return _import(source, *options)


def _rates(rates: Mapping[str, Decimal | str]) -> dict[str, Decimal]:
    try:
        return {code.strip().upper(): Decimal(str(rate)) for code, rate in rates.items()}
    except (ArithmeticError, AttributeError) as exc:
        raise ImportFileError(f"exchange rates must be numbers by currency code ({exc})"
                              ) from None


def _import(stream, kind, mapping, dry_run, batch_size, encoding, delimiter, rates,
            on_progress, header) -> ImportReport:
    estimated_rows = None if dry_run else indexes.estimate_rows(stream)
    csv_file = open_csv(stream, encoding=encoding, delimiter=delimiter, header=header)
    column_names = "header" if csv_file.header_line else "given" if header else "place"
    if column_names == "place" and not (mapping and mapping.columns):
        csv_file.header, column_names = headerless_names(csv_file.sample, kind), "values"
    columns = plan_columns(csv_file.header, kind, mapping)
    errors = _Errors(crm_settings.IMPORT_MAX_REPORTED_ERRORS)
    parser = RowParser(
        columns, kind, width=len(csv_file.header),
        date_format=mapping.date_format if mapping else "",
        encoding=csv_file.encoding, currency=crm_settings.DEFAULT_CURRENCY, rates=rates,
        on_error=errors.add,
    )
    headers = {c.target.field: c.header for c in columns if c.target.field != ATTRIBUTES}
    writer = get_writer()
    upsert = BatchUpsert(kind, writer, errors.add, headers, order_lines=True)
    column_parser = None
    if (crm_settings.IMPORT_COLUMNS and hasattr(writer, "insert_customer_columns")
            and ColumnParser.supports(kind, columns)):
        column_parser = ColumnParser(parser, columns, tz=parser.tz,
                                     date_format=mapping.date_format if mapping else "")
    reading = _Reading(csv_file, parser, errors, column_parser)
    batch_size = batch_size or (crm_settings.IMPORT_COLUMN_BATCH_SIZE if column_parser
                                else crm_settings.IMPORT_BATCH_SIZE)

    # A second thread writes while the next batch is parsed, unless the caller's
    # transaction (or a dry run's) must see the writes.
    threaded = (crm_settings.IMPORT_WRITER_THREAD and not dry_run
                and not connection.in_atomic_block)
    first_load = None
    if threaded and column_parser is not None and _first_load(estimated_rows):
        first_load = FirstLoad(writer)
    committer = (_ThreadedCommitter(upsert, on_progress, first_load) if threaded
                 else _Committer(upsert, on_progress))
    outer = transaction.atomic() if dry_run else contextlib.nullcontext()
    newest_customer = Customer.objects.aggregate(newest=Max("pk"))["newest"] or 0
    set_aside = indexes.set_aside_for(kind, estimated_rows)
    with outer, _fewer_collections(), set_aside:
        try:
            for rows in reading.batches(batch_size):
                if not committer.submit(rows):
                    break
        finally:
            committer.close()
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run and (committer.customers.written or committer.orders.written):
        # A customers file's new ids are not read back (COPY returns none): find them.
        unknown_ids = kind == ImportKind.CUSTOMERS and committer.customers.created
        _announce(committer.customer_ids, newest_customer if unknown_ids else None)

    return ImportReport(
        kind=kind.value,
        dry_run=dry_run,
        encoding=csv_file.encoding,
        delimiter=csv_file.delimiter,
        rows_read=reading.count,
        customers=committer.customers,
        orders=committer.orders,
        duplicates=committer.duplicates,
        order_lines=committer.order_lines,
        errors=tuple(sorted(errors.kept, key=lambda error: error.line)),
        error_count=errors.count,
        batches_committed=() if dry_run else tuple(committer.committed),
        failure=committer.failure,
        columns={c.header: _target_label(c.target) for c in columns},
        column_names=column_names,
    )


def _first_load(rows: int | None) -> bool:
    """Whether a customers file of about ``rows`` rows is a large first import (see
    :mod:`crm.importing.firstload`): the writer checks again under its lock."""
    threshold = crm_settings.IMPORT_FIRST_LOAD_ROWS
    return bool(connection.vendor == "postgresql" and threshold and rows is not None
                and rows >= threshold and not Customer.objects.exists())


@contextlib.contextmanager
def _fewer_collections(threshold: int = 50_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often, and over the import's objects only.

    An import allocates millions of short-lived objects (no cycles among them); with
    the default threshold the collector runs every 700 allocations and takes about a
    third of the import's time. The objects already there (Django, pandas, the apps'
    modules: hundreds of thousands) are frozen meanwhile, so that the collector's full
    passes do not walk them again and again (a quarter of the parsing time otherwise).
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], threshold), *old[1:])
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*old)


ANNOUNCE_CHUNK = 50_000


def _announce(customer_ids: set[int], created_after: int | None) -> None:
    """Send ``customers_changed`` with the customers the import wrote or gave orders,
    and those above ``created_after`` (new customers whose ids were not read back).
    Ids go in sets of at most ``ANNOUNCE_CHUNK``, so a million new customers never sit
    in memory at once; all in one transaction, so that a receiver acting on commit
    sees the whole import as one change (segmentation then refreshes everyone at once
    when the import changed most of the shop)."""
    with transaction.atomic():
        _announce_chunks(customer_ids, created_after)


def _announce_chunks(customer_ids: set[int], created_after: int | None) -> None:
    ids = iter(customer_ids)
    while chunk := set(islice(ids, ANNOUNCE_CHUNK)):
        customers_changed.send(sender=import_csv, customer_ids=chunk)
    if created_after is not None:
        new = Customer.objects.filter(pk__gt=created_after)
        span = new.aggregate(low=Min("pk"), high=Max("pk"), count=Count("pk"))
        if span["count"] and span["high"] - span["low"] + 1 == span["count"]:
            # Ids drawn in runs from the sequence: usually one run, announced from
            # its bounds rather than read back a million rows at a time.
            ids = iter(range(span["low"], span["high"] + 1))
        else:
            ids = new.order_by().values_list("pk", flat=True).iterator(
                chunk_size=ANNOUNCE_CHUNK)
        while chunk := set(islice(ids, ANNOUNCE_CHUNK)):
            customers_changed.send(sender=import_csv, customer_ids=chunk)


def _target_label(target) -> str:
    name = f"{ATTRIBUTES}.{target.key}" if target.field == ATTRIBUTES else target.field
    return f"{target.entity}.{name}"


class _Errors:
    """Collects row errors, keeping the first ``limit`` and counting all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[RowError] = []
        self.count = 0
        self.lock = threading.Lock()  # the reader and the writer thread both report

    def add(self, error: RowError) -> None:
        with self.lock:
            self.count += 1
            if len(self.kept) < self.limit:
                self.kept.append(error)


class _Reading:
    """The file's valid rows in batches; bad records are reported, a malformed one
    ends the reading."""

    def __init__(self, csv_file, parser: RowParser, errors: _Errors,
                 column_parser: ColumnParser | None = None) -> None:
        self.csv_file = csv_file
        self.parser = parser
        self.column_parser = column_parser
        self.errors = errors
        self.count = 0

    def batches(self, size: int) -> Iterator[list[ParsedRow] | ColumnRows]:
        """Batches of about ``size`` rows. A run of rows of one customer is not split
        (up to twice the size), so a file grouped by customer re-imports unchanged."""
        if self.column_parser is not None:
            yield from self._column_batches(size)
            return
        parse = self.parser.parse
        batch: list[ParsedRow] = []
        count = 0
        try:
            for line, cells, undecodable in self.csv_file.rows:
                count += 1
                row = parse(line, cells, undecodable)
                if row is None:
                    continue
                if len(batch) >= size and (
                    len(batch) >= 2 * size or row.group != batch[-1].group
                ):
                    self.count = count
                    yield batch
                    batch = []
                batch.append(row)
        except MalformedCsv as exc:
            self.errors.add(RowError(exc.line, "", exc.reason))
        self.count = count
        if batch:
            yield batch

    def _column_batches(self, size: int) -> Iterator[ColumnRows]:
        """The same batches (same rows, same cuts), parsed a block at a time."""
        pending: ColumnRows | None = None
        parts: list[ColumnRows] = []  # blocks parsed since, joined once a batch is there
        waiting = 0
        try:
            for chunk in self.csv_file.chunks:
                self.count += len(chunk.lines)
                part = self.column_parser.parse(chunk)
                parts.append(part)
                waiting += len(part)
                if waiting <= size:
                    continue
                pending = ColumnRows.join([pending, *parts] if pending else parts)
                parts, waiting = [], 0
                while len(pending) > size:
                    cut = _cut(pending.groups, size)
                    if cut == len(pending) <= 2 * size:  # the next block may go on with
                        break                             # the last row's customer
                    yield pending[:cut]
                    pending = pending[cut:]
                waiting = len(pending)
        except MalformedCsv as exc:
            self.errors.add(RowError(exc.line, "", exc.reason))
        if parts:
            pending = ColumnRows.join([pending, *parts] if pending else parts)
        while pending:
            cut = _cut(pending.groups, size)
            yield pending[:cut]
            pending = pending[cut:]


def _cut(groups: list, size: int) -> int:
    """Where the row path ends a batch: after ``size`` rows, or later while the rows
    are the same customer's, up to twice the size."""
    cut, end = size, min(2 * size, len(groups))
    while cut < end and groups[cut] == groups[cut - 1]:
        cut += 1
    return min(cut, len(groups))


def _batch(number: int, rows: list[ParsedRow] | ColumnRows) -> Batch:
    """A batch's number, its first and last lines, and its rows, for the report."""
    first, last = ((rows.lines[0], rows.lines[-1]) if isinstance(rows, ColumnRows)
                   else (rows[0].line, rows[-1].line))
    return Batch(number, first, last, len(rows))


class _Committer:
    """Upserts each batch in its own transaction and tallies what was committed."""

    def __init__(self, upsert: Callable[[list[ParsedRow]], BatchResult],
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.upsert = upsert
        self.on_progress = on_progress
        self.customer_ids: set[int] = set()
        self.customers = Counts()
        self.orders = Counts()
        self.duplicates = 0
        self.order_lines = 0
        self.committed: list[Batch] = []
        self.failure: BatchFailure | None = None
        self.number = 0

    def submit(self, rows: list[ParsedRow]) -> bool:
        """Write a batch now; False once a batch has failed (stop reading)."""
        self.number += 1
        return self._commit(self.number, rows)

    def _commit(self, number: int, rows: list[ParsedRow] | ColumnRows) -> bool:
        batch = _batch(number, rows)
        try:
            with transaction.atomic():
                result = self.upsert(rows)
        except DatabaseError as exc:
            self.failure = BatchFailure(batch, f"{type(exc).__name__}: {exc}".strip())
            return False
        self.committed.append(batch)
        self.customers += result.customers
        self.orders += result.orders
        self.duplicates += result.duplicates
        self.order_lines += result.order_lines
        self.customer_ids |= result.customer_ids
        if self.on_progress is not None:
            self.on_progress(batch.last_line - 1)
        if settings.DEBUG:
            reset_queries()  # DEBUG logs every query: keep memory bounded
        return True

    def close(self) -> None:
        """Wait for the batches submitted to be written."""


class _ThreadedCommitter(_Committer):
    """The same in a writer thread with its own connection, so that the database
    works on one batch while the next one is read and parsed."""

    def __init__(self, upsert: Callable[[list[ParsedRow]], BatchResult],
                 on_progress: Callable[[int], None] | None = None,
                 first_load: FirstLoad | None = None) -> None:
        # The writer only notes how far it got; the caller's thread reports it, on its own
        # connection: a first import's writer is inside one long transaction, where a
        # progress write would stay unseen until the end.
        super().__init__(upsert, self._note_progress)
        self.report_progress = on_progress
        self.reached = self.reported = 0
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.crash: BaseException | None = None
        self.first_load = first_load
        self.taken = 0  # batches the writer took from the queue
        self.thread = threading.Thread(target=self._run, name="crm-import-writer", daemon=True)
        self.thread.start()

    def submit(self, rows: list[ParsedRow]) -> bool:
        self._report()
        if self.failure is not None or self.crash is not None:
            return False
        self.number += 1
        first_load = self.first_load  # None once the writer found the table in use
        meets_earlier = first_load is not None and first_load.meets_earlier(rows)
        self.queue.put((self.number, rows, meets_earlier))
        return True

    def _note_progress(self, rows: int) -> None:
        self.reached = rows

    def _report(self) -> None:
        reached = self.reached
        if self.report_progress is not None and reached != self.reported:
            self.reported = reached
            self.report_progress(reached)

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                # A first import's transaction begins at its first batch, once the
                # caller's connection has set the secondary indexes aside.
                if self.first_load is not None and self.taken == 0:
                    if not self.first_load.begin():
                        self.first_load = None
                self.taken += 1
                if self.failure is None and self.crash is None:
                    self._commit(*item)
            if self.first_load is not None:
                self._end_first_load()
        except BaseException as exc:  # noqa: BLE001 — re-raised in the caller's thread
            self.crash = exc
            if self.first_load is not None:
                with contextlib.suppress(Exception):
                    self.first_load.end(failed=True)
            while self.queue.get() is not None:
                pass
        finally:
            connections.close_all()  # this thread's connections only

    def _commit(self, number: int, rows: list[ParsedRow] | ColumnRows,
                meets_earlier: bool = False) -> bool:
        if self.first_load is not None and self.first_load.active:
            try:
                self.first_load.check(meets_earlier)
            except DatabaseError as exc:
                self.failure = BatchFailure(_batch(number, rows),
                                            f"{type(exc).__name__}: {exc}".strip())
                return False
        return super()._commit(number, rows)

    def _end_first_load(self) -> None:
        """Commit a first import's transaction, constraints back; should that fail,
        nothing was kept: the report says so."""
        try:
            self.first_load.end(failed=False)
        except DatabaseError as exc:
            if self.failure is None:
                batch = self.committed[-1] if self.committed else Batch(0, 0, 0, 0)
                self.failure = BatchFailure(
                    batch, f"{type(exc).__name__}: {exc} (a first import is one "
                           "transaction: nothing was kept)".strip())
            self.committed = []
            self.customers, self.orders, self.duplicates = Counts(), Counts(), 0
            self.order_lines = 0
            self.customer_ids = set()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.crash is not None:
            raise self.crash
        self._report()
