"""Customers, orders and events one at a time: normalised, validated, paged, filtered."""

from __future__ import annotations

import pytest

from crm.models import Customer, Order

pytestmark = pytest.mark.django_db


def test_a_customer_is_stored_normalised(api):
    response = api.post("/api/v1/customers/", {
        "email": "  Mei.Lin@Example.COM ", "external_id": " shop-7 ", "attributes": {"vip": 1},
    }, format="json")
    assert response.status_code == 201, response.json()
    customer = Customer.objects.get(pk=response.json()["id"])
    assert (customer.email, customer.external_id) == ("mei.lin@example.com", "shop-7")


def test_duplicates_differing_in_case_are_a_400(api, world):
    response = api.post("/api/v1/customers/", {"email": "LI.WEI@example.com"}, format="json")
    assert response.status_code == 400 and "email" in response.json()
    response = api.patch(f"/api/v1/customers/{world['customers'][1].pk}/",
                         {"external_id": "C-1001 "}, format="json")
    assert response.status_code == 400 and "external_id" in response.json()


@pytest.mark.parametrize("body, field", [
    ({}, "email"),
    ({"email": "a@example.com", "name": 7}, "name"),
    ({"email": "a@example.com", "attributes": ["not", "an", "object"]}, "attributes"),
    ({"email": "a@example.com", "attributes": {"x": "\x00"}}, "attributes"),
    ({"email": "a@example.com", "signed_up_at": "0001-01-01T00:00:00+05:00"}, "signed_up_at"),
    ({"email": "a@example.com", "birth_date": "2999-01-01"}, "birth_date"),
    ({"email": "a@example.com", "consent_status": True}, "consent_status"),
])
def test_bad_customers_answer_400_with_the_field(api, body, field):
    response = api.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Customer.objects.exists()


def test_orders_without_external_ids_are_allowed_many_times(api, world):
    customer = world["customers"][0].pk
    for _ in range(2):
        response = api.post("/api/v1/orders/", {
            "customer": customer, "external_id": "", "placed_at": "2025-01-02T03:04:05Z",
            "amount": "10.50", "currency": "usd",
        }, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["currency"] == "USD"
    assert Order.objects.filter(external_id__isnull=True).count() == 2


@pytest.mark.parametrize("body, field", [
    ({"amount": "1e3"}, "amount"), ({"amount": "12.345"}, "amount"), ({"amount": True}, "amount"),
    ({"currency": "RMB1"}, "currency"), ({"customer": "1"}, "customer"),
    ({"item_count": 1.5}, "item_count"), ({"placed_at": "yesterday"}, "placed_at"),
])
def test_bad_orders_answer_400_with_the_field(api, world, body, field):
    good = {"customer": world["customers"][0].pk, "placed_at": "2025-01-02T03:04:05Z",
            "amount": 10}
    response = api.post("/api/v1/orders/", {**good, **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_lists_are_paged_searched_and_filtered(api, world):
    page = api.get("/api/v1/customers/", {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert api.get("/api/v1/customers/", {"page_size": 0}).status_code == 400
    assert api.get("/api/v1/customers/", {"page": 9}).status_code == 404
    found = api.get("/api/v1/customers/", {"search": "wang"}).json()["results"]
    assert [c["external_id"] for c in found] == ["C-1002"]
    assert api.get("/api/v1/customers/", {"search": "a\x00"}).status_code == 400
    first = world["customers"][0].pk
    assert api.get("/api/v1/orders/", {"customer": first}).json()["count"] == 1
    assert api.get("/api/v1/events/", {"customer": world["customers"][1].pk}).json()["count"] == 0
    assert api.get("/api/v1/orders/", {"customer": "x"}).status_code == 400


def test_malformed_ids_are_json_404s(api):
    response = api.get("/api/v1/customers/1.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_only_json_bodies_are_taken(api):
    response = api.post("/api/v1/customers/", {"email": "form@example.com"})  # multipart
    assert response.status_code == 415
