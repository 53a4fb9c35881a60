"""Published runs and the segments campaigns rely on cannot be deleted: 409 with why."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from campaigns.models import Campaign, CampaignStatus
from segmentation.models import Segment, Segmentation, SegmentationRun, SegmentKind

pytestmark = pytest.mark.django_db


def test_a_published_segmentation_is_409_and_keeps_its_segments(api, world):
    response = api.delete(f"/api/v1/segmentations/{world['segmentation'].pk}/")
    assert response.status_code == 409
    assert "published" in response.json()["detail"]
    assert Segment.objects.filter(run=world["run"]).count() == 2
    campaign = api.get(f"/api/v1/campaigns/{world['campaign'].pk}/").json()
    assert campaign["segments"] == [world["segments"][0].pk]


def test_a_published_run_is_409(api, world):
    response = api.delete(f"/api/v1/runs/{world['run'].pk}/")
    assert response.status_code == 409 and "published" in response.json()["detail"]
    assert SegmentationRun.objects.filter(pk=world["run"].pk).exists()


def test_an_unpublished_run_is_deleted(api, world):
    assert api.delete(f"/api/v1/runs/{world['draft_run'].pk}/").status_code == 204
    assert not SegmentationRun.objects.filter(pk=world["draft_run"].pk).exists()


def test_a_run_whose_segment_a_campaign_targets_is_409_even_unpublished(api, world):
    """Unpublished since: a campaign drafted while it was published still targets it."""
    SegmentationRun.objects.filter(pk=world["run"].pk).update(is_published=False)
    response = api.delete(f"/api/v1/runs/{world['run'].pk}/")
    assert response.status_code == 409
    assert "Spring sale" in response.json()["detail"]
    assert api.delete(f"/api/v1/segmentations/{world['segmentation'].pk}/").status_code == 409
    # Once the campaign is sent (or cancelled) the run may go; the campaign keeps its stats.
    Campaign.objects.filter(pk=world["campaign"].pk).update(status=CampaignStatus.CANCELLED)
    assert api.delete(f"/api/v1/runs/{world['run'].pk}/").status_code == 204


def test_a_targeted_or_excluded_hand_written_segment_is_409(api, world):
    manual, campaign = world["manual"], world["campaign"]
    campaign.excluded_segments.set([manual])
    response = api.delete(f"/api/v1/segments/{manual.pk}/")
    assert response.status_code == 409 and "Spring sale" in response.json()["detail"]
    campaign.excluded_segments.set([])
    assert api.delete(f"/api/v1/segments/{manual.pk}/").status_code == 204
    found = api.delete(f"/api/v1/segments/{world['segments'][1].pk}/")
    assert found.status_code == 409


def test_the_admin_delete_page_says_why(world):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw-x-123456"))
    page = client.get(f"/admin/segmentation/segmentationrun/{world['run'].pk}/delete/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "is published" in text and "Spring sale" not in text  # a published run: that
    refused = client.post(f"/admin/segmentation/segmentationrun/{world['run'].pk}/delete/",
                          {"post": "yes"})
    assert refused.status_code == 403 or SegmentationRun.objects.filter(
        pk=world["run"].pk).exists()
    assert SegmentationRun.objects.filter(pk=world["run"].pk).exists()
    manual = Segment.objects.create(kind=SegmentKind.MANUAL, name="VIP", rule=world["manual"].rule)
    world["campaign"].segments.add(manual)
    page = client.get(f"/admin/segmentation/segment/{manual.pk}/delete/")
    assert "Spring sale" in page.content.decode()
    assert Segmentation.objects.count() == 1
