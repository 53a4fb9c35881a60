"""Runs whose worker died are requeued once, then failed (a fake clock: ``now`` given)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from segmentation import runwatch
from segmentation.models import RunStatus, Segmentation, SegmentationRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(monkeypatch):
    monkeypatch.setattr("segmentation.tasks.run_segmentation.delay", lambda pk: None)
    start = timezone.now()
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="s"), status=RunStatus.RUNNING,
        started_at=start, heartbeat_at=start,
    )
    return run


def test_a_beating_run_is_left_alone(running):
    later = running.heartbeat_at + timedelta(seconds=100)
    runwatch.beat(running.pk, now=later)
    report = runwatch.recover_runs(now=later + timedelta(seconds=119))
    assert report.requeued == report.failed == []
    running.refresh_from_db()
    assert running.status == RunStatus.RUNNING


def test_a_silent_run_is_requeued_once_then_failed(running, django_capture_on_commit_callbacks):
    silent = running.heartbeat_at + timedelta(seconds=121)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert runwatch.recover_runs(now=silent).requeued == [running.pk]
    assert len(queued) == 1  # the run is sent to a worker again
    running.refresh_from_db()
    assert (running.status, running.requeues) == (RunStatus.QUEUED, 1)

    # It starts again and its worker dies again: failed, never running forever.
    SegmentationRun.objects.filter(pk=running.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=silent)
    assert runwatch.recover_runs(now=silent + timedelta(seconds=121)).failed == [running.pk]
    running.refresh_from_db()
    assert running.status == RunStatus.FAILED and "stopped" in running.error


def test_the_watchdog_looks_again_while_the_run_lives(running, monkeypatch):
    scheduled = []
    monkeypatch.setattr(runwatch, "schedule_watch", scheduled.append)
    assert runwatch.watch(running.pk) == RunStatus.RUNNING
    assert scheduled == [running.pk]
    SegmentationRun.objects.filter(pk=running.pk).update(status=RunStatus.SUCCEEDED)
    assert runwatch.watch(running.pk) == RunStatus.SUCCEEDED
    assert scheduled == [running.pk]


def test_a_watchdog_killed_with_its_worker_goes_back_to_the_queue():
    """acks_late alone acks a task whose worker died: the run would have no watchdog left."""
    from segmentation.tasks import watch_run

    assert watch_run.acks_late and watch_run.reject_on_worker_lost


def test_a_task_that_finds_its_run_running_makes_sure_a_watchdog_looks(running, monkeypatch):
    """Its worker died between starting the run and queueing the run's watchdog."""
    from segmentation import services

    scheduled = []
    monkeypatch.setattr(services, "schedule_watch", scheduled.append)
    assert services.execute_run(run_id=running.pk).status == RunStatus.RUNNING
    assert scheduled == [running.pk]
    SegmentationRun.objects.filter(pk=running.pk).update(status=RunStatus.SUCCEEDED)
    services.execute_run(run_id=running.pk)
    assert scheduled == [running.pk]  # a finished run needs no watchdog
