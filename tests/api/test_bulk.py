"""Bulk upsert of customers, orders and events: idempotent, all or nothing, capped."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.api.serializers import BULK_MAX_ITEMS
from crm.models import Customer, Event, Order
from segmentation.models import CustomerFeatures, Segment, SegmentKind, SegmentMembership

from .conftest import frequency_rule

pytestmark = pytest.mark.django_db


def post(api, what: str, items, **extra):
    return api.post(f"/api/v1/{what}/bulk/", {"items": items, **extra}, format="json")


def moment(days_ago: float) -> str:
    return (timezone.now() - timedelta(days=days_ago)).isoformat()


# --- customers ---------------------------------------------------------------------------


def test_customers_upsert_by_external_id_then_email(api):
    items = [
        {"external_id": " C-1 ", "email": " Li.Wei@Example.COM ", "name": "李伟",
         "attributes": {"vip": True}},
        {"email": "wang.fang@example.com", "city": "上海"},
    ]
    assert post(api, "customers", items).json() == {
        "created": 2, "updated": 0, "unchanged": 0, "duplicates": 0}
    li = Customer.objects.get(external_id="C-1")
    assert li.email == "li.wei@example.com" and li.attributes == {"vip": True}

    # The same payload again changes nothing; updated_at stays.
    stamp = li.updated_at
    assert post(api, "customers", items).json() == {
        "created": 0, "updated": 0, "unchanged": 2, "duplicates": 0}
    li.refresh_from_db()
    assert li.updated_at == stamp

    # Matched by email (any case); fields left out are kept, attributes merged.
    response = post(api, "customers", [
        {"email": "LI.WEI@example.com", "country": "CN", "attributes": {"tier": 2}},
    ])
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0, "duplicates": 0}
    li.refresh_from_db()
    assert (li.name, li.country, li.attributes) == ("李伟", "CN", {"vip": True, "tier": 2})
    assert Customer.objects.count() == 2


def test_a_repeated_customer_counts_once(api):
    response = post(api, "customers", [
        {"email": "a@example.com", "name": "A"}, {"email": "A@example.com", "city": "Xi'an"},
    ])
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0, "duplicates": 1}
    assert Customer.objects.get().city == "Xi'an"


def test_bad_items_are_named_by_index_and_nothing_is_written(api, world):
    before = Customer.objects.count()
    response = post(api, "customers", [
        {"email": "ok@example.com"},
        {"email": "not-an-email"},
        {"name": "no key"},
        {"external_id": "C-9", "birth_date": "2999-01-01", "gender": "robot"},
        {"email": "also-ok@example.com"},
    ])
    assert response.status_code == 400
    errors = response.json()["items"]
    assert set(errors) == {"1", "2", "3"}
    assert "email" in errors["1"]
    assert "external_id" in errors["2"]
    assert set(errors["3"]) == {"birth_date", "gender"}
    assert Customer.objects.count() == before


def test_an_email_of_another_customer_refuses_the_whole_request(api, world):
    response = post(api, "customers", [
        {"external_id": "NEW-1", "email": "new@example.com"},
        {"external_id": "C-1001", "email": "wang.fang@example.com"},  # C-1002's address
    ])
    assert response.status_code == 400
    assert list(response.json()["items"]) == ["1"]
    assert "email" in response.json()["items"]["1"]
    assert not Customer.objects.filter(external_id="NEW-1").exists()


def test_the_number_of_items_is_capped(api):
    items = [{"email": f"c{n}@example.com"} for n in range(BULK_MAX_ITEMS + 1)]
    response = post(api, "customers", items)
    assert response.status_code == 400
    assert "1000" in str(response.json()["items"])
    assert not Customer.objects.exists()
    assert post(api, "customers", items[:BULK_MAX_ITEMS]).json()["created"] == BULK_MAX_ITEMS


@pytest.mark.parametrize("body", [{}, {"items": []}, {"items": {"0": {}}}, {"items": "x"},
                                  {"items": [1]}])
def test_a_body_without_items_is_refused(api, body):
    response = api.post("/api/v1/customers/bulk/", body, format="json")
    assert response.status_code == 400 and "items" in response.json()


# --- orders ------------------------------------------------------------------------------


def test_orders_are_idempotent_by_external_id(api, world):
    first, second, third = world["customers"]
    items = [
        {"external_id": "O-1", "customer": first.pk, "placed_at": moment(3), "amount": 99.5},
        {"external_id": "O-2", "customer_external_id": "C-1002", "placed_at": moment(2),
         "amount": "12.00", "currency": "usd", "attributes": {"coupon": "SPRING"}},
        {"external_id": "O-3", "customer_email": "ZHANG.MIN@example.com",
         "placed_at": moment(1), "amount": "5", "status": "refunded"},
    ]
    before = Order.objects.count()
    assert post(api, "orders", items).json() == {
        "created": 3, "updated": 0, "unchanged": 0, "duplicates": 0}
    assert post(api, "orders", items).json() == {
        "created": 0, "updated": 0, "unchanged": 3, "duplicates": 0}
    assert Order.objects.count() == before + 3
    o2 = Order.objects.get(external_id="O-2")
    assert (o2.customer, o2.amount, o2.currency) == (second, Decimal("12.00"), "USD")
    assert Order.objects.get(external_id="O-3").customer == third
    assert Order.objects.get(external_id="O-1").currency == "CNY"  # the crm default

    # One id twice in a request: the later item updates the order (a file's rows with
    # one id are its lines and add up; an API's items are records).
    twice = [{**items[0], "amount": 10}, {**items[0], "amount": 11}]
    assert post(api, "orders", twice).json() == {
        "created": 0, "updated": 1, "unchanged": 0, "duplicates": 1}
    assert Order.objects.get(external_id="O-1").amount == Decimal("11")
    post(api, "orders", items[:1])

    # An order moves to another customer, and a field changes.
    changed = [{**items[0], "customer": second.pk, "amount": "100"}]
    assert post(api, "orders", changed).json()["updated"] == 1
    assert Order.objects.get(external_id="O-1").customer == second


def test_orders_naming_unknown_or_different_customers_are_refused(api, world):
    first, second, _ = world["customers"]
    base = {"placed_at": moment(1), "amount": "1"}
    response = post(api, "orders", [
        {"external_id": "X-1", "customer": first.pk, **base},
        {"external_id": "X-2", "customer_external_id": "nobody", **base},
        {"external_id": "X-3", "customer": first.pk, "customer_email": second.email, **base},
        {"external_id": "X-4", **base},
        {"external_id": "X-5", "customer": first.pk, "placed_at": moment(1), "amount": "1.234"},
    ])
    assert response.status_code == 400
    errors = response.json()["items"]
    assert set(errors) == {"1", "2", "3", "4"}
    assert "customer_external_id" in errors["1"]
    assert "customer" in errors["2"]
    assert "customer" in errors["3"]
    assert "amount" in errors["4"]
    assert not Order.objects.filter(external_id__startswith="X-").exists()


def test_bulk_orders_move_a_customer_between_segments(
    api, world, django_capture_on_commit_callbacks
):
    """No post_save for bulk writes: one refresh task after the commit does the work."""
    customer = world["customers"][2]  # no orders yet
    frequent = Segment.objects.create(kind=SegmentKind.MANUAL, name="Two or more orders",
                                      rule=frequency_rule(2))
    items = [
        {"external_id": f"M-{n}", "customer": customer.pk, "placed_at": moment(n + 1),
         "amount": "50"}
        for n in range(2)
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post(api, "orders", items).json()["created"] == 2
    assert len(callbacks) == 1
    assert CustomerFeatures.objects.get(customer=customer).frequency == 2
    assert SegmentMembership.objects.filter(segment=frequent, customer=customer).exists()

    # Posting the same orders again writes nothing and queues nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post(api, "orders", items).json()["unchanged"] == 2
    assert callbacks == []

    # Cancelling one moves the customer out again.
    with django_capture_on_commit_callbacks(execute=True):
        post(api, "orders", [{**items[0], "status": "cancelled"}])
    assert not SegmentMembership.objects.filter(segment=frequent, customer=customer).exists()


# --- events ------------------------------------------------------------------------------


def test_events_are_idempotent_and_properties_merge(api, world, django_capture_on_commit_callbacks):
    customer = world["customers"][1]
    items = [
        {"external_id": "E-10", "customer": customer.pk, "event_type": "session",
         "occurred_at": moment(1), "properties": {"channel": "app"}},
        {"external_id": "E-11", "customer_email": customer.email, "event_type": "cart_add",
         "occurred_at": moment(0.5)},
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post(api, "events", items).json() == {
            "created": 2, "updated": 0, "unchanged": 0, "duplicates": 0}
    assert len(callbacks) == 1  # the refresh of the customer's features
    assert post(api, "events", items).json()["unchanged"] == 2
    response = post(api, "events", [{**items[0], "properties": {"page": "/sale"}}, items[0]])
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0, "duplicates": 1}
    assert Event.objects.get(external_id="E-10").properties == {"channel": "app", "page": "/sale"}


def test_bad_events_write_nothing(api, world):
    response = post(api, "events", [
        {"external_id": "E-20", "customer": world["customers"][0].pk, "event_type": "session",
         "occurred_at": moment(1)},
        {"external_id": "E-21", "customer": world["customers"][0].pk, "event_type": "",
         "occurred_at": "yesterday", "properties": {"bad": "\x00"}},
    ])
    assert response.status_code == 400
    assert set(response.json()["items"]["1"]) == {"event_type", "occurred_at", "properties"}
    assert not Event.objects.filter(external_id="E-20").exists()
