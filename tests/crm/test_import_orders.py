"""Importing orders, and customers with their orders from one file through a mapping."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm.importing import ImportFileError, ImportMapping, import_csv, read_mapping_file
from crm.models import Customer, Order, OrderStatus

from .conftest import DATA, csv_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers():
    import_csv(source=DATA / "customers_mixed.csv", kind="customers")


def test_orders_find_their_customer_by_external_id_or_email(customers):
    report = import_csv(source=DATA / "orders.csv", kind="orders")

    assert report.orders.created == 3
    assert report.customers.created == 1  # NOPE: an orders file brings its new customers
    assert [(e.line, e.column, e.reason, e.value) for e in report.errors] == [
        (5, "amount", "not an amount", "abc"),
        (6, "currency", "the amount is in USD, not the shop's currency CNY (give an exchange "
         "rate for USD)", "USD"),
    ]
    assert Order.objects.get(external_id="O-3").customer.external_id == "NOPE"
    first = Order.objects.get(external_id="O-1")
    assert first.customer.external_id == "C001"
    assert first.amount == Decimal("1234.50")
    assert first.currency == "CNY"  # the default
    assert first.placed_at == datetime(2024, 3, 20, 14, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert (first.item_count, first.category, first.channel) == (2, "Books", "web")
    assert first.status == OrderStatus.COMPLETED
    assert first.attributes == {"coupon": "SPRING"}
    second = Order.objects.get(external_id="O-2")
    assert second.customer.email == "ann@example.com"
    assert (second.amount, second.currency, second.status) == (
        Decimal("88.00"), "CNY", OrderStatus.CANCELLED
    )
    assert not Order.objects.filter(external_id="O-5").exists()

    before = list(Order.objects.values())
    again = import_csv(source=DATA / "orders.csv", kind="orders")
    assert (again.orders.created, again.orders.updated, again.orders.unchanged) == (0, 0, 3)
    assert list(Order.objects.values()) == before


def test_a_changed_order_is_updated(customers):
    import_csv(source=DATA / "orders.csv", kind="orders")
    text = ("order_id,customer_external_id,placed_at,amount,status\n"
            "O-1,C001,2024-03-20 14:30,5,refunded\n")
    report = import_csv(source=csv_file(text), kind="orders")
    assert (report.orders.updated, report.orders.created) == (1, 0)
    order = Order.objects.get(external_id="O-1")
    assert (order.amount, order.status, order.category) == (Decimal("5.00"), "refunded", "Books")


def test_orders_without_date_or_amount_are_refused(customers):
    text = "customer_external_id,placed_at,amount\nC001,,5\nC001,2024-01-01,\n"
    report = import_csv(source=csv_file(text), kind="orders")
    assert [(e.line, e.column) for e in report.errors] == [(2, "placed_at"), (3, "amount")]


def test_an_orders_file_needs_a_customer_date_and_amount_column():
    with pytest.raises(ImportFileError, match="customer_external_id or customer_email"):
        import_csv(source=csv_file("placed_at,amount\n2024-01-01,5\n"), kind="orders")


def test_customers_and_orders_from_one_file_with_a_mapping():
    shipped = read_mapping_file(DATA / "shop_export_mapping.json")
    assert (shipped.name, shipped.kind) == ("Shop export", "customers_and_orders")
    report = import_csv(source=DATA / "shop_export.csv", kind=shipped.kind,
                        mapping=shipped.mapping)

    assert not report.errors
    assert report.delimiter == ";"
    assert report.customers.created == 2
    assert report.orders.created == 4  # the two identical rows are two orders
    k1 = Customer.objects.get(external_id="K1")
    assert (k1.email, k1.name, k1.gender) == ("k1@example.com", "张伟", "male")
    assert sorted(k1.orders.values_list("amount", "status")) == [
        (Decimal("99.00"), "cancelled"), (Decimal("1234.50"), "completed"),
    ]
    assert k1.orders.filter(attributes__payment="Alipay").exists()
    k2_keys = set(Order.objects.filter(customer__external_id="K2")
                  .values_list("external_id", "import_key"))
    assert len(k2_keys) == 2 and all(ext is None and key for ext, key in k2_keys)

    before = list(Order.objects.values()), list(Customer.objects.values())
    again = import_csv(source=DATA / "shop_export.csv", kind=shipped.kind,
                       mapping=shipped.mapping)
    assert (again.customers.created, again.orders.created) == (0, 0)
    assert (again.customers.updated, again.orders.updated) == (0, 0)
    assert (list(Order.objects.values()), list(Customer.objects.values())) == before


def test_map_options_on_top_of_header_names():
    text = "Client,Total,When\nA1,10,2024-05-01\n"
    mapping = ImportMapping({"external_id": "Client", "amount": "Total", "placed_at": "When"})
    report = import_csv(source=csv_file(text), kind="customers_and_orders", mapping=mapping)
    assert (report.customers.created, report.orders.created) == (1, 1)
    assert Order.objects.get().customer.external_id == "A1"
    assert report.columns == {"Client": "customer.external_id", "Total": "order.amount",
                              "When": "order.placed_at"}


def test_a_mapped_column_missing_from_the_file_is_a_file_error():
    mapping = ImportMapping({"external_id": "Customer ID"})
    with pytest.raises(ImportFileError, match="'Customer ID' .* is not in the file"):
        import_csv(source=csv_file("id,email\n1,a@example.com\n"), kind="customers",
                   mapping=mapping)


def test_an_unknown_field_in_a_mapping_is_a_file_error():
    with pytest.raises(ImportFileError, match="unknown field"):
        import_csv(source=csv_file("a\n1\n"), kind="customers",
                   mapping=ImportMapping({"shoe_size": "a"}))


def test_value_mappings_translate_before_parsing():
    text = "email,Member,Gender\na@example.com,Y,Herr\n"
    mapping = ImportMapping(
        {"attributes.member": "Member", "gender": "Gender"},
        {"attributes.member": {"y": True, "n": False}, "gender": {"Herr": "male"}},
    )
    report = import_csv(source=csv_file(text), kind="customers", mapping=mapping)
    assert not report.errors
    customer = Customer.objects.get()
    assert (customer.attributes, customer.gender) == ({"member": True}, "male")
