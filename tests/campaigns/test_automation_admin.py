"""The admin's automation: the one-form win-back email, the queue, A/B inlines, waiting runs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.automation.models import ABTest, EntryStatus, SkipReason, Trigger, TriggerEntry
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from segmentation.models import MembershipChange, ReviewState, SegmentationRun
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db


def test_the_win_back_email_takes_one_form(admin_client, make_segment,
                                           django_capture_on_commit_callbacks):
    customers = make_customers(4)
    make_segment(customers[:1], name="Loyal customers")
    lapsed = make_segment(customers[1:], name="Lapsed customers")
    changelist = admin_client.get(reverse("admin:campaigns_campaign_changelist"))
    url = reverse("admin:campaigns_campaign_winback")
    assert url in changelist.content.decode()

    form = admin_client.get(url)
    assert form.context["form"]["segment"].value() == lapsed.pk  # guessed by its name
    initial = {name: field.initial for name, field in form.context["form"].fields.items()}
    data = {**{k: str(v) for k, v in initial.items() if v not in (None, False)},
            "segment": lapsed.pk, "offer_url": "https://shop.example.com/back",
            "activate": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    assert campaign.status == CampaignStatus.SENDING and list(campaign.segments.all()) == [lapsed]
    trigger = Trigger.objects.get(campaign=campaign)
    assert (trigger.delay_days, trigger.reentry_days, trigger.activated_at is not None) == \
        (3, 90, True)
    assert "https://shop.example.com/back" in campaign.html_body
    assert "{{ name }}" in campaign.subject


def test_the_campaign_page_shows_the_queue_and_why(admin_client, make_segment):
    customers = make_customers(3)
    segment = make_segment(customers)
    campaign = make_campaign([segment], name="Welcome")
    Trigger.objects.create(campaign=campaign, delay_days=2)
    from campaigns.automation.triggers import activate_trigger

    activate_trigger(campaign=campaign)
    for customer in customers:
        MembershipChange.objects.create(segment=segment, customer=customer, direction="entered",
                                        at=campaign.launched_at)
    from django.db import transaction

    from campaigns.automation.triggers import record_entries

    with transaction.atomic():
        record_entries(campaign=campaign, since=campaign.launched_at)
    first, second, third = TriggerEntry.objects.filter(campaign=campaign).order_by("pk")
    TriggerEntry.objects.filter(pk=second.pk).update(status=EntryStatus.SKIPPED,
                                                      reason=SkipReason.LEFT)

    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert "Automation queue" in html
    assert "<strong>2</strong> waiting" in html and "<strong>1</strong> skipped" in html
    assert "Left the segment before the email was due" in html
    assert customers[0].email in html


def test_a_variants_campaign_page_shows_the_ab_test(admin_client, make_segment):
    campaign = make_campaign([make_segment(make_customers(20))])
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    page = admin_client.get(url)
    assert "A/B test" in page.content.decode()
    ABTest.objects.create(campaign=campaign)
    for label in "AB":
        campaign.variants.create(label=label, subject=f"{label} subject")
    admin_client.post(reverse("admin:campaigns_campaign_changelist"),
                      {"action": "launch", "_selected_action": [campaign.pk]})
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.HELD).count() == 16
    html = admin_client.get(url).content.decode()
    assert "split evenly at random (seed" in html


def test_a_waiting_scheduled_run_is_shown(admin_client, make_segment):
    segmentation = make_segment.run.segmentation
    run = SegmentationRun.objects.create(
        segmentation=segmentation, status="succeeded", is_scheduled=True,
        review_state=ReviewState.WAITING, review_note="Adjusted Rand index 0.41 is below 0.80.",
    )
    page = admin_client.get(reverse("admin:segmentation_segmentation_changelist"))
    html = page.content.decode()
    assert "waits for your review" in html and "0.41" in html
    assert reverse("admin:segmentation_segmentationrun_review", args=[run.pk]) in html
    assert f"Run #{run.pk} waits" in html


def test_the_segment_review_shows_responses_to_past_campaigns(
    admin_client, make_segment, django_capture_on_commit_callbacks,
):
    from django.utils import timezone

    from campaigns.models import EventKind, TrackingEvent

    segment = make_segment(make_customers(4), name="Lapsed customers")
    campaign = make_campaign([segment], name="Autumn win-back")
    from campaigns import services

    with django_capture_on_commit_callbacks(execute=True):
        services.launch_campaign(campaign=campaign)  # eager: sent to locmem
    delivery = Delivery.objects.filter(campaign=campaign).first()
    TrackingEvent.objects.create(delivery=delivery, kind=EventKind.CLICK,
                                 occurred_at=timezone.now())
    url = reverse("admin:segmentation_segmentationrun_review", args=[segment.run_id])
    html = admin_client.get(url).content.decode()
    assert "How this segment responded to past campaigns" in html
    assert "Autumn win-back" in html and "25%" in html  # 1 of 4 clicked
