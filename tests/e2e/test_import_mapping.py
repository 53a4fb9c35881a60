"""Importing the real electronic sales file through the admin's mapping page, in Chromium.

Upload, read the first rows, change two columns' meaning in their dropdowns (by label),
check the file (a dry run), import it: a real Celery worker imports it (the file has
more rows than the request imports itself), the page shows a progress bar, then the
report. Nothing is typed but the name the choices are saved under.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from crm.models import ColumnMapping, Customer, ImportJob, Order
from tests.crm.conftest import SHARED_SALES
from tests.e2e.conftest import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # no dev extra: the browser fixture skips the tests (fails them in CI)
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.worker]

IMPORT_TIMEOUT_MS = 180_000


def column_select(page, header: str):
    """The dropdown above the column whose header is ``header``."""
    headers = page.locator("#import-columns thead tr").nth(1).locator("th")
    names = [name.strip() for name in headers.all_text_contents()]  # CSS upper-cases them
    index = names.index(header)
    return page.locator("#import-columns thead tr").first.locator("select").nth(index)


def selected_label(select) -> str:
    return select.evaluate("s => s.options[s.selectedIndex].text")


@override_settings(RULECAST_CRM={"IMPORT_INLINE_MAX_ROWS": 1000})
def test_the_electronic_sales_file_through_the_mapping_page(pages, admin_user, celery_worker):
    page = pages.new()
    log_in(page, admin_user)
    page.goto("/admin/crm/order/")
    page.get_by_role("link", name="Import CSV").click()
    page.select_option("#id_kind", "customers_and_orders")
    page.set_input_files("#id_file", str(SHARED_SALES))
    page.locator("#import-form [type=submit]").click()

    # --- the first rows, a labelled dropdown per column, guessed from the headers --------
    expect(page.locator("#import-columns tbody tr")).to_have_count(5)
    expect(page.locator("#import-columns tbody tr").first).to_contain_text("Smartphone")
    assert selected_label(column_select(page, "Customer ID")) == "Customer number (in your shop)"
    assert selected_label(column_select(page, "Purchase Date")) == "Order date"
    assert selected_label(column_select(page, "Total Price")) == "Amount paid"
    assert selected_label(column_select(page, "Quantity")) == "Number of items"
    assert selected_label(column_select(page, "Age")) == "Age (years)"
    assert selected_label(column_select(page, "Product Type")) == "Product category"
    assert selected_label(column_select(page, "Loyalty Member")) == (
        "Keep as extra information about the order")
    assert page.locator("#import-columns-form textarea").count() == 0  # no JSON anywhere

    # --- the shop owner corrects two columns, by label ---------------------------------
    column_select(page, "Loyalty Member").select_option(
        label="Keep as extra information about the customer")
    column_select(page, "Shipping Type").select_option(label="Sales channel")
    page.select_option("#id_date_format", "%Y-%m-%d")
    page.fill("#id_save_as", "Electronics")

    # --- a dry run: the report, nothing written ----------------------------------------
    page.locator("#import-columns-form [name=_check]").click()
    report = page.locator("#import-report")
    expect(report).to_contain_text("Dry run: nothing was written")
    expect(report.locator("tr", has_text="Rows with errors").locator("td")).to_have_text("0")
    assert not Order.objects.exists()
    # The choices stay as corrected.
    assert selected_label(column_select(page, "Shipping Type")) == "Sales channel"

    # --- the import: a worker runs it, the page shows its progress, then the report ---
    page.locator("#import-columns-form [name=_import]").click()
    expect(page.locator("#import-progress")).to_be_visible()
    report = page.locator("#import-report")
    expect(report).to_be_visible(timeout=IMPORT_TIMEOUT_MS)
    expect(report.locator("h2")).to_have_text("Import report")
    expect(report.locator("tr", has_text="Customers created").locator("td")).to_have_text(
        "12136 / 0 / 0")
    expect(report.locator("tr", has_text="Orders created").locator("td")).to_have_text(
        "20000 / 0 / 0")
    assert ImportJob.objects.get().rows_done == 20000
    assert Customer.objects.count() == 12136 and Order.objects.count() == 20000
    customer = Customer.objects.get(external_id="1000")
    assert (customer.attributes["age"], customer.attributes["loyalty_member"]) == (53, "No")
    assert set(customer.orders.values_list("channel", flat=True)) == {"Standard", "Overnight"}
    assert ColumnMapping.objects.get(name="Electronics").columns["channel"] == "Shipping Type"
