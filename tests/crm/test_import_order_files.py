"""Orders-only exports (Shopify-like, WooCommerce-like) with ``import_orders``; the shop's
currency; negative amounts; the customers_changed signal."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from crm.importing import ImportFileError, import_csv
from crm.models import Customer, Order
from crm.signals import customers_changed

from .conftest import csv_file

pytestmark = pytest.mark.django_db

USD_SHOP = override_settings(RULECAST_CRM={"DEFAULT_CURRENCY": "USD"})

ORDER_ONLY = (
    "customer_id,order_date,amount,items\n"
    "A1,1998-01-03,12.50,2\n"
    "A1,1998-02-10,7.00,1\n"
    "B2,1998-03-01,30.00,3\n"
)
# Shopify's order export: order "Name" (#1001), "Total" beside "Subtotal", "Created at"
# beside "Paid at", the customer by "Email".
SHOPIFY = (
    "Name,Email,Financial Status,Paid at,Currency,Subtotal,Total,Lineitem quantity,"
    "Created at,Lineitem name\n"
    "#1001,ann@example.com,paid,2024-03-20 10:06:00 -0400,USD,90.00,99.50,2,"
    "2024-03-20 10:05:30 -0400,Mug\n"
    "#1002,bob@example.com,refunded,,USD,10.00,-10.00,1,2024-03-21 09:00:00 -0400,Cap\n"
    "#1003,ann@example.com,voided,,USD,5.00,5.00,1,2024-03-22 08:00:00 -0400,Pen\n"
)
# WooCommerce's order export (one row per order).
WOOCOMMERCE = (
    "Order ID,Order Number,Order Status,Order Date,Customer User ID,Billing First Name,"
    "Billing Email,Order Currency,Order Total,Quantity\n"
    "501,501,wc-completed,2024-05-01 12:00:00,7,Cleo,cleo@example.com,USD,45.00,3\n"
    "502,502,wc-processing,2024-05-02 13:30:00,8,Dan,dan@example.com,USD,\"1,250.00\",1\n"
)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_orders", *args, stdout=out)
    return out.getvalue()


def write(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_an_order_only_file_imports_with_import_orders_and_creates_its_customers(tmp_path):
    output = run(write(tmp_path, ORDER_ONLY))

    assert "0 errors" in output
    assert "Customers: 2 were created" in output
    assert "Orders: 3 were created" in output
    a1 = Customer.objects.get(external_id="A1")
    assert sorted(a1.orders.values_list("amount", "item_count")) == [
        (Decimal("7.00"), 1), (Decimal("12.50"), 2)]
    assert Order.objects.get(customer__external_id="B2").placed_at.year == 1998

    again = run(write(tmp_path, ORDER_ONLY))
    assert "Orders: 0 were created, 0 updated, 3 unchanged." in again
    assert Customer.objects.count() == 2


@pytest.mark.parametrize("variant", [
    "customer_id,date,total,qty", "Customer ID,Invoice Date,Price,Quantity",
    "customer_id,order_date,amount,items",
    # a date column named in other words (no alias): taken for the order's date
    "customer_id,created_at_date,revenue,num_items", "Customer ID,Invoice Datetime,Total,Qty",
])
def test_usual_header_variants_need_no_mapping(variant):
    text = variant + "\nA1,2024-01-03,12.50,2\n"
    report = import_csv(source=csv_file(text), kind="orders")
    assert not report.errors
    order = Order.objects.get()
    assert (order.customer.external_id, order.amount, order.item_count) == (
        "A1", Decimal("12.50"), 2)


def test_another_date_is_not_taken_for_the_order_date():
    text = "customer_id,ship_date,amount\nA1,2024-01-03,12.50\n"
    with pytest.raises(ImportFileError, match="no column for placed_at"):
        import_csv(source=csv_file(text), kind="orders")


@USD_SHOP
def test_a_shopify_like_export(tmp_path):
    output = run(write(tmp_path, SHOPIFY))

    assert "0 errors" in output, output
    by_name = {o.external_id: o for o in Order.objects.select_related("customer")}
    assert set(by_name) == {"#1001", "#1002", "#1003"}
    first = by_name["#1001"]
    assert (first.customer.email, first.amount, first.currency, first.item_count) == (
        "ann@example.com", Decimal("99.50"), "USD", 2)
    assert first.placed_at.isoformat() == "2024-03-20T14:05:30+00:00"  # Created at, not Paid at
    assert first.attributes["subtotal"] == 90  # the lesser amount column is kept aside
    assert (by_name["#1002"].status, by_name["#1002"].amount) == ("refunded", Decimal("-10.00"))
    assert by_name["#1003"].status == "cancelled"
    assert Customer.objects.count() == 2


@USD_SHOP
def test_a_woocommerce_like_export(tmp_path):
    output = run(write(tmp_path, WOOCOMMERCE))

    assert "0 errors" in output, output
    orders = {o.external_id: o for o in Order.objects.select_related("customer")}
    assert set(orders) == {"501", "502"}
    assert (orders["501"].customer.external_id, orders["501"].customer.email) == (
        "7", "cleo@example.com")
    assert (orders["502"].amount, orders["502"].status, orders["501"].item_count) == (
        Decimal("1250.00"), "completed", 3)
    assert orders["501"].attributes["order_number"] == 501


@USD_SHOP
def test_a_eur_row_in_a_usd_shop_is_a_row_error():
    text = ("customer_id,order_date,amount,currency\n"
            "A1,2024-01-03,10.00,USD\nA1,2024-01-04,20.00,EUR\nA1,2024-01-05,€30,\n")
    report = import_csv(source=csv_file(text), kind="orders")

    assert [(e.line, e.column, e.value) for e in report.errors] == [
        (3, "currency", "EUR"), (4, "amount", "EUR")]
    assert "in EUR, not the shop's currency USD" in report.errors[0].reason
    assert list(Order.objects.values_list("amount", "currency")) == [(Decimal("10.00"), "USD")]


@USD_SHOP
def test_with_a_rate_another_currency_is_converted(tmp_path):
    text = "customer_id,order_date,amount,currency\nA1,2024-01-04,20.00,EUR\n"
    output = run(write(tmp_path, text), "--rate", "EUR=1.08")

    assert "0 errors" in output
    order = Order.objects.get()
    assert (order.amount, order.currency) == (Decimal("21.60"), "USD")
    assert order.attributes == {"original_amount": "20.00", "original_currency": "EUR"}
    with override_settings(RULECAST_CRM={"DEFAULT_CURRENCY": "USD",
                                         "CURRENCY_RATES": {"EUR": "1.10"}}):
        report = import_csv(source=csv_file(text.replace("2024-01-04", "2024-01-05")),
                            kind="orders")
    assert not report.errors
    assert Order.objects.get(placed_at__day=5).amount == Decimal("22.00")
    with pytest.raises(CommandError, match="--rate expects"):
        run(write(tmp_path, text), "--rate", "EUR")


@USD_SHOP
def test_converted_lines_of_one_order_add_up_in_both_currencies(tmp_path):
    rows = ["order_id,customer_id,order_date,amount,currency"]
    rows += [f"77,A1,2024-01-04,{i}.00,EUR" for i in (20, 5, 1)]
    with override_settings(RULECAST_CRM={"DEFAULT_CURRENCY": "USD", "IMPORT_BATCH_SIZE": 2,
                                         "CURRENCY_RATES": {"EUR": "1.08"}}):
        run(write(tmp_path, "\n".join(rows) + "\n"))  # the third line in a second batch

    order = Order.objects.get()
    assert order.amount == Decimal("21.60") + Decimal("5.40") + Decimal("1.08")
    assert order.attributes == {"original_amount": "26.00", "original_currency": "EUR"}


def test_a_negative_amount_is_a_row_error_unless_the_order_is_refunded():
    text = ("customer_id,order_date,amount,status\n"
            "A1,2024-01-03,-5,completed\nA1,2024-01-04,-6,\nA1,2024-01-05,-7,refunded\n")
    report = import_csv(source=csv_file(text), kind="orders")

    assert [(e.line, e.column) for e in report.errors] == [(2, "amount"), (3, "amount")]
    assert "negative amount" in report.errors[0].reason
    assert list(Order.objects.values_list("amount", "status")) == [(Decimal("-7.00"), "refunded")]


def test_a_latin1_file_is_stored_as_its_text(tmp_path):
    text = "email,name,city\nrenee@example.com,Renée Müller,Zürich\n"
    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode("latin-1"))
    call_command("import_customers", str(path), stdout=io.StringIO())
    assert Customer.objects.values_list("name", "city").get() == ("Renée Müller", "Zürich")


def test_undecodable_bytes_are_row_errors_not_garbled_text():
    # UTF-8 at the start, a Latin-1 byte in a later row: that row is refused.
    text = "email,name\n" + "".join(f"u{i}@example.com,Ann\n" for i in range(5000))
    data = text.encode() + "x@example.com,Ren\xe9e\n".encode("latin-1")
    report = import_csv(source=io.BytesIO(data), kind="customers")
    assert [(e.line, e.column) for e in report.errors] == [(5002, "name")]
    assert "not valid utf-8" in report.errors[0].reason
    assert not Customer.objects.filter(email="x@example.com").exists()


def test_an_import_announces_the_changed_customers():
    received = []

    def receiver(sender, customer_ids, **kwargs):
        received.append(set(customer_ids))

    customers_changed.connect(receiver)
    try:
        import_csv(source=csv_file(ORDER_ONLY), kind="orders")
        ids = set(Customer.objects.values_list("pk", flat=True))
        assert received == [ids]
        import_csv(source=csv_file(ORDER_ONLY), kind="orders")  # nothing changed: no signal
        assert len(received) == 1
        text = "customer_id,order_date,amount,items\nB2,1998-03-01,30.00,4\n"
        import_csv(source=csv_file(text), kind="orders")
        assert received[1] == {Customer.objects.get(external_id="B2").pk}
        import_csv(source=csv_file("email\nnew@example.com\n"), kind="customers")
        assert received[2] == {Customer.objects.get(email="new@example.com").pk}
        import_csv(source=csv_file("email\nz@example.com\n"), kind="customers", dry_run=True)
        assert len(received) == 3
    finally:
        customers_changed.disconnect(receiver)


@pytest.mark.parametrize("settings_dict, error", [
    ({"CURRENCY_RATES": {"EUR": "abc"}}, "crm.E021"),
    ({"CURRENCY_RATES": {"euro": 1}}, "crm.E021"),
    ({"IMPORT_ENCODINGS": ["no-such-codec"]}, "crm.E022"),
    ({"IMPORT_INLINE_MAX_ROWS": -1}, "crm.E023"),
    ({"IMPORT_REBUILD_INDEXES_ROWS": "many"}, "crm.E024"),
    ({"IMPORT_FIRST_LOAD_ROWS": -1}, "crm.E025"),
])
def test_bad_import_settings_are_system_check_errors(settings_dict, error):
    from crm.checks import check_import_settings

    assert check_import_settings(None) == []
    with override_settings(RULECAST_CRM=settings_dict):
        assert [e.id for e in check_import_settings(None)] == [error]


def test_a_large_import_announces_its_customers_in_chunks(monkeypatch):
    from crm.importing import service

    monkeypatch.setattr(service, "ANNOUNCE_CHUNK", 3)
    received = []

    def receiver(sender, customer_ids, **kwargs):
        received.append(set(customer_ids))

    customers_changed.connect(receiver)
    try:
        text = "email\n" + "".join(f"u{i}@example.com\n" for i in range(7))
        import_csv(source=csv_file(text), kind="customers")
    finally:
        customers_changed.disconnect(receiver)
    assert [len(ids) for ids in received] == [3, 3, 1]
    assert set().union(*received) == set(Customer.objects.values_list("pk", flat=True))


def test_new_customers_whose_ids_have_gaps_are_announced_one_by_one(monkeypatch):
    from crm.importing import service

    monkeypatch.setattr(service, "ANNOUNCE_CHUNK", 2)
    before = Customer.objects.create(email="old@example.com").pk
    new = [Customer.objects.create(email=f"n{i}@example.com").pk for i in range(4)]
    Customer.objects.filter(pk=new[1]).delete()  # a gap: the ids are no run
    received = []

    def receiver(sender, customer_ids, **kwargs):
        received.append(set(customer_ids))

    customers_changed.connect(receiver)
    try:
        service._announce(set(), before)
    finally:
        customers_changed.disconnect(receiver)
    assert [len(ids) for ids in received] == [2, 1]
    assert set().union(*received) == {new[0], new[2], new[3]}


# One row per item, as many shops export orders: an order's rows share its id.
LINE_ITEMS = (
    "order_id,customer_id,order_date,status,amount,quantity,sku\n"
    "1001,A1,2024-05-01 10:00,completed,10.00,1,MUG\n"
    "1001,A1,2024-05-01 10:00,,25.50,2,CAP\n"
    "1001,A1,2024-05-01 10:00,,25.50,2,CAP\n"  # the same row again: not a third line
    "1002,B2,2024-05-02 11:00,completed,7.25,1,PEN\n"
)


@USD_SHOP
def test_the_rows_of_one_order_are_its_lines_and_add_up(tmp_path):
    output = run(write(tmp_path, LINE_ITEMS))

    assert "Orders: 2 were created" in output
    assert "1 rows were further lines of an order" in output
    assert "1 rows repeated an earlier row" in output
    order = Order.objects.get(external_id="1001")
    assert (order.amount, order.item_count, order.status) == (Decimal("35.50"), 3, "completed")
    assert order.attributes == {"sku": "MUG"}  # the first line's
    assert Order.objects.get(external_id="1002").amount == Decimal("7.25")
    # The same file again changes nothing; a later file's lines replace the order's.
    assert "Orders: 0 were created, 0 updated, 2 unchanged." in run(write(tmp_path, LINE_ITEMS))
    run(write(tmp_path, "order_id,customer_id,order_date,amount,quantity\n"
                        "1001,A1,2024-05-01 10:00,12.00,1\n1001,A1,2024-05-01 10:00,3.00,1\n"))
    order.refresh_from_db()
    assert (order.amount, order.item_count) == (Decimal("15.00"), 2)



@USD_SHOP
def test_an_orders_lines_in_different_batches_still_add_up(tmp_path):
    rows = ["order_id,customer_id,order_date,amount,quantity"]
    rows += [f"{1000 + i % 3},C{i % 3},2024-05-0{1 + i % 3} 10:00,{i + 1}.00,1" for i in range(9)]
    with override_settings(RULECAST_CRM={"DEFAULT_CURRENCY": "USD", "IMPORT_BATCH_SIZE": 2}):
        output = run(write(tmp_path, "\n".join(rows) + "\n"))

    # Their lines in later batches add to the orders this import made: no "update".
    assert "Orders: 3 were created, 0 updated" in output
    assert "6 rows were further lines" in output
    # Order 1000 has lines 1, 4 and 7 (amounts 1, 4, 7), in three batches.
    assert sorted(Order.objects.values_list("external_id", "amount", "item_count")) == [
        ("1000", Decimal("12.00"), 3), ("1001", Decimal("15.00"), 3),
        ("1002", Decimal("18.00"), 3)]


def test_a_stored_report_reads_back_across_versions():
    from crm.importing.report import ImportReport

    report = import_csv(source=csv_file(ORDER_ONLY), kind="orders")
    stored = report.as_dict()
    assert ImportReport.from_dict(stored) == report
    # Written by a newer worker (a key this code does not know), or by an older one.
    newer = ImportReport.from_dict({**stored, "something_new": 1})
    older = ImportReport.from_dict({k: v for k, v in stored.items() if k != "order_lines"})
    assert newer == report and older.order_lines == 0


# Shopify's export with an order of two items: the order's values (total, status, paid
# at) on its first row only; each row its item and quantity.
SHOPIFY_LINES = (
    "Name,Email,Financial Status,Paid at,Currency,Subtotal,Total,Lineitem quantity,"
    "Created at,Lineitem name\n"
    "#1001,ann@example.com,paid,2024-03-20 10:06:00 -0400,USD,90.00,99.50,2,"
    "2024-03-20 10:05:30 -0400,Mug\n"
    "#1001,ann@example.com,,,,,,1,2024-03-20 10:05:30 -0400,Cap\n"
    "#1002,bob@example.com,,,,,,1,2024-03-21 09:00:00 -0400,Pen\n"
)


@USD_SHOP
def test_a_shopify_export_with_a_row_per_item(tmp_path):
    output = run(write(tmp_path, SHOPIFY_LINES))

    order = Order.objects.get(external_id="#1001")
    assert (order.amount, order.item_count, order.status) == (Decimal("99.50"), 3, "completed")
    assert order.attributes["lineitem_name"] == "Mug"
    assert "1 rows were further lines of an order" in output
    # An order whose first row has no total is still refused, and says why.
    assert "line 4: Total: the order's amount is missing" in output
    assert not Order.objects.filter(external_id="#1002").exists()


@USD_SHOP
def test_a_shopify_orders_lines_without_amount_in_the_next_batch(tmp_path):
    header, first, *lines = SHOPIFY_LINES.splitlines()[:3]
    rows = [header, first, *lines * 3]  # three more rows of #1001, items only
    with override_settings(RULECAST_CRM={"DEFAULT_CURRENCY": "USD", "IMPORT_BATCH_SIZE": 1}):
        output = run(write(tmp_path, "\n".join(rows) + "\n"))

    assert "0 errors" in output
    order = Order.objects.get(external_id="#1001")
    assert (order.amount, order.item_count) == (Decimal("99.50"), 2 + 1)  # a repeat: once
