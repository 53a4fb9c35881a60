"""Importing customers: upserts, bad rows, re-imports, dry runs and failing batches."""

from datetime import date
from unittest import mock

import pytest
from django.db import DatabaseError
from django.test import override_settings
from django.utils import timezone

from crm.importing import ImportFileError, ImportMapping, import_csv
from crm.importing.writers import get_writer
from crm.models import ConsentStatus, Customer

from .conftest import DATA, csv_file

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    """Every customer's values, updated_at included."""
    return {c["id"]: c for c in Customer.objects.values()}


@pytest.mark.parametrize("name", ["customers_mixed.csv", "customers_mixed_gbk.csv"])
def test_good_rows_are_imported_bad_ones_reported_and_a_reimport_writes_nothing(name):
    report = import_csv(source=DATA / name, kind="customers")

    assert report.rows_read == 8
    assert report.customers.created == 4
    assert report.duplicates == 1  # Dave@Example.com then dave@example.COM
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (3, "external_id / email", "neither an email nor an external id"),
        (4, "email", "not a valid email address"),
        (5, "birth_date", "not a valid date"),
    ]
    assert report.errors[1].value == "not-an-email"
    assert set(Customer.objects.values_list("external_id", "email")) == {
        ("C001", "ann@example.com"), (None, "dave@example.com"),
        ("C006", "lilei@example.cn"), ("C007", "frank@example.com"),
    }
    dave = Customer.objects.get(email="dave@example.com")
    assert dave.name == "David"  # the later row wins
    assert dave.attributes == {"vip_level": "gold"}
    lilei = Customer.objects.get(external_id="C006")
    assert (lilei.name, lilei.gender, lilei.city) == ("李雷", "male", "北京")
    assert lilei.birth_date == date(1988, 7, 15)
    assert lilei.consent_status == ConsentStatus.GRANTED
    frank = Customer.objects.get(external_id="C007")
    assert frank.birth_date == date(1985, 3, 20)
    assert timezone.localtime(frank.signed_up_at).date() == date(2024, 1, 20)
    assert frank.name == '=HYPERLINK("http://evil.example")'  # stored as text
    assert report.batches_committed and report.failure is None

    before = snapshot()
    again = import_csv(source=DATA / name, kind="customers")
    assert (again.customers.created, again.customers.updated) == (0, 0)
    assert again.customers.unchanged == 4
    assert again.error_count == 3
    assert snapshot() == before  # updated_at did not move


def test_a_changed_row_updates_only_that_customer():
    import_csv(source=DATA / "customers_mixed.csv", kind="customers")
    before = snapshot()
    text = "external_id,email,city\nC001,ann@example.com,Suzhou\nC006,,北京\n"
    report = import_csv(source=csv_file(text), kind="customers")
    assert (report.customers.updated, report.customers.unchanged) == (1, 1)
    after = snapshot()
    ann = Customer.objects.get(external_id="C001")
    assert ann.city == "Suzhou"
    assert after[ann.pk]["updated_at"] > before[ann.pk]["updated_at"]
    assert ann.name == "Ann Lee"  # a column the file lacks keeps its value
    lilei = Customer.objects.get(external_id="C006")
    assert lilei.email == "lilei@example.cn"  # an empty cell keeps the stored value
    assert after[lilei.pk] == before[lilei.pk]


def test_a_customer_found_by_email_gets_the_external_id():
    Customer.objects.create(email="ann@example.com")
    import_csv(source=csv_file("external_id,email\nC1,ANN@example.com\n"), kind="customers")
    assert list(Customer.objects.values_list("external_id", "email")) == [
        ("C1", "ann@example.com")
    ]


def test_an_email_of_another_customer_is_refused():
    Customer.objects.create(external_id="A", email="a@example.com")
    Customer.objects.create(external_id="B", email="b@example.com")
    text = "external_id,email,name\nA,b@example.com,Ann\nC,a@example.com,Cy\n"
    report = import_csv(source=csv_file(text), kind="customers")
    assert [(e.line, e.column) for e in report.errors] == [(2, "email"), (3, "email")]
    assert "another customer" in report.errors[0].reason
    assert Customer.objects.count() == 2
    assert Customer.objects.get(external_id="A").email == "a@example.com"


def test_utf8_with_bom_and_semicolons():
    text = "external_id;email;name;birth_date\nX1;x1@example.com;王芳;20/03/1990\n"
    report = import_csv(source=csv_file(text, "utf-8-sig"), kind="customers")
    assert (report.encoding, report.delimiter) == ("utf-8-sig", ";")
    assert report.customers.created == 1 and not report.errors
    customer = Customer.objects.get()
    assert (customer.external_id, customer.name) == ("X1", "王芳")
    assert customer.birth_date == date(1990, 3, 20)


def test_tab_separated_with_a_date_format():
    text = "email\tbirth_date\na@example.com\t03/04/1990\nb@example.com\t05/06/1991\n"
    report = import_csv(source=csv_file(text), kind="customers",
                        mapping=ImportMapping(date_format="%d/%m/%Y"))
    assert report.delimiter == "\t" and not report.errors
    assert Customer.objects.get(email="a@example.com").birth_date == date(1990, 4, 3)


def test_ambiguous_dates_without_a_format_are_reported():
    text = "email,birth_date\na@example.com,03/04/1990\n"
    report = import_csv(source=csv_file(text), kind="customers")
    assert report.errors[0].column == "birth_date"
    assert "ambiguous" in report.errors[0].reason
    assert not Customer.objects.exists()


def test_other_columns_become_attributes():
    text = "email,VIP Level,Postcode,Points\na@example.com,gold,00123,42\n"
    import_csv(source=csv_file(text), kind="customers")
    assert Customer.objects.get().attributes == {"vip_level": "gold", "postcode": "00123",
                                                 "points": 42}


def test_spreadsheet_error_values_are_empty_cells():
    text = "email,gender,city\na@example.com,#N/A,N/A\n"
    report = import_csv(source=csv_file(text), kind="customers")
    assert not report.errors
    assert (Customer.objects.get().gender, Customer.objects.get().city) == ("", "")


def test_a_dry_run_writes_nothing_but_counts():
    report = import_csv(source=DATA / "customers_mixed.csv", kind="customers", dry_run=True)
    assert report.dry_run
    assert report.customers.created == 4
    assert report.error_count == 3
    assert report.batches_committed == ()
    assert not Customer.objects.exists()


def test_a_file_without_a_key_column_cannot_be_imported():
    with pytest.raises(ImportFileError, match="no column for external_id or email"):
        import_csv(source=csv_file("name,city\nAnn,Paris\n"), kind="customers")


def test_rows_with_extra_values_are_reported():
    text = "email,name\na@example.com,Ann,surplus\nb@example.com,Bob,\n"
    report = import_csv(source=csv_file(text), kind="customers")
    assert [(e.line, e.reason) for e in report.errors] == [
        (2, "3 values but the header has 2 columns")
    ]
    assert Customer.objects.get().email == "b@example.com"


def test_undecodable_bytes_reject_their_row_only():
    raw = ("email,name\n" + "".join(f"u{i}@example.com,Ann\n" for i in range(4000))).encode()
    raw += b"bad@example.com,B\xffob\nlast@example.com,Zoe\n"
    report = import_csv(source=__import__("io").BytesIO(raw), kind="customers")
    assert [(e.line, e.column) for e in report.errors] == [(4002, "name")]
    assert Customer.objects.count() == 4001


def test_errors_beyond_the_limit_are_counted_not_kept():
    text = "email\n" + "bad\n" * 30
    with override_settings(RULECAST_CRM={"IMPORT_MAX_REPORTED_ERRORS": 10}):
        report = import_csv(source=csv_file(text), kind="customers")
    assert (len(report.errors), report.error_count) == (10, 30)


# The method writing new customers: row by row, or from the columns (crm.importing.columns).
WRITE_PATHS = pytest.mark.parametrize("columns, method", [
    (False, "insert_customers"), (True, "insert_customer_columns"),
], ids=["rows", "columns"])


@WRITE_PATHS
def test_a_failing_batch_leaves_the_batches_before_it_and_nothing_of_itself(columns, method):
    text = "email\n" + "".join(f"u{i}@example.com\n" for i in range(5))
    writer_class = type(get_writer())
    original = getattr(writer_class, method)
    calls = []

    def fail_second(self, records, *args, **kwargs):
        calls.append(len(records))
        if len(calls) == 2:
            original(self, records[:1], *args, **kwargs)  # half-written when the database goes away
            raise DatabaseError("server closed the connection unexpectedly")
        return original(self, records, *args, **kwargs)

    with mock.patch.object(writer_class, method, fail_second), \
            override_settings(RULECAST_CRM={"IMPORT_COLUMNS": columns}):
        report = import_csv(source=csv_file(text), kind="customers", batch_size=2)

    assert calls == [2, 2]
    assert set(Customer.objects.values_list("email", flat=True)) == {
        "u0@example.com", "u1@example.com"
    }
    assert [(b.number, b.first_line, b.last_line) for b in report.batches_committed] == [
        (1, 2, 3)
    ]
    assert report.failure.batch.number == 2
    assert (report.failure.batch.first_line, report.failure.batch.last_line) == (4, 5)
    assert "server closed" in report.failure.error
    assert report.customers.created == 2
    assert "Batch 2 (lines 4-5) failed" in report.summary()

    # Running it again finishes the job.
    report = import_csv(source=csv_file(text), kind="customers", batch_size=2)
    assert (report.customers.created, report.customers.unchanged) == (3, 2)


@WRITE_PATHS
@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_commits_batches_and_stops_at_a_failure(columns, method):
    text = "email\n" + "".join(f"u{i}@example.com\n" for i in range(7))
    writer_class = type(get_writer())
    original = getattr(writer_class, method)
    calls = []

    def fail_third(self, records, *args, **kwargs):
        calls.append(len(records))
        if len(calls) == 3:
            raise DatabaseError("the database went away")
        return original(self, records, *args, **kwargs)

    with mock.patch.object(writer_class, method, fail_third), \
            override_settings(RULECAST_CRM={"IMPORT_COLUMNS": columns}):
        report = import_csv(source=csv_file(text), kind="customers", batch_size=2)
    assert [b.number for b in report.batches_committed] == [1, 2]
    assert report.failure.batch.number == 3
    assert Customer.objects.count() == 4

    report = import_csv(source=csv_file(text), kind="customers", batch_size=2)
    assert (report.customers.created, report.customers.unchanged) == (3, 4)
    assert Customer.objects.count() == 7


def test_repeats_across_batches_update_the_customer_once_created():
    text = ("email,name\na@example.com,Ann\nb@example.com,Bob\nA@example.com,Anna\n"
            "c@example.com,Cy\n")
    report = import_csv(source=csv_file(text), kind="customers", batch_size=2)
    assert (report.customers.created, report.customers.updated) == (3, 1)
    assert Customer.objects.get(email="a@example.com").name == "Anna"


def values_without_ids() -> list[dict]:
    return sorted(
        (Customer.objects.values(*[f.name for f in Customer._meta.concrete_fields
                                   if f.name not in ("id", "created_at", "updated_at")])),
        key=lambda values: values["email"] or "",
    )


def test_the_orm_and_copy_writers_store_the_same_values():
    stored = []
    for use_copy in (True, False):
        Customer.objects.all().delete()
        with override_settings(RULECAST_CRM={"IMPORT_USE_COPY": use_copy}):
            import_csv(source=DATA / "customers_mixed.csv", kind="customers")
            update = "external_id,email,city,vip_level\nC001,ann@example.com,Suzhou,silver\n"
            report = import_csv(source=csv_file(update), kind="customers")
            assert report.customers.updated == 1
        stored.append(values_without_ids())
    assert stored[0] == stored[1]
    assert {"email": "ann@example.com", "city": "Suzhou"}.items() <= stored[0][0].items()
