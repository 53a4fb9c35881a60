"""The admin: actions call the services; preview, statistics, the unknown-delivery policy."""

import pytest
from django.urls import reverse

from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(make_segment):
    return make_campaign([make_segment(make_customers(3))], test_address="me@example.com")


def act(client, action: str, *ids: int, model: str = "campaign"):
    url = reverse(f"admin:campaigns_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": ids}, follow=True)


def test_launch_pause_resume_cancel_from_the_admin(admin_client, campaign):
    act(admin_client, "launch", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.recipient_count == 3
    act(admin_client, "pause", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    act(admin_client, "resume", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    act(admin_client, "cancel", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    response = act(admin_client, "resume", campaign.pk)
    assert "Only a paused campaign" in response.content.decode()


def test_send_test_action(admin_client, campaign, mailoutbox):
    act(admin_client, "send_test", campaign.pk)
    [message] = mailoutbox
    assert message.to == ["me@example.com"] and message.subject.startswith("[Test] Hi ")


def test_preview_and_change_pages(admin_client, campaign):
    preview = admin_client.get(reverse("admin:campaigns_campaign_preview", args=[campaign.pk]))
    assert preview.status_code == 200 and "Hi Customer 0" in preview.content.decode()
    act(admin_client, "launch", campaign.pk)
    change = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert change.status_code == 200 and "unique opens" in change.content.decode()


def test_unknown_deliveries_are_resent_only_by_a_person(admin_client, campaign):
    act(admin_client, "launch", campaign.pk)
    delivery = Delivery.objects.first()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.UNKNOWN)
    listing = admin_client.get(reverse("admin:campaigns_delivery_changelist"))
    assert "never re-sent automatically" in listing.content.decode()
    act(admin_client, "resend_unknown", delivery.pk, model="delivery")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING


def test_other_admin_pages_load(admin_client):
    for model in ("delivery", "suppression", "trackingevent", "providerevent", "campaign"):
        assert admin_client.get(reverse(f"admin:campaigns_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:campaigns_campaign_add")).status_code == 200


def test_preview_for_a_chosen_customer(admin_client, db):
    from campaigns.models import Campaign
    from crm.models import Customer

    customer = Customer.objects.create(email="Chosen@Example.com", name="Chosen One")
    campaign = Campaign.objects.create(name="p", subject="Hi {{ name }}", html_body="<p>x</p>",
                                       text_body="x")
    url = f"/admin/campaigns/campaign/{campaign.pk}/preview/"
    page = admin_client.get(url, {"customer": "chosen@example.com"}).content.decode()
    assert "Hi Chosen One" in page and "chosen@example.com" in page
    page = admin_client.get(url, {"customer": str(customer.pk)}).content.decode()
    assert "Hi Chosen One" in page
    missing = admin_client.get(url, {"customer": "nobody@example.com"}).content.decode()
    assert "No customer nobody@example.com" in missing
