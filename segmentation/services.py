"""Segmentation workflows: start a run, execute it, publish it.

``execute_run`` is what the Celery task and the ``segment`` command call. It is
safe to call twice: only a queued run is claimed, and a finished run is left as
it is. A run whose worker died is requeued once, then failed (``runwatch``).
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from .bulk import insert_frame
from .conf import segmentation_settings
from .features import registry
from .features.store import refresh_feature_table
from .models import (
    RunStatus,
    Segment,
    Segmentation,
    SegmentationRun,
    SegmentKind,
    SegmentMembership,
)
from .pipeline import PipelineConfig, PipelineError, PipelineResult, run_pipeline
from .pipeline.rfm import RFM_FEATURES, rfm_segments
from .rules import Rule, RuleError, simplify
from .rules.jsonlogic import from_jsonlogic
from .rules.validate import validate_rule
from .runwatch import Heartbeat, schedule_watch
from .stability import carry_over_identities, compare_with_published

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]

# Share of the progress bar each part of a run takes.
FEATURES_SHARE, PIPELINE_SHARE = 0.2, 0.7
PIPELINE_STAGES = ["preprocess", "cluster", "explain", "compare", "profile"]


def default_segmentation() -> Segmentation:
    """The segmentation the demo and a new shop start with."""
    segmentation, _ = Segmentation.objects.get_or_create(
        name="Default",
        defaults={"description": "Behavioural segments of all customers."},
    )
    return segmentation


def start_run(*, segmentation: Segmentation) -> SegmentationRun:
    """Queue a run; the task is sent once the surrounding transaction commits."""
    from .tasks import run_segmentation

    run = SegmentationRun.objects.create(
        segmentation=segmentation, feature_names=feature_names_of(segmentation)
    )
    transaction.on_commit(lambda: run_segmentation.delay(run.pk))
    return run


def requeue_run(*, run: SegmentationRun) -> SegmentationRun:
    """Put a failed or stuck run back in the queue (a person decides this)."""
    from .tasks import run_segmentation

    SegmentationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.QUEUED, stage="", progress=0.0, error="", finished_at=None,
        heartbeat_at=None,
    )
    transaction.on_commit(lambda: run_segmentation.delay(run.pk))
    run.refresh_from_db()
    return run


def feature_names_of(segmentation: Segmentation) -> list[str]:
    return list(segmentation.features or segmentation_settings.DEFAULT_FEATURES)


def pipeline_config(segmentation: Segmentation) -> PipelineConfig:
    return PipelineConfig(
        algorithm=segmentation.algorithm,
        n_clusters=segmentation.n_clusters,
        k_min=segmentation.k_min,
        k_max=segmentation.k_max,
        max_leaves=segmentation.max_leaves,
        sample_size=segmentation.sample_size,
        large_table_rows=segmentation_settings.LARGE_TABLE_ROWS,
        min_segment_share=segmentation_settings.MIN_SEGMENT_SHARE,
        random_state=segmentation.random_seed,
    )


def _report(run_id: int, stage: str, fraction: float, listener: ProgressCallback | None) -> None:
    # A plain UPDATE in autocommit: visible to the admin while the run goes on.
    SegmentationRun.objects.filter(pk=run_id).update(stage=stage, progress=round(fraction, 3))
    if listener is not None:
        listener(stage, fraction)


def execute_run(
    *, run_id: int, now: datetime | None = None, progress: ProgressCallback | None = None
) -> SegmentationRun:
    """Compute features, cluster, explain, and store the segments of a queued run."""
    claimed = SegmentationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), stage="features", progress=0.0,
        error="", heartbeat_at=timezone.now(),
    )
    run = SegmentationRun.objects.select_related("segmentation").get(pk=run_id)
    if not claimed:
        logger.info("run %s is %s; nothing to do", run_id, run.status)
        return run
    now = now or timezone.now()
    timings: dict[str, float] = {}
    # A worker that dies now leaves the run silent: the watchdog requeues or fails it.
    schedule_watch(run_id)
    heartbeat = Heartbeat(run_id).start()
    try:
        names = run.feature_names or feature_names_of(run.segmentation)
        if names != run.feature_names:
            SegmentationRun.objects.filter(pk=run_id).update(feature_names=names)
        unknown = [name for name in names if name not in registry]
        if unknown:
            raise PipelineError(f"Unknown features: {', '.join(unknown)}.")
        started = time.perf_counter()
        _report(run_id, "features", 0.0, progress)
        frame = refresh_feature_table(
            now=now, keep=sorted(set(names) | set(RFM_FEATURES)),
            batch_size=segmentation_settings.FEATURE_BATCH_SIZE,
        )
        timings["features"] = time.perf_counter() - started

        def pipeline_progress(stage: str, fraction: float) -> None:
            _report(run_id, stage, FEATURES_SHARE + PIPELINE_SHARE * fraction, progress)

        buyers = int((frame["frequency"] > 0).sum())
        if len(frame) and buyers < segmentation_settings.SMALL_SHOP_BUYERS:
            _report(run_id, "rfm", FEATURES_SHARE, progress)
            result = rfm_segments(frame[list(RFM_FEATURES)], registry.catalog())
        else:
            result = run_pipeline(
                frame[names], registry.catalog(names), pipeline_config(run.segmentation),
                progress=pipeline_progress,
            )
        timings.update(result.timings)
        _report(run_id, "saving", FEATURES_SHARE + PIPELINE_SHARE, progress)
        started = time.perf_counter()
        _save_result(run, result, frame.index.to_numpy(), now=now)
        timings["saving"] = time.perf_counter() - started
        SegmentationRun.objects.filter(pk=run_id).update(timings=timings)
        _report(run_id, "done", 1.0, progress)
    except PipelineError as error:
        _fail(run_id, str(error), timings)
    except Exception as error:  # a run must end marked, whatever broke
        logger.exception("segmentation run %s failed", run_id)
        _fail(run_id, f"{type(error).__name__}: {error}", timings)
    finally:
        heartbeat.stop()
    run.refresh_from_db()
    return run


def _fail(run_id: int, message: str, timings: dict[str, float]) -> None:
    SegmentationRun.objects.filter(pk=run_id).update(
        status=RunStatus.FAILED, error=message, finished_at=timezone.now(), timings=timings
    )


@transaction.atomic
def _save_result(
    run: SegmentationRun, result: PipelineResult, customer_ids: np.ndarray, *, now: datetime
) -> None:
    run.segments.all().delete()  # a re-executed run replaces, never duplicates
    segments = Segment.objects.bulk_create([
        Segment(
            run=run, index=segment.index, name=segment.name_en, name_zh=segment.name_zh,
            description=segment.description_en, description_zh=segment.description_zh,
            rule=segment.rule.to_dict(), size=segment.size, share=segment.share,
            profile=segment.profile,
        )
        for segment in result.segments
    ])
    segment_ids = {segment.index: segment.pk for segment in segments}
    if any(pk is None for pk in segment_ids.values()):  # backends without RETURNING
        segment_ids = dict(run.segments.values_list("index", "pk"))
    labels = np.asarray(result.labels)
    assigned = labels >= 0
    lookup = np.zeros(max(segment_ids, default=0) + 1, dtype=np.int64)
    for index, pk in segment_ids.items():
        lookup[index] = pk
    insert_frame(SegmentMembership._meta.db_table, pd.DataFrame({
        "segment_id": lookup[labels[assigned]], "customer_id": customer_ids[assigned],
    }))
    metrics = dict(result.metrics)
    metrics["unassigned"] = int((~assigned).sum())
    stability = compare_with_published(run, customer_ids, labels)
    if stability is not None:
        metrics["stability"] = stability
    SegmentationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, as_of=now, customer_count=len(customer_ids),
        metrics=metrics, finished_at=timezone.now(),
        model=pickle.dumps(result.model) if result.model is not None else None,
    )


@transaction.atomic
def publish_run(*, run: SegmentationRun) -> SegmentationRun:
    """Make a succeeded run the one campaigns target for its segmentation."""
    run = SegmentationRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.SUCCEEDED:
        raise ValueError(f"Only a succeeded run can be published; this one is {run.status}.")
    SegmentationRun.objects.filter(segmentation=run.segmentation_id, is_published=True).exclude(
        pk=run.pk
    ).update(is_published=False)
    run.is_published = True
    run.published_at = timezone.now()
    run.save(update_fields=["is_published", "published_at"])
    carry_over_identities(run)
    return run


def parse_rule_document(document, fmt: str = "json", *, everyone: bool = False) -> Rule:
    """A rule from its JSON or JsonLogic form, checked against the feature registry.

    ``everyone``: a person chose a rule that selects every customer; without it an
    empty clause is refused. Raises RuleError naming the problem (unknown feature,
    wrong type, malformed document, an unchosen "everyone").
    """
    if fmt == "jsonlogic":
        rule = from_jsonlogic(document)
    elif fmt == "json":
        if not isinstance(document, dict):
            raise RuleError("a rule must be a JSON object with 'version' and 'any'")
        rule = Rule.from_dict(document)
    else:
        raise RuleError(f"unknown rule format {fmt!r}: use json or jsonlogic")
    return simplify(validate_rule(rule, registry.catalog(), allow_everyone=everyone))


@transaction.atomic
def save_manual_segment(
    *, name: str, rule: Rule, segment: Segment | None = None, name_zh: str = "",
    description: str = "",
) -> Segment:
    """Create or edit a hand-written segment; its membership is computed at once."""
    from .membership import sync_segment

    created = segment is None
    segment = segment or Segment(kind=SegmentKind.MANUAL)
    if segment.kind != SegmentKind.MANUAL:
        raise RuleError("only hand-written segments can be edited; found segments come from runs")
    segment.name, segment.name_zh, segment.description = name, name_zh, description
    segment.rule = rule.to_dict()
    segment.save()
    sync_segment(segment, record=not created)
    segment.refresh_from_db()
    return segment
