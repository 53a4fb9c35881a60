"""The admin's import: upload, the first rows with a dropdown per column, a dry run with
row errors, the import (in the request, or in a real Celery worker with a progress
bar), the report. Nobody types JSON or field names."""

from __future__ import annotations

import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from crm.importing.labels import CUSTOMER_EXTRA, ORDER_EXTRA
from crm.models import ColumnMapping, Customer, ImportJob, ImportStatus, Order
from segmentation.receivers import PendingRefresh

from .conftest import DATA, SHARED_SALES

pytestmark = pytest.mark.django_db

SALES_HEADER = ["Customer ID", "Age", "Gender", "Loyalty Member", "Product Type", "SKU",
                "Rating", "Order Status", "Payment Method", "Total Price", "Unit Price",
                "Quantity", "Purchase Date", "Shipping Type", "Add-ons Purchased",
                "Add-on Total"]


def upload(client, changelist: str, path, kind: str, headers=None, **extra):
    """Post a file to step 1; return the job's page (after the redirect)."""
    url = reverse(f"admin:crm_{changelist}_import")
    file = SimpleUploadedFile(path.name, path.read_bytes())
    return client.post(url, {"file": file, "kind": kind, **extra}, follow=True,
                       **(headers or {}))


def column_data(response, **changes: str) -> dict[str, str]:
    """The column dropdowns as prefilled, with some changed (by header)."""
    form = response.context["form"]
    data = {}
    for index, header in enumerate(form.header):
        data[f"column_{index}"] = changes.get(header, form[f"column_{index}"].initial)
    return data


def test_upload_shows_the_first_rows_with_a_labelled_dropdown_per_column(admin_client):
    response = upload(admin_client, "order", SHARED_SALES, "customers_and_orders")

    assert response.status_code == 200
    job = ImportJob.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:crm_order_import_job", args=[job.pk])
    assert (job.kind, job.status, job.rows_total) == ("customers_and_orders", "uploaded", 20000)
    preview = response.context["preview"]
    assert preview.header == SALES_HEADER
    assert preview.rows[0][:3] == ["1000", "53", "Male"]
    assert len(preview.rows) == 5
    form = response.context["form"]
    # Prefilled from the headers: what an import without a mapping would read.
    initial = {header: form[f"column_{i}"].initial for i, header in enumerate(form.header)}
    assert initial["Customer ID"] == "external_id"
    assert initial["Gender"] == "gender"
    assert initial["Total Price"] == "amount"
    assert initial["Quantity"] == "item_count"
    assert initial["Order Status"] == "status"
    assert initial["Purchase Date"] == "placed_at"
    assert initial["SKU"] == ORDER_EXTRA
    html = response.content.decode()
    # Labels a person reads, never field names to type.
    assert "Order date" in html and "Amount paid" in html and "Customer number" in html
    assert "placed_at" not in re.sub(r'value="[^"]*"', "", html)
    assert "<textarea" not in html


def test_dropdown_labels_follow_the_users_language(admin_client):
    response = upload(admin_client, "order", DATA / "orders.csv", "orders",
                      headers={"HTTP_ACCEPT_LANGUAGE": "zh-hans"})
    html = response.content.decode()
    assert "订单日期" in html  # "Order date"


def test_a_dry_run_shows_row_errors_and_writes_nothing(admin_client):
    response = upload(admin_client, "customer", DATA / "customers_mixed_gbk.csv", "customers")
    job_url = response.redirect_chain[-1][0]
    response = admin_client.post(job_url, {**column_data(response), "_check": "1"})

    report = response.context["report"]
    assert report.dry_run and (report.customers.created, report.error_count) == (4, 3)
    html = response.content.decode()
    assert "Dry run: nothing was written" in html
    for line, column, reason in [(3, "external_id / email", "neither an email nor an external id"),
                                 (4, "email", "not a valid email address"),
                                 (5, "birth_date", "not a valid date")]:
        assert f"<td>{line}</td><td>{column}</td><td>{reason}</td>" in html
    assert not Customer.objects.exists()
    assert ImportJob.objects.get().status == "uploaded"  # the page still offers the import


def test_the_electronic_sales_file_imports_through_the_mapping_page(
        admin_client, django_capture_on_commit_callbacks):
    response = upload(admin_client, "order", SHARED_SALES, "customers_and_orders")
    job_url = response.redirect_chain[-1][0]
    choices = column_data(response, **{"Age": "age", "Loyalty Member": CUSTOMER_EXTRA,
                                       "Product Type": "category"})

    # 20,000 rows: more than IMPORT_INLINE_MAX_ROWS, so a Celery task (eager here; a real
    # worker in the test below) imports it once the request's transaction commits.
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = admin_client.post(job_url, {**choices, "date_format": "%Y-%m-%d",
                                               "save_as": "Electronics", "_import": "1"})
    # The import task, then the live refresh of the customers it changed.
    assert len(queued) == 2 and isinstance(queued[1], PendingRefresh)
    response = admin_client.get(job_url)

    assert response.status_code == 200
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE
    assert job.rows_done == 20000 and job.data == b""  # the report is what is kept
    report = response.context["report"]
    assert (report.customers.created, report.orders.created, report.error_count) == (
        12136, 20000, 0)
    assert 'id="import-report"' in response.content.decode()
    assert Customer.objects.count() == 12136 and Order.objects.count() == 20000
    customer = Customer.objects.get(external_id="1000")
    assert customer.attributes["age"] == 53 and customer.attributes["loyalty_member"] == "No"
    assert set(customer.orders.values_list("category", flat=True)) == {"Smartphone", "Tablet"}
    # The choices were saved, and preselected for the next file like this one.
    saved = ColumnMapping.objects.get(name="Electronics")
    assert (saved.kind, saved.columns["age"], saved.date_format) == (
        "customers_and_orders", "Age", "%Y-%m-%d")
    response = upload(admin_client, "order", SHARED_SALES, "customers_and_orders")
    assert response.context["saved_mapping"] == saved
    assert response.context["form"]["column_1"].initial == "age"


def test_a_saved_mapping_chosen_at_upload_prefills_its_choices_and_value_translations(
        admin_client):
    saved = ColumnMapping.objects.create(
        name="Shop", kind="customers_and_orders",
        columns={"external_id": "Customer ID", "email": "Mail", "amount": "Total Price",
                 "placed_at": "Order Date", "status": "Order Status"},
        values={"status": {"Completed": "completed", "Cancelled": "cancelled"}},
    )
    response = upload(admin_client, "order", DATA / "shop_export.csv", "customers_and_orders",
                      mapping=saved.pk)
    form = response.context["form"]
    assert [form[f"column_{i}"].initial for i in range(2)] == ["external_id", "email"]
    response = admin_client.post(response.redirect_chain[-1][0],
                                 {**column_data(response), "_import": "1"}, follow=True)
    assert response.context["report"].orders.created == 4
    assert (Customer.objects.count(), Order.objects.count()) == (2, 4)


def test_missing_and_doubled_choices_are_explained_with_labels(admin_client):
    response = upload(admin_client, "order", DATA / "orders.csv", "orders")
    job_url = response.redirect_chain[-1][0]
    response = admin_client.post(job_url, {
        **column_data(response, placed_at=ORDER_EXTRA, amount="item_count"), "_import": "1"})

    errors = " ".join(response.context["form"].non_field_errors())
    assert "“Number of items” is chosen for more than one column." in errors
    assert "Choose the column that holds: Order date." in errors
    assert "Choose the column that holds: Amount paid." in errors
    assert not Order.objects.exists()


def test_a_mapping_for_another_kind_and_unreadable_files_are_refused(admin_client):
    mapping = ColumnMapping.objects.create(name="Orders", kind="orders", columns={})
    url = reverse("admin:crm_customer_import")
    response = admin_client.post(url, {
        "file": SimpleUploadedFile("c.csv", b"email\na@example.com\n"), "kind": "customers",
        "mapping": mapping.pk})
    assert "saved for another kind of file" in response.content.decode()
    response = admin_client.post(url, {
        "file": SimpleUploadedFile("c.csv", b""), "kind": "customers"})
    assert response.status_code == 200 and not ImportJob.objects.exists()


def test_the_job_pages_need_the_import_permission(client, admin_client):
    from django.contrib.auth.models import Permission, User

    response = upload(admin_client, "customer", DATA / "customers_mixed.csv", "customers")
    job = ImportJob.objects.get()
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(user)
    for name in ("import_job", "import_status"):
        assert client.get(reverse(f"admin:crm_customer_{name}", args=[job.pk])).status_code == 403
    assert response.status_code == 200


@pytest.mark.worker
@pytest.mark.slow
@override_settings(RULECAST_CRM={"IMPORT_INLINE_MAX_ROWS": 100, "IMPORT_BATCH_SIZE": 2000})
def test_a_large_file_is_imported_by_a_celery_worker_with_progress(
        celery_worker, admin_client):
    response = upload(admin_client, "order", SHARED_SALES, "customers_and_orders")
    job_url = response.redirect_chain[-1][0]
    response = admin_client.post(job_url, {**column_data(response), "_import": "1"},
                                 follow=True)

    job = ImportJob.objects.get()
    html = response.content.decode()
    assert 'id="import-progress"' in html  # a progress bar while the worker imports
    status_url = reverse("admin:crm_order_import_status", args=[job.pk])
    states = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = admin_client.get(status_url).json()
        states.append((state["status"], state["rows_done"]))
        if state["finished"]:
            break
        time.sleep(0.2)
    assert state["status"] == "done", states
    assert state["rows_done"] == state["rows_total"] == 20000
    assert Order.objects.count() == 20000
    response = admin_client.get(job_url)
    assert response.context["report"].orders.created == 20000


def test_a_job_that_crashes_is_marked_failed_and_says_why(admin_client, monkeypatch):
    from crm.importing import jobs

    upload(admin_client, "customer", DATA / "customers_mixed.csv", "customers")
    job = ImportJob.objects.get()

    def crash(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(jobs, "import_csv", crash)
    with pytest.raises(RuntimeError):
        jobs.run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    response = admin_client.get(reverse("admin:crm_customer_import_job", args=[job.pk]))
    assert "RuntimeError: the database went away" in response.content.decode()


def test_an_order_only_file_in_the_admin_creates_its_customers(admin_client, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_date,amount,items\nA1,1998-01-03,12.50,2\n"
                    "B2,1998-03-01,30.00,3\n", encoding="utf-8")
    response = upload(admin_client, "order", path, "orders")
    form = response.context["form"]
    assert [form[f"column_{i}"].initial for i in range(4)] == [
        "customer_external_id", "placed_at", "amount", "item_count"]
    response = admin_client.post(response.redirect_chain[-1][0],
                                 {**column_data(response), "_import": "1"}, follow=True)
    report = response.context["report"]
    assert (report.customers.created, report.orders.created) == (2, 2)
    assert "Customers created / updated / unchanged" in response.content.decode()
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["A1", "B2"]


def test_a_file_without_header_line_is_named_from_its_values_in_the_admin(admin_client,
                                                                          tmp_path):
    path = tmp_path / "orders.txt"
    path.write_text("00001 19970101  1  11.77\n00002 19970112  5  77.00\n", encoding="utf-8")
    response = upload(admin_client, "order", path, "orders")
    preview, form = response.context["preview"], response.context["form"]
    assert ImportJob.objects.get().rows_total == 2
    assert preview.header == ["column_1", "column_2", "column_3", "column_4"]
    assert preview.rows[0] == ["00001", "19970101", "1", "11.77"]  # line 1 is a record
    assert [form[f"column_{i}"].initial for i in range(4)] == [
        "customer_external_id", "placed_at", "item_count", "amount"]
    response = admin_client.post(response.redirect_chain[-1][0],
                                 {**column_data(response), "_import": "1"}, follow=True)
    report = response.context["report"]
    assert (report.customers.created, report.orders.created, report.error_count) == (2, 2, 0)
    assert sorted(Order.objects.values_list("customer__external_id", "item_count")) == [
        ("00001", 1), ("00002", 5)]
