"""Scheduled re-runs: one that matches the published run publishes itself; others wait."""

from datetime import timedelta

import pytest

from campaigns.automation.models import Trigger, TriggerEntry
from campaigns.automation.triggers import activate_trigger
from campaigns.models import Delivery
from segmentation.models import ReviewState, SegmentationRun
from segmentation.scheduling import execute_scheduled_run, start_due_reruns
from segmentation.selectors import runs_waiting_for_review
from tests.campaigns.conftest import make_campaign

from .conftest import NOW
from .test_live import published_run

pytestmark = pytest.mark.django_db


def scheduled_run(segmentation, django_capture_on_commit_callbacks, now):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        (run_id,) = start_due_reruns(now=now)
    assert len(queued) == 1  # the run is queued for a worker once committed
    return execute_scheduled_run(run_id=run_id, now=NOW)


def test_a_run_is_started_only_when_due(shop, django_capture_on_commit_callbacks):
    run = published_run()
    segmentation = run.segmentation
    assert start_due_reruns(now=NOW) == []  # no schedule
    segmentation.rerun_every_days = 7
    segmentation.save()
    assert start_due_reruns(now=run.created_at + timedelta(days=6)) == []
    with django_capture_on_commit_callbacks(execute=False):
        assert len(start_due_reruns(now=run.created_at + timedelta(days=7))) == 1
        # queued already: not started twice
        assert start_due_reruns(now=run.created_at + timedelta(days=8)) == []


def test_a_matching_scheduled_run_publishes_itself_and_keeps_segment_ids(
    shop, django_capture_on_commit_callbacks,
):
    first = published_run()
    segmentation = first.segmentation
    segmentation.rerun_every_days = 7
    segmentation.save()
    ids = set(first.segments.values_list("pk", flat=True))
    target = first.segments.order_by("pk").first()
    campaign = make_campaign([target])
    Trigger.objects.create(campaign=campaign)
    activate_trigger(campaign=campaign)

    run = scheduled_run(segmentation, django_capture_on_commit_callbacks,
                        first.created_at + timedelta(days=7))

    assert run.is_published and run.review_state == ReviewState.AUTO_PUBLISHED
    assert run.metrics["stability"]["adjusted_rand_index"] >= 0.8
    assert set(run.segments.values_list("pk", flat=True)) == ids
    assert campaign.segments.get().run_id == run.pk  # the trigger follows the segment
    assert not runs_waiting_for_review().exists()


def test_a_scheduled_run_that_does_not_match_waits_and_mails_nothing(
    shop, django_capture_on_commit_callbacks,
):
    first = published_run()
    segmentation = first.segmentation
    segmentation.rerun_every_days = 7
    segmentation.n_clusters = 6  # the new run splits the shop differently
    segmentation.save()
    campaign = make_campaign([first.segments.order_by("pk").first()])
    Trigger.objects.create(campaign=campaign, include_current_members=False)
    activate_trigger(campaign=campaign)

    with django_capture_on_commit_callbacks(execute=True):
        run = scheduled_run(segmentation, django_capture_on_commit_callbacks,
                            first.created_at + timedelta(days=7))

    assert run.status == "succeeded" and not run.is_published
    assert run.review_state == ReviewState.WAITING and run.review_note
    assert list(runs_waiting_for_review()) == [run]
    first.refresh_from_db()
    assert first.is_published
    assert not TriggerEntry.objects.exists() and not Delivery.objects.exists()
    assert SegmentationRun.objects.filter(is_published=True).get() == first


def test_nothing_published_yet_waits(shop, django_capture_on_commit_callbacks):
    from segmentation.services import default_segmentation

    segmentation = default_segmentation()
    segmentation.rerun_every_days = 1
    segmentation.save()
    run = scheduled_run(segmentation, django_capture_on_commit_callbacks, NOW)
    assert run.review_state == ReviewState.WAITING and not run.is_published
