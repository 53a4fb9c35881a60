"""Sent campaigns are archived in the admin, never deleted; the delete page says why."""

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, Delivery, Link
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(make_segment):
    campaign = make_campaign([make_segment(make_customers(3))])
    services.launch_campaign(campaign=campaign)
    services.cancel_campaign(campaign=campaign)  # finished either way: sent or cancelled
    return Campaign.objects.get(pk=campaign.pk)


def changelist(admin_client, **query) -> str:
    return admin_client.get(reverse("admin:campaigns_campaign_changelist"), query).content.decode()


def test_the_admin_refuses_to_delete_a_campaign_that_sent(admin_client, sent):
    url = reverse("admin:campaigns_campaign_delete", args=[sent.pk])
    page = admin_client.get(url).content.decode()
    assert "archive it instead" in page
    admin_client.post(url, {"post": "yes"})
    bulk = admin_client.post(reverse("admin:campaigns_campaign_changelist"),
                             {"action": "delete_selected", "_selected_action": [sent.pk],
                              "post": "yes"})
    assert "archive it instead" in bulk.content.decode()
    assert Campaign.objects.filter(pk=sent.pk).exists()
    assert Delivery.objects.filter(campaign=sent).count() == 3 and Link.objects.filter(
        campaign=sent).exists()


def test_archive_hides_it_from_the_list_and_keeps_everything(admin_client, sent):
    admin_client.post(reverse("admin:campaigns_campaign_changelist"),
                      {"action": "archive", "_selected_action": [sent.pk]})
    assert Campaign.objects.get(pk=sent.pk).archived_at is not None
    assert sent.name not in changelist(admin_client)
    assert sent.name in changelist(admin_client, archived="yes")
    assert Delivery.objects.filter(campaign=sent).count() == 3


def test_a_draft_that_never_sent_can_be_deleted(admin_client, make_segment):
    draft = make_campaign([make_segment(make_customers(1))])
    admin_client.post(reverse("admin:campaigns_campaign_delete", args=[draft.pk]), {"post": "yes"})
    assert not Campaign.objects.filter(pk=draft.pk).exists()
