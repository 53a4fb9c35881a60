"""A large first import sets the unique constraints aside in one locked transaction,
and gives exactly what the usual import gives (see crm.importing.firstload)."""

from __future__ import annotations

import io
from unittest import mock

import pytest
from django.db import DataError, connection
from django.test import override_settings

from crm.importing import import_csv
from crm.importing.writers import PostgresCopyWriter
from crm.models import Customer

from .test_import_columns import HEADER, ROWS, generated, stored

pytestmark = pytest.mark.django_db(transaction=True)  # the import's own transactions

UNIQUE = {"crm_customer_email_key", "crm_customer_external_id_key"}
FIRST_LOAD = {"IMPORT_FIRST_LOAD_ROWS": 1, "IMPORT_REBUILD_INDEXES_ROWS": 0}


@pytest.fixture
def in_writer(monkeypatch):
    """Register a function the writer thread calls after each batch, on its connection
    (inside a first import's transaction), with the rows written so far."""
    from crm.importing.service import _ThreadedCommitter

    hooks = []
    note = _ThreadedCommitter._note_progress

    def noting(self, rows):
        for hook in hooks:
            hook(rows)
        note(self, rows)

    monkeypatch.setattr(_ThreadedCommitter, "_note_progress", noting)
    return hooks.append


def present() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "crm_customer"))


def table_lock() -> list[str]:
    """The locks this connection holds on the customers table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() "
                       "AND relation = 'crm_customer'::regclass")
        return [mode for (mode,) in cursor.fetchall()]


def customers_file(rows: int, start: int = 0) -> bytes:
    lines = "".join(f"C{i},u{i}@example.com,{'granted' if i % 2 else ''}\n"
                    for i in range(start, start + rows))
    return ("external_id,email,consent_status\n" + lines).encode()


def import_with(data: bytes, settings: dict, **options):
    """Import into an emptied table; the report's essentials and what was stored."""
    Customer.objects.all().delete()
    with override_settings(RULECAST_CRM=settings):
        report = import_csv(source=io.BytesIO(data), kind="customers", **options)
    return (
        [(e.line, e.column, e.reason, e.value) for e in report.errors],
        (report.rows_read, report.customers, report.duplicates, report.error_count,
         [(b.number, b.first_line, b.last_line, b.rows) for b in report.batches_committed],
         report.failure),
        stored(),
    )


def test_the_constraints_are_built_at_the_end_under_an_exclusive_lock(postgres, in_writer):
    during = []
    in_writer(lambda rows: during.append((present(), table_lock())))
    with override_settings(RULECAST_CRM={**FIRST_LOAD, "IMPORT_COLUMN_BATCH_SIZE": 40}):
        report = import_csv(source=io.BytesIO(customers_file(200)), kind="customers")

    assert report.customers.created == 200 and not report.failure
    assert len(during) == 5
    for names, locks in during:  # seen from the writer's connection
        assert not UNIQUE & names
        assert "AccessExclusiveLock" in locks
    assert UNIQUE <= present()
    assert Customer.objects.filter(consent_status="granted").count() == 100
    assert Customer.objects.get(external_id="C7").consent_records.count() == 1


def test_a_file_repeating_customers_across_batches_is_imported_as_usual(postgres, in_writer):
    # The sample's rows (errors, a customer twice, another's email), then rows meeting
    # earlier batches' customers by external id and by email.
    data = (HEADER + "\n".join(ROWS) + "\n"
            + "C20,new20@example.com,Twenty,F,,,,,,,,,,,\n"
            + "C03,other@example.com,Carl again,M,,,granted,,,,,,,,\n"
            + "C21,eve@example.com,Eve's twin,F,,,,,,,,,,,\n").encode()
    for batch_size in (3, 7, 5000):
        usual = import_with(data, {"IMPORT_FIRST_LOAD_ROWS": 0}, batch_size=batch_size,
                            encoding="utf-8")
        during: list[bool] = []
        in_writer(lambda rows, seen=during: seen.append(UNIQUE <= present()))
        first = import_with(data, FIRST_LOAD, batch_size=batch_size, encoding="utf-8")
        assert first == usual
        assert usual[0] and usual[2][0]
        if batch_size < 100:  # set aside at first, back once a batch met an earlier one
            assert not during[0] and during[-1]
        assert UNIQUE <= present()


def test_a_generated_file_with_repeats_gives_what_the_usual_import_gives(postgres):
    data = generated(300)
    data += b"\n".join(generated(300, seed=4).splitlines()[1:60]) + b"\n"  # repeats
    usual = import_with(data, {"IMPORT_FIRST_LOAD_ROWS": 0}, batch_size=50)
    first = import_with(data, FIRST_LOAD, batch_size=50)
    assert first == usual
    assert usual[1][1].updated  # the repeats updated earlier rows


def test_a_crash_rolls_the_whole_import_back_with_its_constraints(postgres, in_writer):
    def die(rows):
        if rows > 100:
            raise RuntimeError("the import dies")

    in_writer(die)
    with override_settings(RULECAST_CRM={**FIRST_LOAD, "IMPORT_COLUMN_BATCH_SIZE": 40}), \
            pytest.raises(RuntimeError):
        import_csv(source=io.BytesIO(customers_file(200)), kind="customers")
    assert UNIQUE <= present()
    assert not Customer.objects.exists()


def test_a_failed_batch_keeps_the_batches_before_it(postgres):
    insert = PostgresCopyWriter.insert_customer_columns
    calls = []

    def third_fails(self, rows, defaults):
        calls.append(len(rows))
        if len(calls) == 3:
            raise DataError("value out of range")
        return insert(self, rows, defaults)

    with override_settings(RULECAST_CRM={**FIRST_LOAD, "IMPORT_COLUMN_BATCH_SIZE": 40}), \
            mock.patch.object(PostgresCopyWriter, "insert_customer_columns", third_fails):
        report = import_csv(source=io.BytesIO(customers_file(200)), kind="customers")
    assert report.failure and report.failure.batch.number == 3
    assert [b.number for b in report.batches_committed] == [1, 2]
    assert Customer.objects.count() == 80
    assert UNIQUE <= present()


def test_a_table_holding_customers_keeps_its_constraints(postgres, in_writer):
    Customer.objects.create(external_id="X1", email="x1@example.com")
    during = []
    in_writer(lambda rows: during.append((present(), table_lock())))
    with override_settings(RULECAST_CRM={**FIRST_LOAD, "IMPORT_COLUMN_BATCH_SIZE": 40}):
        report = import_csv(source=io.BytesIO(customers_file(200)), kind="customers")
    assert report.customers.created == 200
    assert during and all(UNIQUE <= names and not locks for names, locks in during)


def test_the_keys_seen_are_found_across_merges():
    import numpy as np

    from crm.importing.firstload import _Seen

    seen = _Seen()
    for start in range(0, 3000, 100):  # 30 batches: merged into the sorted array on the way
        keys = np.arange(start, start + 100, dtype=np.int64) * 7
        assert not seen.meets(keys)
        seen.add(keys)
    assert len(seen.sorted) > 0
    assert seen.meets(np.array([5, 7 * 2999], dtype=np.int64))
    assert seen.meets(np.array([7 * 150], dtype=np.int64))
    assert not seen.meets(np.array([1, 7 * 3000, -7], dtype=np.int64))
    assert not seen.meets(np.empty(0, np.int64))


def test_a_key_the_filter_lets_through_is_looked_up_exactly():
    import numpy as np

    from crm.importing.firstload import _FILTER_BITS, _Seen

    seen = _Seen()
    stored = np.array([3, -(2**62) + 11, 2**40 + 5], dtype=np.int64)
    seen.add(stored)
    # The same filter bits, other keys: let through by the filter, not in the set.
    shadows = stored + _FILTER_BITS
    assert (seen._slots(shadows)[0] == seen._slots(stored)[0]).all()
    assert not seen.meets(shadows)
    assert seen.meets(np.concatenate([shadows, stored[1:2]]))


def test_a_table_another_session_is_reading_is_imported_as_usual(postgres, monkeypatch,
                                                                 in_writer):
    import threading

    from django.db import connections, transaction

    from crm.importing import firstload

    monkeypatch.setattr(firstload, "LOCK_TIMEOUT", "200ms")
    reading, done = threading.Event(), threading.Event()

    def reader():  # holds ACCESS SHARE on the table until told
        try:
            with transaction.atomic():
                Customer.objects.exists()
                reading.set()
                done.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=reader)
    thread.start()
    reading.wait(10)
    during = []
    in_writer(lambda rows: during.append(UNIQUE <= present()))
    try:
        with override_settings(RULECAST_CRM={**FIRST_LOAD, "IMPORT_COLUMN_BATCH_SIZE": 40}):
            report = import_csv(source=io.BytesIO(customers_file(200)), kind="customers")
    finally:
        done.set()
        thread.join()
    assert report.customers.created == 200 and not report.failure
    assert during and all(during)


def test_a_first_imports_progress_is_reported_by_the_callers_thread_as_it_goes(postgres):
    """The writer's transaction would hide a progress write until the end (and the table
    is locked): the caller's thread reports the rows written, on its own connection."""
    import threading

    seen = []

    def progress(rows):
        seen.append((threading.current_thread() is threading.main_thread(), rows))

    with override_settings(RULECAST_CRM={**FIRST_LOAD, "IMPORT_COLUMN_BATCH_SIZE": 40}):
        report = import_csv(source=io.BytesIO(customers_file(200)), kind="customers",
                            on_progress=progress)
    assert report.customers.created == 200
    assert all(main for main, _ in seen)
    rows = [r for _, r in seen]
    assert rows[-1] == 200 and any(r < 200 for r in rows)  # reported before the end
    assert rows == sorted(rows)


def test_a_first_import_moves_the_id_sequence_once_a_batch(postgres, monkeypatch):
    """Under its lock, a batch's ids are one step of the sequence, not a nextval each;
    they are the stored customers' ids, and the sequence goes on after the last."""
    statements = []
    execute = PostgresCopyWriter._next_ids

    def recording(self, model, count):
        statements.append(self.customers_locked)
        return execute(self, model, count)

    monkeypatch.setattr(PostgresCopyWriter, "_next_ids", recording)
    with override_settings(RULECAST_CRM={**FIRST_LOAD, "IMPORT_COLUMN_BATCH_SIZE": 40}):
        report = import_csv(source=io.BytesIO(customers_file(200)), kind="customers")

    assert report.customers.created == 200 and not report.error_count
    assert statements and all(statements)  # every batch drew under the lock
    ids = sorted(Customer.objects.values_list("pk", flat=True))
    assert ids == list(range(ids[0], ids[0] + 200))
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('crm_customer', 'id'))")
        assert cursor.fetchone()[0] == ids[-1] + 1
    statements.clear()  # an import into a table holding customers draws as usual
    with override_settings(RULECAST_CRM={**FIRST_LOAD, "IMPORT_COLUMN_BATCH_SIZE": 40}):
        import_csv(source=io.BytesIO(customers_file(50, start=500)), kind="customers")
    assert statements and not any(statements)
    assert Customer.objects.count() == 250
