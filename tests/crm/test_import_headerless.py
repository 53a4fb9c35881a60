"""Files without a header line, and columns apart by runs of spaces (legacy and
fixed-width exports): read as their columns, named from their values or by ``--columns``."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from crm.importing import ImportFileError, import_csv
from crm.importing.mapping import ImportMapping, headerless_names
from crm.importing.reading import WHITESPACE, looks_like_data, open_csv, sniff_delimiter
from crm.models import Customer, Order

from .conftest import csv_file

USD_SHOP = override_settings(RULECAST_CRM={"DEFAULT_CURRENCY": "USD"})

# An orders file as legacy systems write it: id, YYYYMMDD, items, amount; no header, the
# columns apart by runs of spaces (here also leading spaces, a tab and CRLF line ends).
SPACED = (
    "00001 19970101  1  11.77\r\n"
    "00002 19970112  1  12.00\r\n"
    "   00002 19970112\t 5  77.00  \r\n"
    "00003 19970102  2  20.76\r\n"
    "00003 19970330  2  20.76\r\n"
)


def records(data: str, **options) -> tuple[list[str], list[tuple[int, list[str]]], bool]:
    opened = open_csv(csv_file(data), **options)
    return opened.header, [(line, cells) for line, cells, _ in opened.rows], opened.header_line


def test_columns_apart_by_runs_of_spaces_are_sniffed_and_read_as_columns():
    assert sniff_delimiter("1 19970101 1 11.77\n2  19970102 3 9.00\n") == WHITESPACE
    assert sniff_delimiter("email\na@example.com\n") == ","  # one column stays one
    assert sniff_delimiter("a b\nc d e\n") == ","  # ragged: not columns

    header, rows, header_line = records(SPACED)

    assert not header_line and header == ["column_1", "column_2", "column_3", "column_4"]
    assert rows == [
        (1, ["00001", "19970101", "1", "11.77"]), (2, ["00002", "19970112", "1", "12.00"]),
        (3, ["00002", "19970112", "5", "77.00"]), (4, ["00003", "19970102", "2", "20.76"]),
        (5, ["00003", "19970330", "2", "20.76"]),
    ]


def test_quoted_values_keep_their_spaces_in_a_space_separated_file():
    data = ('C1 "Anna Smith" 2024-01-03  12.50\n'
            'C2  "Li  ""Lee"" Wei"   2024-01-04 7.00\n'
            "C3 Bo 2024-01-05 1.00\n")
    assert sniff_delimiter(data) == WHITESPACE

    header, rows, _ = records(data, header=["customer_id", "name", "order_date", "amount"])

    assert rows == [(1, ["C1", "Anna Smith", "2024-01-03", "12.50"]),
                    (2, ["C2", 'Li  "Lee" Wei', "2024-01-04", "7.00"]),
                    (3, ["C3", "Bo", "2024-01-05", "1.00"])]


def test_a_header_line_of_words_stays_the_header():
    header, rows, header_line = records("customer_id order_date amount\nA1 2024-01-02 9.50\n")

    assert header_line and header == ["customer_id", "order_date", "amount"]
    assert rows == [(2, ["A1", "2024-01-02", "9.50"])]
    assert looks_like_data(["17", "2024-01-02", "9"])
    assert looks_like_data(["C17", "Ann", "9.50"])  # a number with decimals
    assert not looks_like_data(["id", "Date", "2024"])
    assert not looks_like_data(["17"])


def test_given_names_make_the_first_line_a_record():
    header, rows, header_line = records("A1,2024-01-02,9.50\n", header=["id", "when", "total"])

    assert not header_line and header == ["id", "when", "total"]
    assert rows == [(1, ["A1", "2024-01-02", "9.50"])]
    with pytest.raises(ImportFileError, match="2 column names given for a file of 3 columns"):
        records("A1,2024-01-02,9.50\n", header=["id", "when"])


def test_an_orders_file_is_named_from_its_values():
    sample = [["00001", "19970101", "1", "11.77"], ["00002", "19970112", "5", "77"]]
    assert headerless_names(sample, "orders") == ["customer_id", "order_date", "items", "amount"]
    assert headerless_names([["2024-01-02 10:00", "C9", "19.99"]], "customers_and_orders") == [
        "order_date", "customer_id", "amount"]
    # Not told apart by their values: the reason names --columns.
    for sample, kind in [
        ([["1", "19970101", "3.50", "11.77"]], "orders"),  # two columns of decimals
        ([["1", "19970101", "19970102", "11.77"]], "orders"),  # two of dates
        ([["1", "19970101", "2", "11"]], "orders"),  # no amount with decimals
    ]:
        with pytest.raises(ImportFileError, match="no header line .* --columns customer_id"):
            headerless_names(sample, kind)
    with pytest.raises(ImportFileError, match="--columns external_id,email,name$"):
        headerless_names([["C1", "a@example.com", "2024-01-02"]], "customers")


@pytest.mark.django_db
@USD_SHOP
def test_import_orders_takes_a_spaced_file_without_header_and_creates_its_customers(tmp_path):
    path = tmp_path / "orders.txt"
    path.write_text(SPACED, newline="")
    out = io.StringIO()

    call_command("import_orders", str(path), stdout=out)

    output = out.getvalue()
    assert "0 errors" in output
    assert "read as customer_id, order_date, items, amount" in output
    assert "Customers: 3 were created" in output and "Orders: 5 were created" in output
    assert "(lines 1-5)" in output
    orders = Order.objects.filter(customer__external_id="00002").order_by("amount")
    assert [(o.amount, o.item_count, o.currency) for o in orders] == [
        (Decimal("12.00"), 1, "USD"), (Decimal("77.00"), 5, "USD")]
    assert {timezone.localtime(o.placed_at).date() for o in orders} == {date(1997, 1, 12)}
    # Imported again: the same orders, unchanged (line 1 is a record, not a header).
    again = io.StringIO()
    call_command("import_orders", str(path), stdout=again)
    assert "Orders: 0 were created, 0 updated, 5 unchanged." in again.getvalue()


@pytest.mark.django_db
@USD_SHOP
def test_columns_named_by_hand_and_mapped_by_place(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("C9,Ann,2024-01-02,19.99\nC9,Ann,2024-02-03,5.00\n")
    out = io.StringIO()

    call_command("import_sales", str(path), "--columns", "customer_id,name,order_date,total",
                 stdout=out)

    assert "Orders: 2 were created" in out.getvalue()
    assert Customer.objects.get(external_id="C9").name == "Ann"
    # Without names, a mapping may take the columns by their place.
    by_place = ImportMapping.from_dict({"customer_external_id": "column_1",
                                        "placed_at": "column_2", "amount": "column_3"})
    report = import_csv(source=csv_file("D1,2024-03-04,7.25,blue\n"), kind="orders",
                        mapping=by_place)
    assert report.orders.created == 1 and report.column_names == "place"
    assert Order.objects.get(customer__external_id="D1").attributes == {"column_4": "blue"}
    with pytest.raises(CommandError, match="3 column names given for a file of 4 columns"):
        call_command("import_orders", str(path), "--columns", "customer_id,order_date,total")
