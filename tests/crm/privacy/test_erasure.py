"""Erasure leaves no trace of the person in any table, and keeps every aggregate."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.db.models.functions import Cast

from campaigns.models import Delivery, Suppression, SuppressionReason, TrackingEvent
from campaigns.selectors import campaign_stats, segment_stats
from crm.importing import import_csv
from crm.models import ConsentStatus, Customer
from crm.privacy.models import ConsentRecord, ErasedAddress, PrivacyAction, PrivacyAuditEntry
from crm.privacy.services import address_digest, erase_customer
from tests.crm.conftest import csv_file

from .conftest import USER_AGENT

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def tables_containing(value: str) -> list[str]:
    """Every ``model.field`` (text, char or JSON, as text) holding ``value``."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXT_FIELDS):
                continue
            rows = model._default_manager.annotate(
                _as_text=Cast(field.name, models.TextField())
            ).filter(_as_text__icontains=value)
            if rows.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def personal_values(shop) -> dict[str, str]:
    return {"email": shop.ann.email, "name": shop.ann.name, "user agent": USER_AGENT,
            "external id": shop.ann.external_id, "phone": shop.ann.attributes["phone"]}


def test_the_scan_finds_the_data_before_erasure(shop):
    """The scan itself works: before erasure each value is somewhere."""
    for label, value in personal_values(shop).items():
        assert tables_containing(value), label
    assert "campaigns.Delivery.address" in tables_containing(shop.ann.email)
    assert "campaigns.TrackingEvent.user_agent" in tables_containing(USER_AGENT)


def test_erasure_leaves_no_trace_and_keeps_the_counts(shop, admin_user):
    values = personal_values(shop)
    stats_before = campaign_stats(shop.campaign)
    per_segment_before = segment_stats(shop.campaign)
    members_before = shop.segment.members().count()
    orders_before = shop.ann.orders.count()
    events_before = TrackingEvent.objects.filter(delivery=shop.delivery).count()

    report = erase_customer(customer=shop.ann, actor=admin_user)

    for label, value in values.items():
        assert tables_containing(value) == [], label
    # Aggregates: campaign and per-segment statistics, segment sizes, orders.
    assert campaign_stats(shop.campaign) == stats_before
    assert segment_stats(shop.campaign) == per_segment_before
    assert stats_before.opens == stats_before.clicks == 1
    shop.segment.refresh_from_db()
    assert shop.segment.members().count() == members_before == shop.segment.size == 2
    anonymous = Customer.objects.get(pk=shop.ann.pk)
    assert anonymous.orders.count() == orders_before == 2
    assert TrackingEvent.objects.filter(delivery=shop.delivery).count() == events_before
    assert (anonymous.email, anonymous.name, anonymous.birth_date, anonymous.city) == (
        None, "", None, "")
    assert Delivery.objects.get(pk=shop.delivery.pk).address.endswith("@removed.invalid")
    # The other customer is untouched.
    assert Delivery.objects.filter(customer=shop.bob, address=shop.bob.email).exists()
    # Suppressed by hash only; recorded with who and when, without the data.
    assert ErasedAddress.objects.filter(digest=address_digest(values["email"])).exists()
    assert not Suppression.objects.filter(address=values["email"]).exists()
    entry = PrivacyAuditEntry.objects.get(action=PrivacyAction.ERASURE)
    assert (entry.actor, entry.customer_id) == (admin_user, shop.ann.pk)
    assert entry.occurred_at is not None and report.counts["campaigns.deliveries"] == 1
    # Erasing again changes nothing.
    assert erase_customer(customer=anonymous).already_erased
    assert PrivacyAuditEntry.objects.filter(action=PrivacyAction.ERASURE).count() == 1


def test_a_reimport_does_not_subscribe_the_address_again(shop):
    email = shop.ann.email
    erase_customer(customer=shop.ann)
    text = f"email,name,consent_status\n{email.upper()},Ann Again,granted\n"
    report = import_csv(source=csv_file(text), kind="customers")
    assert report.customers.created == 1
    again = Customer.objects.get(email=email)
    assert again.consent_status == ConsentStatus.WITHDRAWN
    assert not Customer.objects.contactable().filter(pk=again.pk).exists()
    record = ConsentRecord.objects.get(customer=again)
    assert (record.status, record.source) == (ConsentStatus.WITHDRAWN, "import")
    assert "erased" in record.note
    # The same file again, and a bulk API item, still do not grant it.
    import_csv(source=csv_file(text), kind="customers")
    again.refresh_from_db()
    assert again.consent_status == ConsentStatus.WITHDRAWN


def test_a_reimport_of_another_address_is_granted(shop):
    erase_customer(customer=shop.ann)
    import_csv(source=csv_file("email,consent_status\nnew.person@example.com,granted\n"),
               kind="customers")
    assert Customer.objects.get(email="new.person@example.com").consent_status == "granted"


def test_a_campaign_after_the_reimport_does_not_mail_the_address(shop, make_segment):
    from campaigns import services
    from tests.campaigns.conftest import make_campaign

    email = shop.ann.email
    erase_customer(customer=shop.ann)
    import_csv(source=csv_file(f"email,consent_status\n{email},granted\n"), kind="customers")
    again = Customer.objects.get(email=email)
    campaign = make_campaign([make_segment([again, shop.bob])], name="After erasure")
    services.launch_campaign(campaign=campaign)
    assert not Delivery.objects.filter(campaign=campaign, address=email).exists()


def test_the_command_erases_by_email(shop):
    out = io.StringIO()
    call_command("erase_customer", shop.ann.email.upper(), "--yes", stdout=out)
    assert f"Erased customer #{shop.ann.pk}" in out.getvalue()
    assert tables_containing(shop.ann.email) == []
    entry = PrivacyAuditEntry.objects.get(action=PrivacyAction.ERASURE)
    assert entry.actor is None and entry.actor_name.startswith("manage.py erase_customer")


def test_unsubscribed_addresses_stay_suppressed_by_hash(shop):
    Suppression.objects.create(address=shop.ann.email, reason=SuppressionReason.UNSUBSCRIBED)
    erase_customer(customer=shop.ann)
    assert not Suppression.objects.filter(address=shop.ann.email).exists()
    assert ErasedAddress.objects.filter(digest=address_digest(shop.ann.email)).exists()


def test_the_api_and_admin_cannot_grant_an_erased_address(shop, admin_user):
    from django.contrib.auth.models import User
    from django.urls import reverse
    from rest_framework.test import APIClient

    email = shop.ann.email
    erase_customer(customer=shop.ann)
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=admin_user.pk))
    response = client.post(reverse("customer-list"),
                           {"email": email, "consent_status": "granted"}, format="json")
    assert response.status_code == 201
    again = Customer.objects.get(email=email)
    assert again.consent_status == ConsentStatus.WITHDRAWN
    client.patch(reverse("customer-detail", args=[again.pk]), {"consent_status": "granted"},
                 format="json")
    again.refresh_from_db()
    assert again.consent_status == ConsentStatus.WITHDRAWN
    assert not Customer.objects.contactable().filter(email=email).exists()
    assert set(ConsentRecord.objects.filter(customer=again).values_list("note", flat=True)) \
        == {"withheld: the address was erased; only a confirmed sign-up is new consent"}


def test_a_late_bounce_for_an_erased_address_brings_nothing_back(shop):
    from campaigns.models import ProviderEvent
    from campaigns.services import record_provider_event
    from campaigns.services.provider_events import ProviderReport

    email, message_id = shop.ann.email, shop.delivery.message_id
    erase_customer(customer=shop.ann)
    event = record_provider_event(report=ProviderReport(
        esp_name="test", event_type="bounced", recipient=email, event_id="late-1",
        message_id=message_id, description=f"550 {email} unknown", mta_response=f"550 {email}"))
    assert event.delivery_id == shop.delivery.pk  # still counted for the campaign
    assert tables_containing(email) == []
    assert ProviderEvent.objects.filter(event_type="bounced").count() == 1
