"""A campaign's own watchdog: leases that lapse end, the campaign goes on or finishes.

Time is given (``now``), never waited for.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.conf import campaigns_settings
from campaigns.models import BatchMarker, Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services.dispatch import schedule_watchdog
from rulecast.celery import app
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db


@pytest.fixture
def sending(make_segment, monkeypatch):
    monkeypatch.setattr("campaigns.services.lifecycle.enqueue_batches", lambda **kw: None)
    campaign = make_campaign([make_segment(make_customers(4))])
    services.launch_campaign(campaign=campaign)
    return campaign


def lease() -> timedelta:
    return timedelta(seconds=campaigns_settings.SENDING_TIMEOUT)


def test_a_killed_send_becomes_unknown_and_the_campaign_finishes(sending):
    now = timezone.now()
    first, *rest = Delivery.objects.filter(campaign=sending).order_by("pk")
    Delivery.objects.filter(pk__in=[d.pk for d in rest]).update(status=DeliveryStatus.SENT)
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.SENDING,
                                                claim_token=uuid.uuid4(), claimed_at=now)

    early = services.watch_campaign(campaign_id=sending.pk, now=now + lease() / 2)
    assert early.unknown == 0 and early.finished == []
    late = services.watch_campaign(campaign_id=sending.pk, now=now + lease() + timedelta(1))
    assert late.unknown == 1 and late.finished == [sending.pk]
    first.refresh_from_db()
    assert first.status == DeliveryStatus.UNKNOWN


def test_a_dead_batch_share_is_sent_again(sending, monkeypatch):
    restarted = []
    monkeypatch.setattr("campaigns.services.lifecycle.enqueue_batches",
                        lambda **kw: restarted.append(kw))
    now = timezone.now()
    token = uuid.uuid4()
    BatchMarker.objects.create(token=token, created_at=now)  # the worker died, not the database
    Delivery.objects.filter(campaign=sending).update(
        status=DeliveryStatus.RESERVED, claim_token=token, claimed_at=now)
    report = services.watch_campaign(campaign_id=sending.pk, now=now + lease() * 2)
    assert report.released == 4 and report.restarted == [sending.pk]
    assert not BatchMarker.objects.exists()  # nothing of that batch is left in flight
    assert restarted and restarted[0]["campaign_id"] == sending.pk


@pytest.fixture
def with_a_broker():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_one_watchdog_at_a_time(sending, with_a_broker, django_capture_on_commit_callbacks):
    Delivery.objects.filter(campaign=sending).update(
        status=DeliveryStatus.SENDING, claim_token=uuid.uuid4(), claimed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert schedule_watchdog(campaign_id=sending.pk)
        assert not schedule_watchdog(campaign_id=sending.pk)
    assert len(queued) == 1
    due = Campaign.objects.get(pk=sending.pk).watchdog_at
    assert lease() < due - timezone.now() <= lease() + timedelta(seconds=2)
    # Once due (it ran, or was lost with its worker), the next one may be queued.
    Campaign.objects.filter(pk=sending.pk).update(watchdog_at=timezone.now() - timedelta(1))
    with django_capture_on_commit_callbacks(execute=False):
        assert schedule_watchdog(campaign_id=sending.pk)


def test_a_paused_campaign_is_left_alone(sending):
    Campaign.objects.filter(pk=sending.pk).update(status=CampaignStatus.PAUSED)
    report = services.watch_campaign(campaign_id=sending.pk, now=timezone.now() + lease() * 2)
    assert report.finished == report.restarted == []
