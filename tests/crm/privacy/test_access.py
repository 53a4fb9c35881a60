"""The access export holds every kind of record kept about the customer, and is audited."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from crm.privacy.models import PrivacyAction, PrivacyAuditEntry
from crm.privacy.services import export_customer

from .conftest import USER_AGENT

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]


def assert_complete(data: dict, shop) -> None:
    assert data["profile"]["email"] == shop.ann.email
    assert data["profile"]["name"] == shop.ann.name
    assert [r["source"] for r in data["consent_history"]] == ["admin", "api"]
    assert sorted(float(o["amount"]) for o in data["orders"]) == [80.0, 120.0]
    assert data["events"][0]["event_type"] == "session"
    [segment] = data["segments"]
    assert segment["name"] == "Everyone" and segment["rule"] == shop.segment.rule
    assert "1" in segment["rule_text"]
    [delivery] = data["deliveries"]
    assert delivery["address"] == shop.ann.email and delivery["status"] == "sent"
    assert [o["user_agent"] for o in delivery["opens"]] == [USER_AGENT]
    assert [c["url"] for c in delivery["clicks"]] == [shop.link.url]
    assert delivery["provider_events"][0]["type"] == "deferred"
    assert "features" in data


def test_the_export_contains_each_kind_of_record(shop, admin_user):
    data = export_customer(customer=shop.ann, actor=admin_user)
    assert_complete(data, shop)
    json.dumps(data)  # one JSON document
    entry = PrivacyAuditEntry.objects.get(action=PrivacyAction.ACCESS_EXPORT)
    assert (entry.actor, entry.customer_id) == (admin_user, shop.ann.pk)
    assert shop.ann.email not in json.dumps(entry.detail)


def test_the_command_writes_the_document(shop, tmp_path):
    target = tmp_path / "ann.json"
    call_command("export_customer", shop.ann.email, "-o", str(target))
    assert_complete(json.loads(target.read_text(encoding="utf-8")), shop)
    entry = PrivacyAuditEntry.objects.get(action=PrivacyAction.ACCESS_EXPORT)
    assert entry.actor_name.startswith("manage.py export_customer")


def test_the_api_returns_it_to_a_viewer_only(shop):
    url = reverse("customer-personal-data", args=[shop.ann.pk])
    viewer = User.objects.create_user("viewer")
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.get(url).status_code == 403
    viewer.user_permissions.add(Permission.objects.get(codename="view_customer"))
    viewer = User.objects.get(pk=viewer.pk)
    client.force_authenticate(viewer)
    response = client.get(url)
    assert response.status_code == 200
    assert_complete(response.json(), shop)
    assert PrivacyAuditEntry.objects.get(action=PrivacyAction.ACCESS_EXPORT).actor == viewer


def test_the_admin_downloads_it(shop, admin_client, admin_user):
    page = admin_client.get(reverse("admin:crm_customer_change", args=[shop.ann.pk]))
    url = reverse("admin:crm_customer_access", args=[shop.ann.pk])
    assert url in page.content.decode()
    response = admin_client.get(url)
    assert response["Content-Type"] == "application/json"
    assert_complete(json.loads(response.content), shop)
    action = admin_client.post(reverse("admin:crm_customer_changelist"), {
        "action": "export_personal_data", "_selected_action": [shop.ann.pk, shop.bob.pk]})
    exported = json.loads(action.content)["customers"]
    assert {c["profile"]["email"] for c in exported} == {shop.ann.email, shop.bob.email}
    assert PrivacyAuditEntry.objects.filter(action=PrivacyAction.ACCESS_EXPORT,
                                            actor=admin_user).count() == 3
