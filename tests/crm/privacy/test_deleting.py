"""Deleting a customer is refused with a pointer to erasure; erasing by admin or API
never leaves the address unsuppressed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from crm.models import Customer
from crm.privacy.models import ErasedAddress
from crm.privacy.services import address_digest

from .test_erasure import tables_containing

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=admin_user.pk))
    return client


def test_the_api_refuses_delete_and_points_to_erasure(shop, api):
    response = api.delete(reverse("customer-detail", args=[shop.ann.pk]))
    assert response.status_code == 405
    assert "/erase/" in response.json()["detail"]
    assert Customer.objects.filter(pk=shop.ann.pk, email=shop.ann.email).exists()


def test_the_api_erases(shop, api):
    response = api.post(reverse("customer-erase", args=[shop.ann.pk]))
    assert response.status_code == 200
    assert response.json()["customer"] == shop.ann.pk
    assert ErasedAddress.objects.filter(digest=address_digest(shop.ann.email)).exists()
    assert tables_containing(shop.ann.email) == []


def test_the_api_erase_needs_the_delete_permission(shop):
    client = APIClient()
    client.force_authenticate(User.objects.create_user("clerk"))
    assert client.post(reverse("customer-erase", args=[shop.ann.pk])).status_code == 403
    assert not ErasedAddress.objects.exists()


def test_the_admin_has_no_delete_and_points_to_erasure(shop, admin_client):
    change = admin_client.get(reverse("admin:crm_customer_change", args=[shop.ann.pk]))
    html = change.content.decode()
    assert reverse("admin:crm_customer_erase", args=[shop.ann.pk]) in html
    assert reverse("admin:crm_customer_delete", args=[shop.ann.pk]) not in html
    changelist = admin_client.get(reverse("admin:crm_customer_changelist"))
    actions = dict(changelist.context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions and "erase_selected" in actions
    response = admin_client.post(reverse("admin:crm_customer_delete", args=[shop.ann.pk]),
                                 {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:crm_customer_erase", args=[shop.ann.pk])
    assert Customer.objects.filter(pk=shop.ann.pk, email=shop.ann.email).exists()


def test_the_admin_erases_after_confirmation(shop, admin_client):
    url = reverse("admin:crm_customer_erase", args=[shop.ann.pk])
    page = admin_client.get(url)
    assert "cannot be undone" in page.content.decode()
    assert Customer.objects.filter(email=shop.ann.email).exists()  # a GET changes nothing
    admin_client.post(url, {"confirm_erasure": "yes"})
    assert tables_containing(shop.ann.email) == []
    assert ErasedAddress.objects.filter(digest=address_digest(shop.ann.email)).exists()


def test_the_admin_action_erases_the_selected(shop, admin_client):
    changelist = reverse("admin:crm_customer_changelist")
    selected = {"action": "erase_selected", "_selected_action": [shop.ann.pk, shop.bob.pk]}
    confirm = admin_client.post(changelist, selected)
    assert confirm.status_code == 200 and Customer.objects.filter(email=shop.bob.email).exists()
    admin_client.post(changelist, {**selected, "confirm_erasure": "yes"})
    for email in (shop.ann.email, shop.bob.email):
        assert tables_containing(email) == []
        assert ErasedAddress.objects.filter(digest=address_digest(email)).exists()
