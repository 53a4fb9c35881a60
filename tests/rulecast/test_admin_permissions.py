"""Every admin action, as a staff user who may only view: refused, and nothing changes.

The actions are enumerated from the admin site's registry, so an action added later is
walked too; only actions declared ``permissions=["view"]`` (read-only, such as a CSV
export) may run, and they must not change anything either.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core import serializers
from django.test import RequestFactory
from django.urls import reverse

from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from segmentation.models import RunStatus, Segmentation, SegmentationRun
from tests.campaigns.conftest import make_campaign, make_customers
from tests.campaigns.conftest import make_segment as make_segment  # the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_segment):
    """One object of each kind an action works on, in a state the action would change."""
    customers = make_customers(3)
    segment = make_segment(customers)
    draft = make_campaign([segment], name="draft", test_address="me@example.com")
    sending = make_campaign([segment], name="sending")
    Campaign.objects.filter(pk=sending.pk).update(status=CampaignStatus.SENDING)
    paused = make_campaign([segment], name="paused")
    Campaign.objects.filter(pk=paused.pk).update(status=CampaignStatus.PAUSED)
    Delivery.objects.create(campaign=sending, customer=customers[0], address=customers[0].email,
                            status=DeliveryStatus.UNKNOWN, next_attempt_at=sending.created_at,
                            created_at=sending.created_at)
    segmentation = Segmentation.objects.create(name="config")
    SegmentationRun.objects.create(segmentation=segmentation, status=RunStatus.SUCCEEDED)
    SegmentationRun.objects.create(segmentation=segmentation, status=RunStatus.FAILED)
    return draft


@pytest.fixture
def viewer(client) -> User:
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    return user


def snapshot() -> dict[str, str]:
    """Every row of every model the admin shows, serialised; but the privacy audit, which
    records each export of customer data (a read) on purpose."""
    return {model._meta.label: serializers.serialize("json", model.objects.order_by("pk"))
            for model in admin.site._registry if model._meta.label != "crm.PrivacyAuditEntry"}


def every_action() -> list[tuple[type, str, tuple]]:
    superuser = User(is_superuser=True, is_active=True, is_staff=True)
    request = RequestFactory().get("/")
    request.user = superuser
    found = []
    for model, model_admin in admin.site._registry.items():
        for name, (func, _name, _description) in model_admin.get_actions(request).items():
            found.append((model, name, tuple(getattr(func, "allowed_permissions", ()))))
    return found


def test_the_walk_finds_the_state_changing_actions():
    names = {(model._meta.model_name, name) for model, name, _ in every_action()}
    assert {("campaign", "launch"), ("campaign", "cancel"), ("delivery", "resend_unknown"),
            ("segmentationrun", "publish"), ("segmentationrun", "requeue"),
            ("segmentation", "start_runs"), ("campaign", "delete_selected")} <= names


@pytest.mark.parametrize(("model", "action", "needs"), every_action(),
                         ids=lambda value: getattr(value, "__name__", str(value)))
def test_a_view_only_user_cannot_change_anything_through_an_action(
    client, viewer, world, model, action, needs, mailoutbox,
):
    selected = list(model.objects.values_list("pk", flat=True))
    before = snapshot()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.post(url, {"action": action, "_selected_action": selected,
                                 "post": "yes"}, follow=True)

    assert snapshot() == before
    assert mailoutbox == []
    assert response.status_code == 200
    if set(needs) != {"view"}:
        request = RequestFactory().get(url)
        request.user = viewer
        assert action not in admin.site._registry[model].get_actions(request)


def test_the_admin_refuses_to_delete_a_sending_campaign(admin_client, world):
    sending = Campaign.objects.get(name="sending")
    url = reverse("admin:campaigns_campaign_delete", args=[sending.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:campaigns_campaign_changelist")
    admin_client.post(changelist, {"action": "delete_selected", "post": "yes",
                                   "_selected_action": [sending.pk]})
    assert Campaign.objects.filter(pk=sending.pk).exists()
    assert Delivery.objects.filter(campaign=sending).count() == 1
    draft = Campaign.objects.get(name="draft")
    admin_client.post(reverse("admin:campaigns_campaign_delete", args=[draft.pk]), {"post": "yes"})
    assert not Campaign.objects.filter(pk=draft.pk).exists()


def test_a_preview_needs_the_view_permission_on_customers(client, world):
    user = User.objects.create_user("campaigner", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_campaign"))
    client.force_login(user)
    url = reverse("admin:campaigns_campaign_preview", args=[world.pk])
    assert client.get(url, {"customer": "c1@example.com"}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    assert client.get(url, {"customer": "c1@example.com"}).status_code == 200
