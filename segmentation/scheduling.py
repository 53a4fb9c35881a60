"""Segmentations that re-run themselves, and runs that publish themselves when they match.

Celery beat calls ``start_due_reruns`` (hourly): a segmentation with
``rerun_every_days`` gets a new *scheduled* run once that many days have passed
since its last scheduled run (or its published run). When the run has finished,
``review_scheduled_run`` publishes it if its segments match the published ones
closely -- the adjusted Rand index at least AUTO_PUBLISH_MIN_ARI, every segment
matched, and none changing more than AUTO_PUBLISH_MAX_CHANGE of its members
(1 - Jaccard similarity of old and new members) -- so campaigns and triggers keep
their segment ids and go on. Otherwise the run waits for a person (the admin
lists it as waiting, with why); nothing is mailed from an unpublished run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .conf import segmentation_settings
from .models import (
    ReviewState,
    RunStatus,
    Segmentation,
    SegmentationRun,
    SegmentMembership,
)

logger = logging.getLogger(__name__)


def _last_start(segmentation: Segmentation) -> datetime | None:
    run = (segmentation.runs.filter(Q(is_scheduled=True) | Q(is_published=True))
           .order_by("-created_at").first())
    return run.created_at if run else None


def start_due_reruns(*, now: datetime | None = None) -> list[int]:
    """Queue a scheduled run of each segmentation whose re-run is due; return the run ids."""
    from .services import feature_names_of
    from .tasks import run_scheduled

    now = now or timezone.now()
    started = []
    for segmentation in Segmentation.objects.filter(rerun_every_days__isnull=False):
        busy = segmentation.runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        last = _last_start(segmentation)
        due = last is None or last + timedelta(days=segmentation.rerun_every_days) <= now
        if not due or busy.exists():
            continue
        with transaction.atomic():
            run = SegmentationRun.objects.create(
                segmentation=segmentation, feature_names=feature_names_of(segmentation),
                is_scheduled=True,
            )
            transaction.on_commit(lambda pk=run.pk: run_scheduled.delay(pk))
        started.append(run.pk)
    return started


def execute_scheduled_run(*, run_id: int, now: datetime | None = None) -> SegmentationRun:
    """Execute a scheduled run, then publish it or leave it waiting."""
    from .services import execute_run

    run = execute_run(run_id=run_id, now=now)
    return review_scheduled_run(run=run)


def changed_share(old_id: int, new_id: int) -> float:
    """1 - |old ∩ new| / |old ∪ new| of two segments' members."""
    old = SegmentMembership.objects.filter(segment_id=old_id)
    new = SegmentMembership.objects.filter(segment_id=new_id)
    old_size, new_size = old.count(), new.count()
    kept = new.filter(customer_id__in=old.values("customer_id")).count()
    union = old_size + new_size - kept
    return 1.0 - kept / union if union else 0.0


def reasons_to_wait(run: SegmentationRun) -> list[str]:
    """Why ``run`` may not publish itself (empty: it matches the published run)."""
    from .stability import published_run_of

    if not run.segmentation.auto_publish:
        return [_("Automatic publishing is off for this segmentation.")]
    stability = (run.metrics or {}).get("stability")
    published = published_run_of(run)
    if stability is None or published is None:
        return [_("Nothing published to compare with.")]
    reasons = []
    ari = float(stability.get("adjusted_rand_index") or 0.0)
    if ari < segmentation_settings.AUTO_PUBLISH_MIN_ARI:
        reasons.append(_("Adjusted Rand index %(ari).2f is below %(min).2f.")
                       % {"ari": ari, "min": segmentation_settings.AUTO_PUBLISH_MIN_ARI})
    segments = list(run.segments.order_by("index"))
    matched = {s.previous_id for s in segments if s.previous_id}
    for segment in segments:
        if segment.previous_id is None:
            reasons.append(_("Segment %(name)s is new.") % {"name": segment.name})
            continue
        share = changed_share(segment.previous_id, segment.pk)
        if share > segmentation_settings.AUTO_PUBLISH_MAX_CHANGE:
            reasons.append(_("Segment %(name)s changed %(share).0f%% of its members.")
                           % {"name": segment.name, "share": share * 100})
    for old in published.segments.exclude(pk__in=matched):
        reasons.append(_("Segment %(name)s has no match in the new run.") % {"name": old.name})
    return reasons


def review_scheduled_run(*, run: SegmentationRun) -> SegmentationRun:
    """Publish a succeeded scheduled run that matches; otherwise mark it waiting, with why."""
    from .services import publish_run

    if not run.is_scheduled or run.status != RunStatus.SUCCEEDED:
        return run
    reasons = reasons_to_wait(run)
    if reasons:
        SegmentationRun.objects.filter(pk=run.pk).update(
            review_state=ReviewState.WAITING, review_note="\n".join(reasons))
        logger.info("scheduled run %s waits for review: %s", run.pk, "; ".join(reasons))
    else:
        with transaction.atomic():
            run = publish_run(run=run)
            SegmentationRun.objects.filter(pk=run.pk).update(
                review_state=ReviewState.AUTO_PUBLISHED, review_note="")
    run.refresh_from_db()
    return run
