"""Retention: only the newest runs (and those in use) keep their membership rows; old
membership changes go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from campaigns.automation.models import TriggerEntry
from campaigns.models import Campaign, CampaignStatus
from crm.models import Customer
from segmentation import tasks
from segmentation.models import (
    CustomerFeatures,
    MembershipChange,
    Segment,
    Segmentation,
    SegmentationRun,
    SegmentMembership,
)
from segmentation.querying import rule_to_q
from segmentation.retention import apply_retention, drop_old_members
from segmentation.rules import Rule
from segmentation.services import execute_run, publish_run

from .conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def keep_two(settings):
    settings.RULECAST_SEGMENTATION = {"KEEP_MEMBERS_OF_RUNS": 2}


def run_once(segmentation: Segmentation, day: int) -> SegmentationRun:
    run = SegmentationRun.objects.create(segmentation=segmentation, as_of=NOW)
    # Each run a day later: "the newest" is by creation.
    SegmentationRun.objects.filter(pk=run.pk).update(created_at=NOW + timedelta(days=day))
    return execute_run(run_id=run.pk, now=NOW + timedelta(days=day))


def members_of(run: SegmentationRun) -> int:
    return SegmentMembership.objects.filter(segment__run=run).count()


@pytest.fixture
def four_runs(shop, keep_two) -> list[SegmentationRun]:
    """Four runs of one segmentation, the first published, each dropping what retention says."""
    segmentation = Segmentation.objects.create(name="kept", n_clusters=3)
    first = run_once(segmentation, 0)
    publish_run(run=first)
    runs = [first] + [run_once(segmentation, day) for day in (1, 2, 3)]
    for run in runs:
        run.refresh_from_db()
    return runs


def test_only_the_newest_runs_and_the_published_one_keep_their_members(four_runs, shop):
    published, old, newer, newest = four_runs
    # The second is past the two newest and not published: members gone, the rest kept.
    assert members_of(old) == 0
    assert old.members_dropped_at == NOW + timedelta(days=3)
    assert old.segments.count() == 3 and all(s.size > 0 and s.rule for s in old.segments.all())
    assert old.metrics["k"] == 3
    for run in (published, newer, newest):
        assert run.members_dropped_at is None
        assert members_of(run) == len(shop)


def test_without_retention_every_run_keeps_its_members(shop, settings):
    settings.RULECAST_SEGMENTATION = {"KEEP_MEMBERS_OF_RUNS": None}
    segmentation = Segmentation.objects.create(name="all", n_clusters=3)
    runs = [run_once(segmentation, day) for day in range(4)]
    assert [members_of(run) for run in runs] == [len(shop)] * 4


def test_a_run_a_campaign_relies_on_keeps_its_members_until_it_ends(shop, keep_two):
    segmentation = Segmentation.objects.create(name="used", n_clusters=3)
    used = run_once(segmentation, 0)
    campaign = Campaign.objects.create(name="spring", subject="Hi", html_body="<p>x</p>",
                                       text_body="x", status=CampaignStatus.DRAFT)
    campaign.segments.add(used.segments.first())
    for day in (1, 2, 3):
        run_once(segmentation, day)
    used.refresh_from_db()
    assert used.members_dropped_at is None and members_of(used) == len(shop)
    # Once the campaign is over, the nightly task drops them.
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT)
    assert tasks.apply_retention.apply().get() == {"runs": [used.pk], "changes": 0}
    used.refresh_from_db()
    assert members_of(used) == 0 and used.members_dropped_at is not None
    assert drop_old_members() == []  # nothing more to drop


def test_publishing_a_dropped_run_finds_its_members_again_from_its_rules(four_runs, shop):
    old, replaced = four_runs[1], four_runs[0]
    published_ids = set(replaced.segments.values_list("pk", flat=True))
    publish_run(run=old)
    old.refresh_from_db()
    assert old.is_published and old.members_dropped_at is None
    assert members_of(old) == len(shop)
    for segment in Segment.objects.filter(run=old):
        selected = set(CustomerFeatures.objects.filter(rule_to_q(Rule.from_dict(segment.rule)))
                       .values_list("customer_id", flat=True))
        assert set(segment.members().values_list("pk", flat=True)) == selected
    # Its segments took over the ids of the ones they matched in the run it replaced.
    assert set(old.segments.values_list("pk", flat=True)) == published_ids


def test_the_api_says_the_members_are_gone_with_why(four_runs):
    old = four_runs[1]
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("boss", "b@example.com", "pw"))
    response = client.get(f"/api/v1/runs/{old.pk}/labels/")
    assert response.status_code == 410
    assert "dropped on 2026-06-04" in response.json()["detail"]
    assert "publishing it finds its members again" in response.json()["detail"]
    segment = old.segments.first()
    response = client.get(f"/api/v1/segments/{segment.pk}/members/")
    assert response.status_code == 410 and "newest 2 runs" in response.json()["detail"]
    run = client.get(f"/api/v1/runs/{old.pk}/").json()
    assert run["members_dropped_at"].startswith("2026-06-04")
    kept = four_runs[3]
    assert client.get(f"/api/v1/runs/{kept.pk}/labels/").status_code == 200
    segment = kept.segments.first()
    members = client.get(f"/api/v1/segments/{segment.pk}/members/").json()
    assert members["count"] == segment.size


def test_the_run_page_says_when_and_why_in_the_readers_language(four_runs, admin_client):
    url = f"/admin/segmentation/segmentationrun/{four_runs[1].pk}/change/"
    text = admin_client.get(url).content.decode()
    assert "dropped on June 4, 2026: only the newest 2 runs" in text
    chinese = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已于2026年6月4日清除：每个客户分群只有最新的2次运行" in chinese
    kept = admin_client.get(f"/admin/segmentation/segmentationrun/{four_runs[3].pk}/change/")
    assert "<div class=\"readonly\">kept</div>" in kept.content.decode()


def test_the_review_page_offers_no_empty_member_list_for_a_dropped_run(four_runs, admin_client):
    url = f"/admin/segmentation/segmentationrun/{four_runs[1].pk}/review/"
    text = admin_client.get(url).content.decode()
    assert "Members no longer kept (an older run)" in text and "See the members" not in text
    chinese = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "成员已不再保留（较早的运行）" in chinese
    kept = admin_client.get(f"/admin/segmentation/segmentationrun/{four_runs[3].pk}/review/")
    assert "See the members" in kept.content.decode()


def test_membership_changes_older_than_a_year_go_and_their_queue_entries_stay(settings):
    settings.RULECAST_SEGMENTATION = {"KEEP_MEMBERSHIP_CHANGES_DAYS": 365}
    customer = Customer.objects.create(email="moved@example.com")
    segment = Segment.objects.create(kind="manual", name="Everyone", rule={"version": 1, "any": []})
    ages = [900, 366, 364, 3]
    changes = MembershipChange.objects.bulk_create([
        MembershipChange(segment=segment, customer=customer, direction="entered",
                         at=NOW - timedelta(days=days)) for days in ages])
    campaign = Campaign.objects.create(name="welcome", subject="Hi", html_body="<p>x</p>",
                                       text_body="x")
    entry = TriggerEntry.objects.create(campaign=campaign, customer=customer, segment=segment,
                                        change=changes[0], entered_at=changes[0].at,
                                        due_at=changes[0].at)
    assert apply_retention(now=NOW) == {"runs": [], "changes": 2}
    kept = sorted((NOW - at).days for at in MembershipChange.objects.values_list("at", flat=True))
    assert kept == [3, 364]
    entry.refresh_from_db()
    assert entry.change_id is None and entry.segment_id == segment.pk
    settings.RULECAST_SEGMENTATION = {"KEEP_MEMBERSHIP_CHANGES_DAYS": None}
    assert apply_retention(now=NOW + timedelta(days=4000))["changes"] == 0
