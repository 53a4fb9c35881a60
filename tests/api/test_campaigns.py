"""Campaigns through the API: create, preview, test, launch, pause, resume, cancel, stats."""

from __future__ import annotations

import pytest
from django.core import mail

from campaigns.models import Campaign, CampaignStatus, Delivery

pytestmark = pytest.mark.django_db

MESSAGE = {
    "name": "Autumn", "subject": "Hi {{ name }}", "html_body": "<p>Hi {{ name }}</p>",
    "text_body": "Hi {{ name }}",
}


def test_a_campaign_is_created_with_its_segments(api, world):
    segment = world["segments"][0]
    response = api.post("/api/v1/campaigns/", {**MESSAGE, "segments": [segment.pk]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "draft"
    assert list(Campaign.objects.get(pk=response.json()["id"]).segments.all()) == [segment]


@pytest.mark.parametrize("change, field", [
    ({"subject": "Hi {% if %}"}, "non_field_errors"),
    ({"html_body": "{% url 'nowhere' %}"}, "non_field_errors"),
    ({"segments": []}, "segments"),
])
def test_messages_that_cannot_be_rendered_are_refused(api, world, change, field):
    body = {**MESSAGE, "segments": [world["segments"][0].pk], **change}
    response = api.post("/api/v1/campaigns/", body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_draft_segments_cannot_be_targeted(api, world):
    draft_segment = world["segments"][0]
    draft_segment.run = world["draft_run"]
    draft_segment.index = 9
    draft_segment.save()
    response = api.post("/api/v1/campaigns/", {**MESSAGE, "segments": [draft_segment.pk]},
                        format="json")
    assert response.status_code == 400 and "segments" in response.json()


def test_preview_and_test_send(api, world):
    campaign = world["campaign"]
    preview = api.get(f"/api/v1/campaigns/{campaign.pk}/preview/").json()
    assert preview["subject"] == "Hello Customer 0"
    other = world["customers"][2]
    preview = api.get(f"/api/v1/campaigns/{campaign.pk}/preview/", {"customer": other.pk}).json()
    assert preview["address"] == other.email and "Customer 2" in preview["html"]
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/preview/",
                   {"customer": 10**9}).status_code == 400

    sent = api.post(f"/api/v1/campaigns/{campaign.pk}/test/", {}, format="json").json()
    assert sent["address"] == "owner@example.com"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.com"]
    api.post(f"/api/v1/campaigns/{campaign.pk}/test/", {"address": "qa@example.com"},
             format="json")
    assert mail.outbox[-1].to == ["qa@example.com"]


def test_launch_pause_resume_cancel(api, world):
    campaign = world["campaign"]
    url = f"/api/v1/campaigns/{campaign.pk}"
    assert api.post(f"{url}/pause/").status_code == 400  # not sending yet
    launched = api.post(f"{url}/launch/").json()
    assert (launched["status"], launched["recipient_count"]) == ("sending", 3)
    assert api.post(f"{url}/launch/").status_code == 400
    assert api.patch(url + "/", {"name": "late"}, format="json").status_code == 400
    refused = api.delete(url + "/")
    assert refused.status_code == 409 and "Cancel" in refused.json()["detail"]
    assert api.post(f"{url}/pause/").json()["status"] == "paused"
    assert api.post(f"{url}/resume/").json()["status"] == "sending"
    assert api.post(f"{url}/cancel/").json()["status"] == "cancelled"
    stats = api.get(f"{url}/stats/").json()
    assert stats["campaign"]["recipients"] == 3
    assert [s["segment_id"] for s in stats["segments"]] == [world["segments"][0].pk]
    # It sent (or could have): archived, never deleted.
    refused = api.delete(url + "/")
    assert refused.status_code == 409 and "archive" in refused.json()["detail"]
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_a_sent_campaign_is_archived_not_deleted(api, world):
    campaign = world["campaign"]
    url = f"/api/v1/campaigns/{campaign.pk}"
    assert api.post(f"{url}/archive/").status_code == 400  # a draft: delete it instead
    api.post(f"{url}/launch/")
    api.post(f"{url}/cancel/")
    deliveries = Delivery.objects.filter(campaign=campaign).count()
    archived = api.post(f"{url}/archive/")
    assert archived.status_code == 200 and archived.json()["archived_at"]
    assert campaign.pk not in [c["id"] for c in api.get("/api/v1/campaigns/").json()["results"]]
    assert [c["id"] for c in api.get("/api/v1/campaigns/?archived=true").json()["results"]] == [
        campaign.pk]
    assert api.get("/api/v1/campaigns/?archived=maybe").status_code == 400
    assert api.get(f"{url}/").status_code == 200  # still readable by id, stats kept
    assert api.get(f"{url}/stats/").json()["campaign"]["recipients"] == 3
    assert api.delete(f"{url}/").status_code == 409
    assert Delivery.objects.filter(campaign=campaign).count() == deliveries == 3
    assert api.post(f"{url}/unarchive/").json()["archived_at"] is None


def test_a_draft_that_never_sent_is_deleted(api, world):
    campaign = world["campaign"]
    assert api.delete(f"/api/v1/campaigns/{campaign.pk}/").status_code == 204
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_a_campaign_with_a_future_time_is_scheduled(api, world):
    campaign = world["campaign"]
    campaign.scheduled_at = "2999-01-01T00:00:00Z"
    campaign.save()
    response = api.post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    assert response.json()["status"] == CampaignStatus.SCHEDULED
