"""A run's heartbeat and the watchdog that ends runs whose worker died.

While a worker executes a run, a background thread writes ``heartbeat_at`` every
RUN_HEARTBEAT seconds (clustering a million customers is one long call, so the
pipeline's own progress reports are too rare to be a heartbeat). A run ``running``
with no heartbeat for RUN_TIMEOUT lost its worker: it is queued again, at most
RUN_MAX_REQUEUES times, then marked failed. The check runs in a watchdog task each
run queues for itself with a countdown (no celery beat needed), and in beat's
``segmentation-recover-runs`` as a backstop.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from .conf import segmentation_settings
from .models import RunStatus, SegmentationRun

logger = logging.getLogger(__name__)


def beat(run_id: int, *, now: datetime | None = None) -> int:
    """Record that the run's worker is alive."""
    return SegmentationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        heartbeat_at=now or timezone.now())


class Heartbeat:
    """Beats for a run from a background thread between ``start()`` and ``stop()``.

    Not inside a transaction (a unit test, an eager task in one): the run's row is not
    visible to other connections then, so there is nobody to tell.
    """

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        beat(self.run_id)
        if not connection.in_atomic_block:
            self.thread = threading.Thread(target=self._loop, daemon=True,
                                           name=f"run-{self.run_id}-heartbeat")
            self.thread.start()
        return self

    def _loop(self) -> None:
        try:
            while not self.stopped.wait(float(segmentation_settings.RUN_HEARTBEAT)):
                try:
                    beat(self.run_id)
                except Exception:  # noqa: BLE001 — a missed beat is retried next time
                    logger.warning("run %s: heartbeat failed", self.run_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=10)


def schedule_watch(run_id: int) -> None:
    """Queue the run's watchdog to look at it after RUN_TIMEOUT (after the commit).

    Not when tasks run in-process (the demo): the run and its caller die together.
    """
    from celery import current_app

    from .tasks import watch_run

    if current_app.conf.task_always_eager:
        return
    countdown = float(segmentation_settings.RUN_TIMEOUT)
    transaction.on_commit(lambda: watch_run.apply_async((run_id,), countdown=countdown))


@dataclass
class RunRecovery:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def recover_runs(*, now: datetime | None = None, run_ids: list[int] | None = None,
                 timeout: timedelta | None = None) -> RunRecovery:
    """Requeue (at most RUN_MAX_REQUEUES times) or fail running runs without a heartbeat."""
    from .tasks import run_segmentation

    now = now or timezone.now()
    timeout = timeout or timedelta(seconds=float(segmentation_settings.RUN_TIMEOUT))
    silent = SegmentationRun.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lte=now - timeout)
        | Q(heartbeat_at__isnull=True, started_at__lte=now - timeout)
    )
    if run_ids is not None:
        silent = silent.filter(pk__in=run_ids)
    report = RunRecovery()
    limit = int(segmentation_settings.RUN_MAX_REQUEUES)
    with transaction.atomic():
        for run in silent.select_for_update(skip_locked=True).only("pk", "requeues"):
            if run.requeues < limit:
                SegmentationRun.objects.filter(pk=run.pk).update(
                    status=RunStatus.QUEUED, stage="", progress=0.0, heartbeat_at=None,
                    requeues=F("requeues") + 1,
                    error=gettext("Its worker stopped; queued again."),
                )
                transaction.on_commit(lambda pk=run.pk: run_segmentation.delay(pk))
                report.requeued.append(run.pk)
            else:
                SegmentationRun.objects.filter(pk=run.pk).update(
                    status=RunStatus.FAILED, finished_at=now,
                    error=gettext("Its worker stopped (no sign of life for %(seconds)d s).")
                    % {"seconds": timeout.total_seconds()},
                )
                report.failed.append(run.pk)
    return report


def watch(run_id: int) -> str:
    """The watchdog task's work: recover the run if silent, else look again later."""
    recover_runs(run_ids=[run_id])
    status = SegmentationRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
    if status == RunStatus.RUNNING:
        schedule_watch(run_id)  # a requeued run gets a new watchdog when it starts again
    return status or "missing"
