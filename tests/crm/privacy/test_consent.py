"""Every change of email consent is recorded with its time, source and actor."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns import services as campaign_services
from campaigns.services.provider_events import ProviderReport
from campaigns.tokens import make_token
from crm.importing import import_csv
from crm.models import ConsentStatus, Customer
from crm.privacy.models import ConsentRecord, ConsentSource
from tests.crm.conftest import csv_file
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def history(customer) -> list[tuple[str, str]]:
    return list(ConsentRecord.objects.filter(customer=customer).order_by("occurred_at", "pk")
                .values_list("status", "source"))


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=admin_user.pk))
    return client


def test_the_admin_records_a_change_with_its_user(admin_client, admin_user):
    customer = CustomerFactory(consent_status=ConsentStatus.UNKNOWN)
    url = reverse("admin:crm_customer_change", args=[customer.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items()
            if value is not None and name in form.fields}
    data.update({"consent_status": "granted", "attributes": "{}",
                 "signed_up_at_0": "", "signed_up_at_1": "", "consent_at_0": "",
                 "consent_at_1": "", "unsubscribed_at_0": "", "unsubscribed_at_1": "",
                 "orders-TOTAL_FORMS": "0", "orders-INITIAL_FORMS": "0",
                 "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.status, record.source, record.actor) == ("granted", "admin", admin_user)
    page = admin_client.get(url).content.decode()
    assert "Consent history" in page or "consent history" in page
    admin_client.post(url, data)  # saving again without a change records nothing
    assert ConsentRecord.objects.filter(customer=customer).count() == 1


def test_the_api_records_create_update_and_bulk(api, admin_user):
    created = api.post(reverse("customer-list"),
                       {"email": "api@example.com", "consent_status": "granted"}, format="json")
    customer = Customer.objects.get(pk=created.json()["id"])
    api.patch(reverse("customer-detail", args=[customer.pk]),
              {"consent_status": "withdrawn"}, format="json")
    api.patch(reverse("customer-detail", args=[customer.pk]), {"name": "Same"}, format="json")
    api.post(reverse("customer-bulk"), {"items": [
        {"email": "api@example.com", "consent_status": "granted"},
        {"email": "bulk@example.com", "consent_status": "granted"},
    ]}, format="json")
    assert history(customer) == [("granted", "api"), ("withdrawn", "api"), ("granted", "api")]
    assert history(Customer.objects.get(email="bulk@example.com")) == [("granted", "api")]
    assert set(ConsentRecord.objects.values_list("actor", flat=True)) == {admin_user.pk}


def test_an_import_records_what_it_changes():
    text = "email,consent_status\na@example.com,granted\nb@example.com,\n"
    import_csv(source=csv_file(text), kind="customers")
    a = Customer.objects.get(email="a@example.com")
    assert history(a) == [("granted", "import")]
    assert history(Customer.objects.get(email="b@example.com")) == []
    import_csv(source=csv_file(text), kind="customers")  # unchanged: nothing more
    import_csv(source=csv_file("email,consent_status\na@example.com,withdrawn\n"),
               kind="customers")
    assert history(a) == [("granted", "import"), ("withdrawn", "import")]


@pytest.mark.smtp
def test_unsubscribe_and_complaint_are_recorded(make_segment, smtp):
    from tests.campaigns.conftest import make_campaign

    ann, bob = CustomerFactory(), CustomerFactory()
    campaign = make_campaign([make_segment([ann, bob])])
    campaign_services.launch_campaign(campaign=campaign)
    campaign_services.send_batch(campaign_id=campaign.pk)
    delivery = campaign.deliveries.get(customer=ann)
    url = reverse("campaigns:unsubscribe", args=[make_token(delivery.pk)])
    Client().post(url)
    Client().post(url)  # a repeat records nothing more
    assert history(ann) == [("withdrawn", ConsentSource.UNSUBSCRIBE)]
    campaign_services.record_provider_event(report=ProviderReport(
        esp_name="test", event_type="complained", recipient=bob.email, event_id="c-1",
        timestamp=timezone.now()))
    assert history(bob) == [("withdrawn", ConsentSource.COMPLAINT)]


def test_export_commands_and_admin_csv_are_audited(admin_client, admin_user):
    from django.core.management import call_command

    from crm.privacy.models import PrivacyAction, PrivacyAuditEntry

    CustomerFactory()
    admin_client.get(reverse("admin:crm_customer_export"))
    call_command("export_customers", stdout=io.StringIO())
    entries = PrivacyAuditEntry.objects.filter(action=PrivacyAction.CSV_EXPORT).order_by("pk")
    assert [(e.actor, e.detail["exported"]) for e in entries] == [
        (admin_user, "crm.customer"), (None, "customer_rows")]
    assert entries[1].actor_name.startswith("manage.py")
