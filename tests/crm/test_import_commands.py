"""The import commands: options, printed report, exit status."""

import io

import pytest
from django.core.management import CommandError, call_command

from crm.models import ColumnMapping, Customer, Order

from .conftest import DATA, SALES_MAPPING

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_import_customers_prints_a_summary_and_each_bad_row():
    output = run("import_customers", str(DATA / "customers_mixed_gbk.csv"))
    assert "8 rows read (gb18030, delimiter ',')" in output
    assert "Customers: 4 were created, 0 updated, 0 unchanged." in output
    assert "line 3: external_id / email: neither an email nor an external id" in output
    assert "line 4: email: not a valid email address ('not-an-email')" in output
    assert "line 5: birth_date: not a valid date ('31/02/2020')" in output
    assert Customer.objects.count() == 4


def test_dry_run_writes_nothing():
    output = run("import_customers", str(DATA / "customers_mixed.csv"), "--dry-run")
    assert "Customers: 4 would be created" in output
    assert "Dry run: nothing was written." in output
    assert not Customer.objects.exists()


def test_map_options_and_a_saved_mapping_by_name():
    output = run("import_sales", str(DATA / "shop_export.csv"),
                 "--mapping-file", str(DATA / "shop_export_mapping.json"))
    assert "Saved the column mapping 'Shop export'." in output
    assert Order.objects.count() == 4
    assert ColumnMapping.objects.get().name == "Shop export"

    output = run("import_sales", str(DATA / "shop_export.csv"), "--mapping", "Shop export")
    assert "Orders: 0 were created, 0 updated, 4 unchanged." in output


def test_map_options_alone(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("Client Number,Mail\n7,a@example.com\n", encoding="utf-8")
    run("import_customers", str(path), "--map", "external_id=Client Number",
        "--map", 'email="Mail"')
    assert list(Customer.objects.values_list("external_id", "email")) == [("7", "a@example.com")]


def test_a_file_that_cannot_be_read_exits_non_zero(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("name\nAnn\n", encoding="utf-8")
    with pytest.raises(CommandError, match="no column for external_id or email"):
        run("import_customers", str(path))
    with pytest.raises(CommandError, match="no such file"):
        run("import_customers", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="'Customer ID' .* is not in the file"):
        run("import_customers", str(path), "--map", "external_id=Customer ID")


def test_a_mapping_for_another_kind_is_refused():
    ColumnMapping.objects.create(name="Orders", kind="orders", columns={})
    with pytest.raises(CommandError, match="is for orders"):
        run("import_customers", str(DATA / "customers_mixed.csv"), "--mapping", "Orders")
    with pytest.raises(CommandError, match="no saved column mapping 'Nope'"):
        run("import_customers", str(DATA / "customers_mixed.csv"), "--mapping", "Nope")


def test_import_orders_command():
    run("import_customers", str(DATA / "customers_mixed.csv"))
    output = run("import_orders", str(DATA / "orders.csv"))
    assert "Customers: 1 were created" in output  # NOPE, not seen before
    assert "Orders: 3 were created" in output
    assert "line 6: currency: the amount is in USD, not the shop's currency CNY" in output


def test_a_mapping_file_alone_is_saved_for_the_admin():
    output = run("import_sales", "--mapping-file", str(SALES_MAPPING))
    assert output.strip() == "Saved the column mapping 'Electronic sales'."
    saved = ColumnMapping.objects.get()
    assert (saved.name, saved.kind) == ("Electronic sales", "customers_and_orders")
    assert saved.values["status"] == {"Completed": "completed", "Cancelled": "cancelled"}
    with pytest.raises(CommandError, match="is for customers_and_orders"):
        run("import_customers", "--mapping-file", str(SALES_MAPPING))
    with pytest.raises(CommandError, match="give a CSV file"):
        run("import_customers")
