"""Statistics per campaign and per segment; engagement fed back as segmentation features."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import Delivery, DeliveryStatus, EventKind, Link, TrackingEvent
from campaigns.selectors import campaign_stats, segment_stats
from segmentation.features import registry
from segmentation.features.compute import compute_features
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db


@pytest.fixture
def results(make_segment):
    customers = make_customers(5)
    first, second = make_segment(customers[:2], "First"), make_segment(customers[2:4], "Second")
    campaign = make_campaign([first, second])
    services.launch_campaign(campaign=campaign)
    now = timezone.now()
    by_address = {d.address: d for d in Delivery.objects.filter(campaign=campaign)}
    Delivery.objects.filter(campaign=campaign).update(status=DeliveryStatus.SENT, sent_at=now)
    Delivery.objects.filter(pk=by_address["c3@example.com"].pk).update(
        status=DeliveryStatus.FAILED, sent_at=None)
    link = Link.objects.filter(campaign=campaign).first()

    def event(address, kind, **extra):
        TrackingEvent.objects.create(delivery=by_address[address], kind=kind, occurred_at=now,
                                     **extra)

    event("c0@example.com", EventKind.OPEN)
    event("c0@example.com", EventKind.OPEN)  # twice: one unique open
    event("c0@example.com", EventKind.CLICK, link=link)
    event("c2@example.com", EventKind.OPEN)
    event("c1@example.com", EventKind.UNSUBSCRIBE)
    services.record_provider_event(report=services.ProviderReport(
        esp_name="T", event_type="bounced", recipient="c2@example.com", event_id="b"))
    return campaign, customers, first, second


def test_campaign_stats(results):
    campaign, *_ = results
    with CaptureQueriesContext(connection) as queries:
        stats = campaign_stats(campaign)
    assert len(queries) == 1
    assert (stats.recipients, stats.sent, stats.failed, stats.unknown) == (4, 3, 1, 0)
    assert (stats.opens, stats.clicks, stats.unsubscribes, stats.bounces) == (2, 1, 1, 1)
    assert stats.open_rate == pytest.approx(2 / 3)
    assert stats.click_rate == pytest.approx(1 / 3)
    assert stats.failed_rate == pytest.approx(1 / 4)
    assert stats.rates()["bounce_rate"] == pytest.approx(1 / 3)


def test_segment_stats(results):
    campaign, _, first, second = results
    rows = {row.segment_id: row for row in segment_stats(campaign)}
    assert rows[first.pk].label == "First"
    assert (rows[first.pk].recipients, rows[first.pk].sent, rows[first.pk].opens,
            rows[first.pk].clicks, rows[first.pk].unsubscribes) == (2, 2, 1, 1, 1)
    assert (rows[second.pk].sent, rows[second.pk].failed, rows[second.pk].opens,
            rows[second.pk].bounces, rows[second.pk].open_rate) == (1, 1, 1, 1, 1.0)


def test_open_and_click_rates_are_features(results):
    _, customers, *_ = results
    assert "open_rate" in registry and "click_rate" in registry
    frame = compute_features(now=timezone.now() + timedelta(seconds=1),
                             names=["open_rate", "click_rate"])
    rates = {customer.email: tuple(frame.loc[customer.pk]) for customer in customers}
    assert rates == {
        "c0@example.com": (1.0, 1.0),
        "c1@example.com": (0.0, 0.0),
        "c2@example.com": (1.0, 0.0),
        "c3@example.com": (0.0, 0.0),  # failed: not a sent message
        "c4@example.com": (0.0, 0.0),  # never emailed: the default
    }
