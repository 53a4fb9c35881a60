"""Exporting customers and orders to CSV: columns, CSV injection, BOM, round trip."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from crm import exporting
from crm.importing import import_csv
from crm.models import Customer, Order

from .conftest import DATA

pytestmark = pytest.mark.django_db


def exported(command: str, *args: str) -> list[list[str]]:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return list(csv.reader(io.StringIO(out.getvalue())))


@pytest.fixture
def shop():
    ann = Customer.objects.create(
        external_id="C1", email="ann@example.com", name="=cmd|' /C calc'!A0", city="-Paris",
        attributes={"vip": "gold", "points": -5, "note": "@SUM(A1)"},
    )
    Order.objects.create(
        customer=ann, external_id="O1", amount=Decimal("-5.00"), category="+refund",
        placed_at=datetime(2024, 3, 20, 14, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    return ann


def test_formulas_are_neutralized_numbers_are_not(shop):
    header, row = exported("export_customers")
    values = dict(zip(header, row, strict=True))
    assert values["name"] == "'=cmd|' /C calc'!A0"
    assert values["city"] == "'-Paris"
    assert values["attributes.note"] == "'@SUM(A1)"
    assert values["attributes.points"] == "-5"  # a number, left alone
    assert values["attributes.vip"] == "gold"

    header, row = exported("export_orders")
    values = dict(zip(header, row, strict=True))
    assert values["amount"] == "-5.00"
    assert values["category"] == "'+refund"
    assert values["placed_at"] == "2024-03-20T14:30:00+08:00"
    assert (values["customer_external_id"], values["customer_email"]) == ("C1",
                                                                         "ann@example.com")


@pytest.mark.parametrize("value", ["=1+2", "+1", "-1", "@x", "\tx", "\rx"])
def test_neutralize(value):
    assert exporting.neutralize(value) == "'" + value
    assert exporting.neutralize("plain") == "plain"


def test_export_to_a_file_with_a_bom(shop, tmp_path):
    path = tmp_path / "customers.csv"
    err = io.StringIO()
    call_command("export_customers", "--output", str(path), "--bom", stderr=err)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfexternal_id,email,")
    assert "1 rows written" in err.getvalue()


def test_export_streams_in_chunks(django_assert_max_num_queries):
    Customer.objects.bulk_create(Customer(email=f"u{i}@example.com") for i in range(25))
    lines = exporting.csv_lines(exporting.customer_rows(chunk_size=10))
    assert next(lines).startswith("external_id,email")  # nothing read beyond what is needed
    assert len(list(lines)) == 25


def test_an_export_imports_back_unchanged(tmp_path):
    import_csv(source=DATA / "customers_mixed.csv", kind="customers")
    import_csv(source=DATA / "orders.csv", kind="orders")
    customers, orders = tmp_path / "customers.csv", tmp_path / "orders.csv"
    call_command("export_customers", "-o", str(customers), "--bom", stderr=io.StringIO())
    call_command("export_orders", "-o", str(orders), stderr=io.StringIO())

    before = list(Customer.objects.values()), list(Order.objects.values())
    report = import_csv(source=customers, kind="customers")
    assert not report.errors
    # 4 from the customers file, 1 created by the orders file (customer NOPE).
    assert (report.customers.unchanged, report.customers.written) == (5, 0)
    report = import_csv(source=orders, kind="orders")
    assert not report.errors
    assert (report.orders.unchanged, report.orders.written) == (3, 0)
    assert (list(Customer.objects.values()), list(Order.objects.values())) == before


def test_a_neutralized_formula_reimports_as_the_original_text(shop, tmp_path):
    path = tmp_path / "customers.csv"
    call_command("export_customers", "-o", str(path), stderr=io.StringIO())
    shop.delete()
    import_csv(source=path, kind="customers")
    customer = Customer.objects.get()
    assert (customer.name, customer.city) == ("=cmd|' /C calc'!A0", "-Paris")
    assert customer.attributes == {"vip": "gold", "points": -5, "note": "@SUM(A1)"}
