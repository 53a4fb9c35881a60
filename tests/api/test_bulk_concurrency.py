"""Two bulk requests creating the same new external id at the same time (issue 10)."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connections

from crm.importing import writers
from crm.models import Customer, Event

from .conftest import token_client


@pytest.fixture
def racing_lookups(monkeypatch):
    """Both requests look their records up before either inserts: each thread's first
    lookup waits for the other's (later lookups, as in a retry, go straight through)."""
    barrier = threading.Barrier(2, timeout=10)
    seen = threading.local()

    def wrap(original):
        def find(self, *args, **kwargs):
            found = list(original(self, *args, **kwargs))
            if not getattr(seen, "waited", False):
                seen.waited = True
                barrier.wait()
            return found
        return find

    for cls in {writers.BatchWriter, writers.PostgresCopyWriter}:
        monkeypatch.setattr(cls, "find_customers", wrap(cls.find_customers))
    return barrier


def post_in_threads(path: str, payload: dict) -> list[int]:
    user = User.objects.get(username="racer")
    statuses: list[int] = []

    def post() -> None:
        try:
            statuses.append(token_client(user).post(path, payload, format="json").status_code)
        finally:
            connections.close_all()  # this thread's connection

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_two_requests_creating_the_same_customer_both_succeed(postgres, racing_lookups):
    User.objects.create_superuser("racer", "racer@example.com", "pw-not-used-1")
    Customer.objects.create(external_id="OLD")  # so both take the lookup path
    payload = {"items": [{"external_id": "OLD", "name": "Old"},
                         {"external_id": "NEW", "name": "New"}]}

    statuses = post_in_threads("/api/v1/customers/bulk/", payload)

    assert statuses == [200, 200]
    assert Customer.objects.filter(external_id="NEW").count() == 1
    assert Customer.objects.get(external_id="NEW").name == "New"


@pytest.mark.django_db(transaction=True)
def test_two_requests_creating_the_same_event_both_succeed(postgres):
    User.objects.create_superuser("racer", "racer@example.com", "pw-not-used-1")
    customer = Customer.objects.create(external_id="C1")
    barrier = threading.Barrier(2, timeout=10)  # both looked up before either inserts
    manager_class = type(Event.objects)
    original = manager_class.bulk_create
    waited = threading.local()

    def bulk_create(self, objs, *args, **kwargs):
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()
        return original(self, objs, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manager_class, "bulk_create", bulk_create)
        payload = {"items": [{"external_id": "E1", "customer": customer.pk,
                              "event_type": "session", "occurred_at": "2025-01-01T10:00:00Z"}]}
        statuses = post_in_threads("/api/v1/events/bulk/", payload)

    assert statuses == [200, 200]
    assert Event.objects.filter(external_id="E1").count() == 1
