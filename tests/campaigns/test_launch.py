"""Launch freezes the recipients in one INSERT ... SELECT; scheduling; status changes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import (
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Link,
    Suppression,
    SuppressionReason,
)
from crm.models import ConsentStatus, Customer
from segmentation.models import SegmentMembership
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db


def addresses(campaign) -> dict[str, tuple[int, int]]:
    return {
        address: (customer_id, segment_id)
        for address, customer_id, segment_id in Delivery.objects.filter(campaign=campaign)
        .values_list("address", "customer_id", "segment_id")
    }


def test_recipients_are_frozen_once_per_address(make_segment):
    everyone = make_customers(10)
    first, second = make_segment(everyone[:6]), make_segment(everyone[4:])  # 4, 5 in both
    excluded = make_segment(everyone[9:])
    Customer.objects.filter(pk=everyone[1].pk).update(consent_status=ConsentStatus.WITHDRAWN)
    Customer.objects.filter(pk=everyone[2].pk).update(unsubscribed_at=timezone.now())
    Suppression.objects.create(address="C3@Example.com", reason=SuppressionReason.HARD_BOUNCED)
    # Same address, other case (bulk writes skip Customer.save()'s normalising): lowest id wins.
    twin = make_customers(1, prefix=" C", consent_status=ConsentStatus.GRANTED)[0]
    SegmentMembership.objects.create(segment=second, customer=twin)
    campaign = make_campaign([first, second], excluded=[excluded])

    count = services.launch_campaign(campaign=campaign)

    got = addresses(campaign)
    expected = {f"c{n}@example.com" for n in (0, 4, 5, 6, 7, 8)}
    assert set(got) == expected and count == len(expected) == campaign.recipient_count
    assert twin.email == " C0@example.com"
    assert got["c0@example.com"] == (everyone[0].pk, first.pk)  # not the twin
    assert got["c4@example.com"][1] == first.pk  # in both: the first target segment
    assert got["c7@example.com"][1] == second.pk
    assert campaign.status == CampaignStatus.SENDING
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_launch_is_one_insert_select(make_segment):
    campaign = make_campaign([make_segment(make_customers(50))])
    with CaptureQueriesContext(connection) as queries:
        services.launch_campaign(campaign=campaign)
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "campaigns_delivery"')]
    assert len(inserts) == 1 and "SELECT" in inserts[0]
    assert Delivery.objects.count() == 50


def test_links_are_stored_at_launch(make_segment):
    campaign = make_campaign([make_segment(make_customers(1))])
    services.launch_campaign(campaign=campaign)
    assert set(Link.objects.values_list("url", flat=True)) == {
        "https://shop.example.com/sale?a=1&b=2", "https://shop.example.com/new",
    }


def test_a_campaign_launches_once(make_segment):
    campaign = make_campaign([make_segment(make_customers(3))])
    services.launch_campaign(campaign=campaign)
    with pytest.raises(services.CampaignError):
        services.launch_campaign(campaign=campaign)
    assert Delivery.objects.count() == 3


def test_only_published_segments_and_valid_templates(make_segment, draft_run_segment):
    unpublished = make_campaign([draft_run_segment])
    with pytest.raises(services.CampaignError, match="published"):
        services.launch_campaign(campaign=unpublished)
    broken = make_campaign([make_segment(make_customers(2))], subject="{% if %}")
    with pytest.raises(services.CampaignError, match="template"):
        services.launch_campaign(campaign=broken)
    no_segment = make_campaign([])
    with pytest.raises(services.CampaignError):
        services.launch_campaign(campaign=no_segment)
    for campaign in (unpublished, broken, no_segment):
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.DRAFT
    assert not Delivery.objects.exists()


def test_nobody_to_send_to_is_sent_at_once(make_segment):
    customers = make_customers(2, consent_status=ConsentStatus.UNKNOWN)
    campaign = make_campaign([make_segment(customers)])
    assert services.launch_campaign(campaign=campaign) == 0
    assert campaign.status == CampaignStatus.SENT


def test_scheduled_campaigns_launch_when_due(make_segment):
    segment = make_segment(make_customers(3))
    now = timezone.now()
    due = make_campaign([segment], name="due", scheduled_at=now - timedelta(minutes=1))
    later = make_campaign([segment], name="later", scheduled_at=now + timedelta(hours=1))
    services.schedule_campaign(campaign=due)
    services.schedule_campaign(campaign=later)

    assert services.launch_due_campaigns(now=now) == [due.pk]
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == CampaignStatus.SENDING and later.status == CampaignStatus.SCHEDULED
    assert services.launch_due_campaigns(now=now) == []


def test_schedule_needs_a_time(make_segment):
    campaign = make_campaign([make_segment(make_customers(1))])
    with pytest.raises(services.CampaignError):
        services.schedule_campaign(campaign=campaign)


def test_pause_resume_cancel_follow_the_status(make_segment):
    campaign = make_campaign([make_segment(make_customers(3))])
    with pytest.raises(services.CampaignError):
        services.pause_campaign(campaign=campaign)
    services.launch_campaign(campaign=campaign)
    services.pause_campaign(campaign=campaign)
    assert campaign.status == CampaignStatus.PAUSED
    services.resume_campaign(campaign=campaign)
    assert campaign.status == CampaignStatus.SENDING
    services.cancel_campaign(campaign=campaign)
    assert campaign.status == CampaignStatus.CANCELLED
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    with pytest.raises(services.CampaignError):
        services.resume_campaign(campaign=campaign)
