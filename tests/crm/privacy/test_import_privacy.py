"""Uploads and import reports lose an erased person's address; abandoned uploads expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import ImportJob, ImportKind, ImportStatus
from crm.privacy.services import apply_retention, erase_customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_erasure_blanks_uploads_and_redacts_reports_holding_the_address():
    ann = CustomerFactory(email="ann.erased@example.com")
    holding = ImportJob.objects.create(
        file_name="c.csv", kind=ImportKind.CUSTOMERS, data=b"email\nANN.erased@example.com\n",
        report={"errors": [{"line": 2, "value": "ann.erased@example.com", "reason": "x"}]})
    other = ImportJob.objects.create(
        file_name="d.csv", kind=ImportKind.CUSTOMERS, data=b"email\nbob@example.com\n",
        report={"errors": [{"line": 2, "value": "bob@example.com"}]})

    report = erase_customer(customer=ann)

    holding.refresh_from_db()
    other.refresh_from_db()
    assert bytes(holding.data) == b""
    assert holding.report == {"errors": [{"line": 2, "value": "[erased]", "reason": "x"}]}
    assert bytes(other.data) == b"email\nbob@example.com\n"
    assert other.report["errors"][0]["value"] == "bob@example.com"
    assert report.counts["imports.uploads_blanked"] == 1
    assert report.counts["imports.reports_redacted"] == 1


def test_retention_deletes_uploads_never_imported_after_a_week():
    old = ImportJob.objects.create(file_name="old.csv", kind=ImportKind.ORDERS, data=b"x")
    done = ImportJob.objects.create(file_name="done.csv", kind=ImportKind.ORDERS, data=b"",
                                    status=ImportStatus.DONE)
    fresh = ImportJob.objects.create(file_name="new.csv", kind=ImportKind.ORDERS, data=b"x")
    week_ago = timezone.now() - timedelta(days=8)
    ImportJob.objects.filter(pk__in=[old.pk, done.pk]).update(created_at=week_ago)

    counts = apply_retention(now=timezone.now())

    assert counts["imports.abandoned_uploads"] == 1
    assert set(ImportJob.objects.values_list("pk", flat=True)) == {done.pk, fresh.pk}
