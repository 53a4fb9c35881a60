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


# --- the change page: buttons with a confirmation, statistics that refresh and add up -------


def test_launch_button_asks_first_then_launches(admin_client, campaign):
    change = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    launch = reverse("admin:campaigns_campaign_launch", args=[campaign.pk])
    send_test = reverse("admin:campaigns_campaign_send_test", args=[campaign.pk])
    assert launch in change.content.decode() and send_test in change.content.decode()
    confirm = admin_client.get(launch)
    assert confirm.status_code == 200 and "Yes, launch it" in confirm.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT  # asking is not doing
    response = admin_client.post(launch, follow=True)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.recipient_count == 3
    assert "Launched to 3 recipients." in response.content.decode()
    again = admin_client.post(launch, follow=True)
    assert "Only a draft or scheduled campaign" in again.content.decode()


def test_send_test_button_mails_the_test_address(admin_client, campaign, mailoutbox):
    url = reverse("admin:campaigns_campaign_send_test", args=[campaign.pk])
    assert "me@example.com" in admin_client.get(url).content.decode()
    assert mailoutbox == []
    response = admin_client.post(url, follow=True)
    [message] = mailoutbox
    assert message.to == ["me@example.com"]
    assert "A test was sent to me@example.com." in response.content.decode()


def test_the_buttons_need_the_change_permission(client, campaign, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(viewer)
    change = client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert change.status_code == 200
    launch = reverse("admin:campaigns_campaign_launch", args=[campaign.pk])
    assert launch not in change.content.decode()
    assert client.post(launch).status_code == 403
    assert client.post(reverse("admin:campaigns_campaign_send_test",
                               args=[campaign.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_stats_json_adds_up_while_sending(admin_client, campaign):
    admin_client.post(reverse("admin:campaigns_campaign_launch", args=[campaign.pk]))
    first, second, third = Delivery.objects.filter(campaign=campaign).order_by("pk")
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.SENT)
    Delivery.objects.filter(pk=second.pk).update(status=DeliveryStatus.RESERVED)
    stats = admin_client.get(reverse("admin:campaigns_campaign_stats", args=[campaign.pk])).json()
    assert stats["live"] is True and stats["status"] == "sending"
    assert stats["total"] == 3 and stats["done"] == 1 and stats["waiting"] == 2
    assert stats["done"] + stats["waiting"] == stats["total"]  # a reserved one is waiting
    assert "1 of 3 messages handled" in stats["html"]
    assert 'data-live="1"' in stats["html"]
    Delivery.objects.filter(campaign=campaign).update(status=DeliveryStatus.SENT)
    from campaigns.models import Campaign

    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT)
    done = admin_client.get(reverse("admin:campaigns_campaign_stats", args=[campaign.pk])).json()
    assert done["live"] is False and done["done"] == done["total"] == 3 and done["waiting"] == 0


def test_a_hand_written_segment_is_a_target_in_the_admin_form(admin_client, db):
    from segmentation.models import Segment, SegmentKind

    manual = Segment.objects.create(kind=SegmentKind.MANUAL, name="Hand-written",
                                    rule={"version": 1, "any": [{"all": []}]})
    form = admin_client.get(reverse("admin:campaigns_campaign_add")).context["adminform"].form
    assert manual in form.fields["segments"].queryset
    assert manual in form.fields["excluded_segments"].queryset


def test_a_campaign_made_through_the_api_for_a_hand_written_segment_saves_in_the_admin(
        admin_client, db):
    from segmentation.models import Segment, SegmentKind

    manual = Segment.objects.create(kind=SegmentKind.MANUAL, name="Hand-written",
                                    rule={"version": 1, "any": [{"all": []}]})
    created = admin_client.post("/api/v1/campaigns/", {
        "name": "API made", "subject": "Hi", "html_body": "<p>x</p>", "text_body": "x",
        "segments": [manual.pk]}, content_type="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    url = reverse("admin:campaigns_campaign_change", args=[pk])
    page = admin_client.get(url).context
    form = page["adminform"].form
    data = {name: form.initial.get(name) or "" for name in
            ("name", "subject", "from_email", "reply_to", "html_body", "text_body",
             "scheduled_at", "rate_limit", "test_address")}
    data.update({"segments": [manual.pk], "excluded_segments": [], "_save": "Save"})
    for inline in page["inline_admin_formsets"]:  # links, automation: left empty
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
