"""Fixtures of the API tests: users with and without permissions, a small shop."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import Campaign
from crm.models import ConsentStatus, Customer, Event, Order
from segmentation.models import (
    RunStatus,
    Segment,
    Segmentation,
    SegmentationRun,
    SegmentKind,
    SegmentMembership,
)

API_MODELS = [
    ("crm", "customer"), ("crm", "order"), ("crm", "event"),
    ("segmentation", "segmentation"), ("segmentation", "segmentationrun"),
    ("segmentation", "segment"), ("campaigns", "campaign"),
]


def frequency_rule(at_least: int) -> dict:
    return {"version": 1, "any": [{"all": [
        {"feature": "frequency", "op": ">=", "value": at_least},
    ]}]}


@pytest.fixture(autouse=True)
def _empty_throttle_cache(django_db_blocker):
    """Throttles count requests in the cache (a database table): start each test from zero."""
    with django_db_blocker.unblock():
        cache.clear()
    yield
    with django_db_blocker.unblock():
        cache.clear()


def token_client(user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def user_with(username: str, codenames: list[str]) -> User:
    """A staff-less user holding exactly these permissions ("app.codename")."""
    user = User.objects.create_user(username, f"{username}@example.com", "pw-not-used-1")
    for name in codenames:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # without the permission cache


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("boss", "boss@example.com", "pw-not-used-1")


@pytest.fixture
def api(superuser) -> APIClient:
    """A client authenticated with the superuser's token."""
    return token_client(superuser)


@pytest.fixture
def viewer(db) -> APIClient:
    """A client whose user may view everything the API has, and change nothing."""
    return token_client(user_with("viewer", [f"{app}.view_{model}" for app, model in API_MODELS]))


@pytest.fixture
def nobody(db) -> APIClient:
    """A client whose user has no permissions at all."""
    return token_client(user_with("nobody", []))


@pytest.fixture
def world(db) -> dict:
    """One of everything: customers with orders and events, a published run with two
    segments, a hand-written segment, and a draft campaign to the first segment.

    The customers' external ids (C-1001...) are those of the schema's examples."""
    now = timezone.now()
    customers = [
        Customer.objects.create(
            external_id=f"C-{1001 + n}", email=email, name=f"Customer {n}",
            consent_status=ConsentStatus.GRANTED, signed_up_at=now - timedelta(days=400),
        )
        for n, email in enumerate(["li.wei@example.com", "wang.fang@example.com",
                                   "zhang.min@example.com"])
    ]
    order = Order.objects.create(customer=customers[0], external_id="O1", amount=Decimal("120"),
                                 placed_at=now - timedelta(days=3))
    event = Event.objects.create(customer=customers[0], external_id="E1", event_type="session",
                                 occurred_at=now - timedelta(hours=2))
    segmentation = Segmentation.objects.create(name="Behaviour", n_clusters=2)
    run = SegmentationRun.objects.create(
        segmentation=segmentation, status=RunStatus.SUCCEEDED, is_published=True,
        published_at=now, feature_names=["frequency"], customer_count=3,
    )
    draft = SegmentationRun.objects.create(segmentation=segmentation, status=RunStatus.SUCCEEDED,
                                           feature_names=["frequency"], customer_count=3)
    found = [
        Segment.objects.create(run=run, index=i, name=name, rule=frequency_rule(i), size=1)
        for i, name in enumerate(["Everyone", "Buyers"])
    ]
    manual = Segment.objects.create(kind=SegmentKind.MANUAL, name="Frequent",
                                    rule=frequency_rule(5))
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment=found[0], customer=c) for c in customers]
    )
    campaign = Campaign.objects.create(
        name="Spring sale", subject="Hello {{ name }}", html_body="<p>Hi {{ name }}</p>",
        text_body="Hi {{ name }}", test_address="owner@example.com",
    )
    campaign.segments.set([found[0]])
    return {
        "customers": customers, "order": order, "event": event, "segmentation": segmentation,
        "run": run, "draft_run": draft, "segments": found, "manual": manual,
        "campaign": campaign,
    }
