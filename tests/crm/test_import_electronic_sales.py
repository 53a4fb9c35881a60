"""The real electronic_sales.csv (customers and orders in one file, no emails) imports
through the mapping shipped in crm/importing/mappings."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from crm.models import ColumnMapping, Customer, Order

from .conftest import SALES_MAPPING, SHARED_SALES

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_sales", str(SHARED_SALES), *args, stdout=out)
    return out.getvalue()


def test_electronic_sales_imports_and_reimports_without_changes():
    output = run("--mapping-file", str(SALES_MAPPING))

    assert "Customers: 12136 were created" in output
    assert "Orders: 20000 were created" in output
    assert "0 errors" in output
    assert Customer.objects.count() == 12136
    assert Order.objects.count() == 20000
    assert Order.objects.filter(status="cancelled").count() == 6568
    assert Order.objects.filter(status="completed").count() == 13432
    saved = ColumnMapping.objects.get(name="Electronic sales")
    assert saved.kind == "customers_and_orders"
    assert saved.columns["external_id"] == "Customer ID"

    # Customer 1000: age 53 on 2024-03-20, two orders, the first cancelled.
    customer = Customer.objects.get(external_id="1000")
    assert customer.email is None and customer.gender == "male"
    assert customer.attributes == {"age": 53, "loyalty_member": False,
                                   "birth_date_estimated": True}
    assert customer.birth_date.year == 2024 - 53
    orders = list(customer.orders.order_by("placed_at"))
    assert [(str(o.amount), o.item_count, o.category, o.status) for o in orders] == [
        ("5538.33", 7, "Smartphone", "cancelled"), ("741.09", 3, "Tablet", "completed"),
    ]
    assert orders[0].attributes == {
        "sku": "SKU1004", "rating": 2, "payment_method": "Credit Card", "unit_price": 791.19,
        "shipping_type": "Standard", "add_ons": "Accessory,Accessory,Accessory",
        "add_on_total": 40.21,
    }
    # The loyalty flag of customer 1002 changes between its rows: the later row wins.
    assert Customer.objects.get(external_id="1002").attributes["loyalty_member"] is True
    # The last row's gender is #N/A: imported, gender unknown.
    assert Customer.objects.get(external_id="19998").gender == ""
    # No order has an id in the file: each has a stable import key instead.
    assert not Order.objects.filter(import_key__isnull=True).exists()
    assert not Order.objects.values("import_key").annotate(n=Count("id")).filter(n__gt=1)

    updated_at = dict(Customer.objects.values_list("id", "updated_at"))
    orders_before = list(Order.objects.order_by("id").values())
    output = run("--mapping", "Electronic sales")
    assert "Customers: 0 were created, 0 updated, 12136 unchanged." in output
    assert "Orders: 0 were created, 0 updated, 20000 unchanged." in output
    assert dict(Customer.objects.values_list("id", "updated_at")) == updated_at
    assert list(Order.objects.order_by("id").values()) == orders_before


def test_an_export_of_the_orders_imports_back_without_changes(tmp_path):
    """Issue 10: export_orders, then import_orders of that file, changes nothing (the
    orders have no id: their keys come from customer, time, amount and position)."""
    run("--mapping-file", str(SALES_MAPPING))
    exported = tmp_path / "orders.csv"
    call_command("export_orders", "-o", str(exported), stderr=io.StringIO())
    customers_before = list(Customer.objects.order_by("id").values())
    orders_before = list(Order.objects.order_by("id").values())

    out = io.StringIO()
    call_command("import_orders", str(exported), stdout=out)
    output = out.getvalue()

    assert "0 errors" in output
    assert "Orders: 0 were created, 0 updated, 20000 unchanged." in output
    assert list(Customer.objects.order_by("id").values()) == customers_before
    assert list(Order.objects.order_by("id").values()) == orders_before
