"""A segmentation run executed by a real Celery worker, its progress visible meanwhile."""

import time

import pytest

from segmentation.models import RunStatus, Segmentation
from segmentation.services import start_run
from tests.segmentation.conftest import build_shop

pytestmark = [pytest.mark.worker, pytest.mark.redis]


def test_worker_runs_a_segmentation(celery_worker):
    build_shop()
    segmentation = Segmentation.objects.create(name="worker", n_clusters=3)
    run = start_run(segmentation=segmentation)  # autocommit: the task is sent at once

    seen = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run.refresh_from_db()
        seen.add(run.status)
        if run.is_finished:
            break
        time.sleep(0.2)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.segments.count() == 3
    assert sum(segment.size for segment in run.segments.all()) + run.metrics["unassigned"] == (
        run.customer_count
    )
    assert seen & {RunStatus.QUEUED, RunStatus.RUNNING}  # we saw it before it finished
