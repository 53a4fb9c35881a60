"""A customers file parsed a column at a time gives what the row-by-row path gives.

The same files are imported with ``IMPORT_COLUMNS`` off (the reference: every row by
:class:`~crm.importing.rows.RowParser`) and on; the reports' errors (line, column,
reason, value), the counts and everything stored must be identical.
"""

from __future__ import annotations

import csv
import io
import random
from unittest import mock

import pytest
from django.test import override_settings

from crm.importing import import_csv, reading
from crm.importing.writers import PostgresCopyWriter
from crm.models import Customer
from crm.privacy.models import ConsentRecord

from .conftest import csv_file

pytestmark = pytest.mark.django_db

HEADER = ("external_id,email,name,gender,birth_date,signed_up_at,consent_status,"
          "consent_at,unsubscribed_at,vip_level,points,ratio,flag,zip,note\n")
ROWS = [
    # line 2-3: a quoted name holding a line break, then line 4 is an error row
    'C01,ann@example.com,"Ann\nSmith",F,1990-05-01,2024-03-20 10:00:00,yes,'
    "2024-03-20 10:00:00,,gold,12,1.5,TRUE,007,hello",
    "C02,bad-email,Bob,M,1990-05-02,2024-03-20 11:00:00,no,,,silver,3,2.0,false,,",
    "C03, Mixed@Example.COM ,  Carl  ,男,1990/05/20,2024-03-20T10:00,granted,,2024-04-01,"
    ",,,,,",
    "C04,dan@example.com,'=SUM(1),unknown,20/05/1990,2024-03-20,withdrawn,,,NULL,N/A,,,,",
    "C05,eve@example.com," + "x" * 201 + ",F,1990-05-03,2024-03-20 10:00:00,yes,,,,,,,,",
    "C06,fay@example.com,Fay,X,1990-02-30,not a date,maybe,,,,,,,,",
    "C07,gus@example.com,Gus,f,05/06/1990,2024-03-20 10:00:00+02:00,1,,,,,,,,",
    "C08,hal@example.com,Hal\\back,M,#N/A,45000,0,,,,,,,,",
    ",,,,,,,,,,,,,,",
    "",
    "C09,ivy@example.com,Ivy,F,1990-05-04,1986-05-04 02:30:00,yes,1986-09-14 01:30:00,,,,,,,",
    "C10,jo@example.com,Jo,M,1990-05-05,2024/03/20 10:00,yes,,,'+86,,,,,",
    "C11,kim@example.com,Kim",  # short: padded
    "C12,lee@example.com,Lee,M,1990-05-06,,,,,,,,,,,extra",  # one value too many
    "C13,lee2@example.com,Lee,M,1990-05-06,,,,,,,,,,,",  # an empty extra cell: fine
    ",nokey,,,,,,,,,,,,,",
    "C14,,Nomail,F,1990-05-07,2024-03-20 10:00:00,yes,,,,,,,,",
    ",noid@example.com,Noid,F,1990-05-08,2024-03-20 10:00:00,yes,,,,,,,,",
    "C15,ann@example.com,Ann again,F,1990-05-01,,,,,,,,,,",  # another customer's email
    "C16,müller@bücher.example,Mü,F,1990-05-09,,,,,,,,,,",
    "C17,tab@example.com,Tab\there,F,1990-05-10,,,,,,,,,,",
    "C01,ann@example.com,Ann Smith,F,,,,,,,,,,,",  # C01 again: the later row wins
    'C18,"quoted@example.com","Quote ""Q""",F,1990-05-11,2024-03-20 10:00:00,no,,,,,,,,',
]


def sample_file() -> bytes:
    return (HEADER + "\n".join(ROWS) + "\n").encode()


def stored() -> tuple[list, list]:
    names = [f.name for f in Customer._meta.concrete_fields
             if f.name not in ("id", "created_at", "updated_at")]
    customers = sorted(Customer.objects.values_list(*names),
                       key=lambda values: (values[0] or "", values[1] or ""))
    consent = sorted(ConsentRecord.objects.values_list(
        "customer__external_id", "customer__email", "status", "source", "note"),
        key=lambda values: tuple(str(value) for value in values))
    return customers, consent


def import_both_ways(data: bytes, **options) -> tuple:
    """Import ``data`` row by row, then (emptied) column by column: both results."""
    results = []
    for columns in (False, True):
        Customer.objects.all().delete()
        with override_settings(RULECAST_CRM={"IMPORT_COLUMNS": columns}):
            report = import_csv(source=io.BytesIO(data), kind="customers", **options)
        results.append((
            [(e.line, e.column, e.reason, e.value) for e in report.errors],
            (report.rows_read, report.customers, report.duplicates, report.error_count,
             [(b.number, b.first_line, b.last_line, b.rows) for b in report.batches_committed]),
            stored(),
        ))
    return results


@pytest.mark.parametrize("batch_size", [3, 5000])
def test_errors_counts_and_stored_values_are_the_row_paths(batch_size):
    columns_writes = mock.patch.object(
        PostgresCopyWriter, "insert_customer_columns", autospec=True,
        side_effect=PostgresCopyWriter.insert_customer_columns)
    with columns_writes as spy:
        by_rows, by_columns = import_both_ways(sample_file(), batch_size=batch_size,
                                               encoding="utf-8")
    assert by_columns == by_rows
    errors = by_rows[0]
    # Line numbers count the quoted line break of line 2: the bad email is on line 4.
    assert errors[0] == (4, "email", "not a valid email address", "bad-email")
    assert sorted({line for line, *_ in errors}) == [4, 7, 8, 9, 16, 18, 21, 22]
    if batch_size == 3:  # batches of new customers without odd rows took the columns
        assert spy.call_count >= 1
    assert by_rows[2][0]  # something was stored


def test_undecodable_bytes_and_an_unterminated_quote_end_as_on_the_row_path():
    data = sample_file().replace(b"Bob", b"B\xffb") + b'C19,"x@example.com,unterminated\n'
    by_rows, by_columns = import_both_ways(data, batch_size=4, encoding="utf-8")
    assert by_columns == by_rows
    errors = by_rows[0]
    assert (4, "name", "bytes that are not valid utf-8", "B\ufffdb") in errors
    # The csv module reads an unterminated quote to the end of the file.
    assert errors[-1] == (26, "email", "not a valid email address",
                          "x@example.com,unterminated")


def generated(rows: int, seed: int = 3) -> bytes:
    """A customers file like the bench's, with a bad row now and then."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "email", "name", "gender", "birth_date", "city",
                     "signed_up_at", "consent_status", "consent_at", "vip_level"])
    for i in range(rows):
        email = f"User{i}@Example.com" if rng.random() < 0.9 else ""
        if rng.random() < 0.01:
            email = "broken"
        writer.writerow([
            f"C{i:06d}", email, rng.choice(["Anna Li", "王芳", "Ben, Jr.", "x\ny"]),
            rng.choice(["F", "M", "女", ""]),
            f"19{rng.randrange(50, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}",
            rng.choice(["上海", "Berlin", ""]),
            f"2023-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)} 1{rng.randrange(0, 9)}:00:00",
            rng.choice(["granted", "withdrawn", "unknown", ""]),
            rng.choice(["", "2023-05-01 10:00:00"]), rng.choice(["", "gold", "7"]),
        ])
    return out.getvalue().encode()


def test_a_generated_file_with_quoted_fields_across_blocks(monkeypatch):
    monkeypatch.setattr(reading, "BLOCK_CHARS", 997)  # many blocks, quotes across them
    by_rows, by_columns = import_both_ways(generated(600), batch_size=50)
    assert by_columns == by_rows
    assert by_rows[0] and by_rows[2][0]


def test_a_plain_file_takes_the_columns_and_matches(monkeypatch):
    data = generated(400).replace(b'"x\ny"', b"xy").replace(b'"Ben, Jr."', b"Ben")
    monkeypatch.setattr(reading, "BLOCK_CHARS", 2000)
    with mock.patch.object(PostgresCopyWriter, "insert_customer_columns", autospec=True,
                           side_effect=PostgresCopyWriter.insert_customer_columns) as spy:
        by_rows, by_columns = import_both_ways(data, batch_size=100)
    assert by_columns == by_rows
    assert spy.call_count >= 2


def reference_records(text: str) -> list[tuple[int, list[str]]]:
    """What csv.reader gives, with the line each record starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    records = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return records
        if cells and any(cells):
            records.append((line, cells))


@pytest.mark.parametrize("block", [1, 7, 64, 1024 * 1024])
@pytest.mark.parametrize("text", [
    "a,b\n1,2\n\n3,4\n,\n5,6",
    "a,b\r\n1,2\r\n\r\n3,4\r\n5,6\r\n",
    'a,b\n1,"x\ny"\n2,3\n"4\n\n5",6\n7,8\n',
    "a,b\n1,2\n3\n4,5,6\n7,8\n",
    "a,b\r\n1,2\n3,4\r\n",
    "a,b\n1,2,\n3,4,\n",
])
def test_blocks_give_the_csv_modules_records_and_lines(monkeypatch, text, block):
    monkeypatch.setattr(reading, "BLOCK_CHARS", block)
    opened = reading.open_csv(csv_file(text))
    assert [(line, cells) for line, cells, _ in opened.rows] == reference_records(text)


@pytest.mark.parametrize("block", [16, 40, 1024 * 1024])
def test_runs_of_one_customers_rows_are_batched_as_on_the_row_path(monkeypatch, block):
    monkeypatch.setattr(reading, "BLOCK_CHARS", block)
    names = "aaabccccdeffffffgh"
    text = "email,name\n" + "".join(f"{n}@x.com,{n}{i}\n" for i, n in enumerate(names))
    by_rows, by_columns = import_both_ways(text.encode(), batch_size=2)
    assert by_columns == by_rows
    batches = by_rows[1][4]
    # A batch goes on while its last customer does, up to twice its size:
    # aaa | bccc | cd | efff | fff | gh (the rows of "c" and "f" spill over).
    assert [rows for *_, rows in batches] == [3, 4, 2, 4, 3, 2]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "UTC"])
def test_times_in_the_shops_zone_with_its_changes_are_the_row_paths(zone):
    from django.utils import timezone

    times = ["2024-01-15 10:00:00", "2024-07-15 10:00:00", "2024-03-10 02:30:00",
             "2024-11-03 01:30:00", "2024-11-03 01:30", "2024-07-15", "2024-07-15T23:59:59"]
    text = "email,signed_up_at,consent_at\n" + "".join(
        f"u{i}@x.com,{moment},{times[-1 - i]}\n" for i, moment in enumerate(times))
    with timezone.override(zone):
        by_rows, by_columns = import_both_ways(text.encode(), batch_size=100)
    assert by_columns == by_rows
    assert len(by_rows[2][0]) == len(times)
