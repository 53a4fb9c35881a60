"""Retention: tracking events, delivery details and unconfirmed sign-ups past their time
are removed; newer ones stay."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.models import Delivery, ProviderEvent, TrackingEvent
from crm.privacy.models import PendingSignup
from crm.privacy.services import apply_retention
from crm.tasks import apply_retention as apply_retention_task

from .conftest import USER_AGENT

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]


def test_old_tracking_and_delivery_details_are_removed(shop, settings):
    settings.RULECAST_CAMPAIGNS = {"TRACKING_RETENTION_DAYS": 30}
    now = timezone.now() + timedelta(days=31)  # a fake clock: a month later
    fresh = PendingSignup.objects.create(email="fresh@example.com",
                                         created_at=now - timedelta(hours=1))
    counts = apply_retention(now=now)
    assert not TrackingEvent.objects.exists()
    assert counts["campaigns.tracking_events"] == 2
    assert counts["campaigns.deliveries"] == 2
    assert not Delivery.objects.filter(address__in=[shop.ann.email, shop.bob.email]).exists()
    assert Delivery.objects.filter(campaign=shop.campaign).count() == 2  # counts stay
    assert set(ProviderEvent.objects.values_list("recipient", "description")) == {("", "")}
    assert list(PendingSignup.objects.all()) == [fresh]  # the shop's one was 31 days old
    assert apply_retention(now=now)["campaigns.deliveries"] == 0  # nothing twice


def test_nothing_younger_than_the_retention_goes(shop, settings):
    settings.RULECAST_CAMPAIGNS = {"TRACKING_RETENTION_DAYS": 30}
    apply_retention(now=timezone.now() + timedelta(days=29))
    assert TrackingEvent.objects.filter(user_agent=USER_AGENT).count() == 2
    assert Delivery.objects.filter(address=shop.ann.email).exists()


def test_none_keeps_tracking_forever(shop, settings):
    settings.RULECAST_CAMPAIGNS = {"TRACKING_RETENTION_DAYS": None}
    apply_retention(now=timezone.now() + timedelta(days=3650))
    assert TrackingEvent.objects.count() == 2


def test_the_command_and_the_task_call_the_service(shop, settings):
    settings.RULECAST_CAMPAIGNS = {"TRACKING_RETENTION_DAYS": 0}
    TrackingEvent.objects.update(occurred_at=timezone.now() - timedelta(days=1))
    out = io.StringIO()
    call_command("apply_retention", stdout=out)
    assert "campaigns.tracking_events: 2" in out.getvalue()
    TrackingEvent.objects.create(delivery=shop.delivery, kind="open",
                                 occurred_at=timezone.now() - timedelta(days=1))
    assert apply_retention_task()["campaigns.tracking_events"] == 1
