"""Segmentation workflows: start a run, execute it, publish it.

``execute_run`` is what the Celery task and the ``segment`` command call. It is
safe to call twice: only a queued run is claimed, and a finished run is left as
it is. A run whose worker died is requeued once, then failed (``runwatch``).
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import time
from collections.abc import Callable, Iterable
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from crm.sidebyside import can_run_side_by_side

from .conf import segmentation_settings
from .features import ORDERS, registry
from .features.asof import AsOf, choose_as_of
from .features.store import FeatureTable, compute_feature_table, refresh_feature_table
from .membership import (
    SIDE_BY_SIDE_MEMBERS,
    sync_segment,
    write_members,
    write_members_side_by_side,
)
from .models import (
    RunStatus,
    Segment,
    Segmentation,
    SegmentationRun,
    SegmentKind,
)
from .pipeline import PipelineConfig, PipelineError, PipelineResult
from .pipeline.coverage import usable_features
from .pipeline.metrics import json_safe
from .pipeline.nonbuyers import (
    ENGAGEMENT_FEATURE,
    ORDERS_FEATURE,
    exclude_nonbuyers,
    is_buyer,
    nonbuyer_segments,
)
from .pipeline.profile import segment_profiles
from .pipeline.rfm import RFM_FEATURES, rfm_segments
from .pipeline.wholeunits import whole_unit_thresholds
from .retention import drop_old_members
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


#: Options a run may override for itself only (``SegmentationRun.options``).
RUN_OPTIONS = ("n_clusters", "algorithm", "random_seed")


def start_run(
    *, segmentation: Segmentation, as_of: datetime | None = None, options: dict | None = None
) -> SegmentationRun:
    """Queue a run; the task is sent once the surrounding transaction commits.

    ``as_of`` fixes the time features are measured from (default: chosen when it
    runs); ``options`` override the segmentation's ``n_clusters`` (None: choose),
    ``algorithm`` and ``random_seed`` for this run only.
    """
    from .tasks import run_segmentation

    run = create_run(segmentation=segmentation, as_of=as_of, options=options)
    transaction.on_commit(lambda: run_segmentation.delay(run.pk))
    return run


def create_run(
    *, segmentation: Segmentation, as_of: datetime | None = None, options: dict | None = None
) -> SegmentationRun:
    """A queued run, not yet sent to a worker (the ``segment`` command executes it itself)."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(RUN_OPTIONS))
    if unknown:
        raise ValueError(f"unknown run options: {', '.join(unknown)}")
    pipeline_config(segmentation, options).validate()
    return SegmentationRun.objects.create(
        segmentation=segmentation, feature_names=feature_names_of(segmentation), as_of=as_of,
        options=options,
    )


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


def pipeline_config(segmentation: Segmentation, options: dict | None = None) -> PipelineConfig:
    """The pipeline's parameters: the segmentation's, with a run's ``options`` over them."""
    options = options or {}
    return PipelineConfig(
        algorithm=options.get("algorithm", segmentation.algorithm),
        n_clusters=options["n_clusters"] if "n_clusters" in options else segmentation.n_clusters,
        k_min=segmentation.k_min,
        k_max=segmentation.k_max,
        max_leaves=segmentation.max_leaves,
        sample_size=segmentation.sample_size,
        large_table_rows=segmentation_settings.LARGE_TABLE_ROWS,
        min_segment_share=segmentation_settings.MIN_SEGMENT_SHARE,
        max_conditions=segmentation_settings.MAX_CONDITIONS_PER_CLAUSE,
        max_clauses=segmentation_settings.MAX_CLAUSES_PER_SEGMENT,
        budget_tolerance=segmentation_settings.BUDGET_TOLERANCE,
        random_state=options.get("random_seed", segmentation.random_seed),
    )


def rule_features(rules: Iterable[dict]) -> set[str]:
    """Registered features the stored rules test."""
    names: set[str] = set()
    for document in rules:
        try:
            rule = Rule.from_dict(document)
        except RuleError:
            continue
        names.update(c.feature for clause in rule.clauses for c in clause.conditions)
    return {name for name in names if name in registry}


def features_to_compute(names: Iterable[str]) -> list[str]:
    """What a run computes: its features, the RFM and non-buyer ones, and live rules' features.

    Nothing else: features no segment uses are left missing until the nightly refresh.
    """
    live = rule_features(Segment.objects.targetable().values_list("rule", flat=True))
    wanted = set(names) | set(RFM_FEATURES) | {ORDERS_FEATURE, ENGAGEMENT_FEATURE} | live
    return [name for name in registry.names() if name in wanted]


def nonbuyer_values() -> dict[str, float | None]:
    """Each order feature's value for a customer with no completed order (default or missing)."""
    return {feature.name: feature.default for feature in registry if feature.source == ORDERS}


def _report(run_id: int, stage: str, fraction: float, listener: ProgressCallback | None) -> None:
    # Committed at once, visible to the admin while the run goes on, but without waiting
    # for the disk (a dozen flushes a run): a crash can lose only this note.
    own_transaction = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction:  # never a caller's transaction
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO off")
        SegmentationRun.objects.filter(pk=run_id).update(stage=stage, progress=round(fraction, 3))
    if listener is not None:
        listener(stage, fraction)


def execute_run(
    *, run_id: int, now: datetime | None = None, progress: ProgressCallback | None = None
) -> SegmentationRun:
    """Compute features, cluster, explain, and store the segments of a queued run.

    ``now`` is the clock (a fake one in tests). The run's ``as_of``, when set, is
    the time features are measured from; otherwise :func:`choose_as_of` picks now,
    or the day after the latest activity for a historic file, and the run says so.
    """
    claimed = SegmentationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), stage="features", progress=0.0,
        error="", heartbeat_at=timezone.now(),
    )
    run = SegmentationRun.objects.select_related("segmentation").get(pk=run_id)
    if not claimed:
        logger.info("run %s is %s; nothing to do", run_id, run.status)
        if run.status == RunStatus.RUNNING:
            # The task again while the run is running: its worker died, maybe before
            # it queued the watchdog below. Watch it, or nobody ends it.
            schedule_watch(run_id)
        return run
    now = now or timezone.now()
    timings: dict[str, float] = {}
    table: FeatureTable | None = None
    # A worker that dies now leaves the run silent: the watchdog requeues or fails it.
    schedule_watch(run_id)
    heartbeat = Heartbeat(run_id).start()
    try:
        # A chosen default is stored when the run succeeds, so a failed run re-run later
        # chooses again; a given as_of is kept.
        as_of = AsOf(run.as_of) if run.as_of else choose_as_of(now)
        names = run.feature_names or feature_names_of(run.segmentation)
        if names != run.feature_names:
            SegmentationRun.objects.filter(pk=run_id).update(feature_names=names)
        unknown = [name for name in names if name not in registry]
        if unknown:
            raise PipelineError(f"Unknown features: {', '.join(unknown)}.")
        started = time.perf_counter()
        _report(run_id, "features", 0.0, progress)
        computed = features_to_compute(names)
        # The feature table is written in the background while the pipeline runs on the
        # frame; the run waits for it before it saves (live segments read that table).
        table = compute_feature_table(
            now=as_of.moment, keep=computed, names=computed,
            batch_size=segmentation_settings.FEATURE_BATCH_SIZE,
        )
        frame = table.frame
        timings["features"] = time.perf_counter() - started

        def pipeline_progress(stage: str, fraction: float) -> None:
            _report(run_id, stage, FEATURES_SHARE + PIPELINE_SHARE * fraction, progress)

        result = segment_customers(frame, names, pipeline_config(run.segmentation, run.options),
                                   progress=pipeline_progress, report=lambda stage: _report(
                                       run_id, stage, FEATURES_SHARE, progress),
                                   defer_diagnostics=True)
        if as_of.note:
            result.metrics["notes"].insert(0, as_of.note)
        timings.update(result.timings)
        _report(run_id, "saving", FEATURES_SHARE + PIPELINE_SHARE, progress)
        started = time.perf_counter()
        table.wait()  # counted in "saving": usually written long before
        _save_result(run, result, frame.index.to_numpy(), now=as_of.moment,
                     pending=result.diagnostics is not None)
        timings["saving"] = time.perf_counter() - started
        SegmentationRun.objects.filter(pk=run_id).update(timings=timings)
        # Usable from here: segments and memberships are saved and the run has succeeded.
        if result.diagnostics is not None:
            _report(run_id, "diagnostics", FEATURES_SHARE + PIPELINE_SHARE, progress)
            _fill_diagnostics(run_id, result.diagnostics, timings)
        _report(run_id, "done", 1.0, progress)
    except PipelineError as error:
        _fail(run_id, str(error), timings)
    except Exception as error:  # a run must end marked, whatever broke
        logger.exception("segmentation run %s failed", run_id)
        _fail(run_id, f"{type(error).__name__}: {error}", timings)
    finally:
        if table is not None:
            _settle(table, run_id)
        heartbeat.stop()
    run.refresh_from_db()
    if run.status == RunStatus.SUCCEEDED:
        _drop_old_members(run, now)
    return run


def _drop_old_members(run: SegmentationRun, now: datetime) -> None:
    """A new run pushes the oldest kept one past retention; that never fails the run."""
    try:
        drop_old_members(segmentation_id=run.segmentation_id, now=now)
    except Exception:  # the nightly task tries again
        logger.exception("segmentation run %s: dropping old runs' members failed", run.pk)


def segment_customers(
    frame: pd.DataFrame,
    names: list[str],
    config: PipelineConfig,
    *,
    progress: Callable[[str, float], None] | None = None,
    report: Callable[[str], None] | None = None,
    defer_diagnostics: bool = False,
) -> PipelineResult:
    """Buyers clustered and explained on ``names``; non-buyers in rule segments of their own.

    Every row of ``frame`` ends in exactly one segment: buyer segments come first
    (``k`` of them, each rule made false for non-buyers), then the non-buyer ones.
    Features missing or nearly constant for most buyers are left out, with a note.
    """
    if frame.empty:
        raise PipelineError("there are no customers to segment")
    buyer = is_buyer(frame)
    buyers, others = frame[buyer], frame[~buyer]
    if buyers.empty:
        raise PipelineError("no customer has a completed order yet: nothing to segment on")
    catalog = registry.catalog()
    notes: list[str] = []
    if len(buyers) < segmentation_settings.SMALL_SHOP_BUYERS:
        if report is not None:
            report("rfm")
        result = rfm_segments(buyers[list(RFM_FEATURES)], catalog)
    else:
        coverage = usable_features(buyers, names)
        notes += coverage.notes
        if not coverage.kept:
            raise PipelineError(
                "every feature is missing or nearly constant for most customers with orders: "
                "there is nothing to segment on (" + "; ".join(coverage.notes) + ")")
        # Names are judged against the whole shop, as the stored profiles are.
        shop = frame[coverage.kept].median(numeric_only=True)
        from .pipeline.run import run_pipeline  # scikit-learn: loaded by a run only

        result = run_pipeline(buyers[coverage.kept], registry.catalog(coverage.kept), config,
                              progress=progress, shop_medians=shop.dropna().to_dict(),
                              defer_diagnostics=defer_diagnostics)
    fixed = nonbuyer_values()
    total = len(frame)
    buyer_segments = [
        dataclasses.replace(
            segment, share=segment.size / total,
            rule=exclude_nonbuyers(whole_unit_thresholds(segment.rule, catalog, buyers), fixed))
        for segment in result.segments
    ]
    added = nonbuyer_segments(others, catalog, first_index=len(buyer_segments), total=total)
    labels = np.full(total, -1, dtype=np.intp)
    labels[buyer] = result.labels
    labels[~buyer] = added.labels
    cluster_labels = np.full(total, -1, dtype=np.intp)
    cluster_labels[buyer] = result.cluster_labels
    segments = _whole_shop_profiles((*buyer_segments, *added.segments), frame, labels,
                                    columns=[name for s in result.segments for name in s.profile])
    metrics = dict(result.metrics)
    notes += list(metrics.get("notes", []))
    if added.segments:
        notes.append(
            f"{len(others):,} customers have no completed order: they were not clustered; "
            f"{len(added.segments)} segment(s) of their own were added to the "
            f"{len(buyer_segments)} of the {len(buyers):,} buyers.")
    metrics.update({
        "buyers": len(buyers), "nonbuyers": len(others),
        "nonbuyer_segments": len(added.segments),
        "unassigned": int((labels < 0).sum()),
        "notes": notes,
    })
    model = result.model  # it predicts with every final rule, the non-buyers' included
    if dataclasses.is_dataclass(model) and "rules" in {f.name for f in dataclasses.fields(model)}:
        model = dataclasses.replace(model, rules=tuple(s.rule for s in segments))
    return dataclasses.replace(
        result, segments=segments, labels=labels, cluster_labels=cluster_labels,
        metrics=json_safe(metrics), model=model,
    )


def _whole_shop_profiles(segments: tuple, frame: pd.DataFrame, labels: np.ndarray,
                         columns: list[str]) -> tuple:
    """Every segment's profile on ``columns``, against the whole shop (buyers and non-buyers)."""
    columns = list(dict.fromkeys(columns))
    if not columns:
        return segments
    profiles = segment_profiles(frame[columns], labels, len(segments))
    return tuple(dataclasses.replace(s, profile=profiles[s.index]) for s in segments)


def _fill_diagnostics(run_id: int, diagnostics: Callable[[], tuple[dict, dict]],
                      timings: dict[str, float]) -> None:
    """Compute a saved run's diagnostics and merge them into its metrics and timings.

    The run is already usable; a failure here is logged and noted, never fails it.
    """
    try:
        extra, extra_timings = diagnostics()
    except Exception as error:  # the segments stand without their diagnostics
        logger.exception("diagnostics of segmentation run %s failed", run_id)
        extra, extra_timings = {"diagnostics_error": f"{type(error).__name__}: {error}"}, {}
    timings.update(extra_timings)
    with transaction.atomic():
        run = SegmentationRun.objects.select_for_update().only("metrics").get(pk=run_id)
        metrics = dict(run.metrics or {})
        metrics.update(extra)
        metrics.pop("diagnostics_pending", None)
        SegmentationRun.objects.filter(pk=run_id).update(metrics=metrics, timings=timings)


def _settle(table: FeatureTable, run_id: int) -> None:
    """Let a failed run's background feature-table write finish (it never outlives the run)."""
    try:
        table.wait()
    except Exception:  # the run has already failed for its own reason
        logger.exception("segmentation run %s: writing the feature table failed", run_id)


def _fail(run_id: int, message: str, timings: dict[str, float]) -> None:
    SegmentationRun.objects.filter(pk=run_id).update(
        status=RunStatus.FAILED, error=message, finished_at=timezone.now(), timings=timings
    )


def _save_result(
    run: SegmentationRun, result: PipelineResult, customer_ids: np.ndarray, *, now: datetime,
    pending: bool = False,
) -> None:
    """Store the segments and their members, then mark the run succeeded.

    Within a caller's transaction (or on a small shop) all of it is one transaction.
    Otherwise the segments are committed first (the run still running), the members
    written on several connections, and the run marked succeeded once all are in; if
    any part fails, the segments are deleted and their members with them.
    """
    labels = np.asarray(result.labels)
    assigned = labels >= 0
    clusters = np.asarray(result.cluster_labels)[assigned]

    def members(segment_ids: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({
            "segment_id": segment_ids[labels[assigned]], "customer_id": customer_ids[assigned],
            "cluster": pd.Series(clusters, dtype="Int64").mask(clusters < 0).array,
        })

    if not (can_run_side_by_side() and assigned.sum() >= SIDE_BY_SIDE_MEMBERS):
        with transaction.atomic():
            write_members(members(_create_segments(run, result)))
            _finish(run, result, customer_ids, labels, now=now, pending=pending)
        return
    with transaction.atomic():
        segment_ids = _create_segments(run, result)
    try:
        write_members_side_by_side(members(segment_ids))
    except BaseException:
        run.segments.all().delete()
        raise
    with transaction.atomic():
        _finish(run, result, customer_ids, labels, now=now, pending=pending)


def _create_segments(run: SegmentationRun, result: PipelineResult) -> np.ndarray:
    """Replace the run's segments (a re-executed run never duplicates); their ids by index."""
    run.segments.all().delete()
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
    lookup = np.zeros(max(segment_ids, default=0) + 1, dtype=np.int64)
    for index, pk in segment_ids.items():
        lookup[index] = pk
    return lookup


def _finish(run: SegmentationRun, result: PipelineResult, customer_ids: np.ndarray,
            labels: np.ndarray, *, now: datetime, pending: bool) -> None:
    metrics = dict(result.metrics)
    metrics["unassigned"] = int((labels < 0).sum())
    if pending:  # the review page follows the run until its diagnostics are in
        metrics["diagnostics_pending"] = True
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
    if run.members_dropped_at is not None:
        _find_members_again(run)
    run.is_published = True
    run.published_at = timezone.now()
    run.members_dropped_at = None
    run.save(update_fields=["is_published", "published_at", "members_dropped_at"])
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
    created = segment is None
    segment = segment or Segment(kind=SegmentKind.MANUAL)
    if segment.kind != SegmentKind.MANUAL:
        raise RuleError("only hand-written segments can be edited; found segments come from runs")
    segment.name, segment.name_zh, segment.description = name, name_zh, description
    segment.rule = rule.to_dict()
    segment.save()
    _ensure_computed(rule)
    sync_segment(segment, record=not created)
    segment.refresh_from_db()
    return segment


def _find_members_again(run: SegmentationRun) -> None:
    """Fill a run's segments whose members retention dropped, from their rules.

    A published run's segments are live: their members are what the rules select on
    today's feature table, as they would be after the next refresh anyway.
    """
    for segment in run.segments.all():
        rule = Rule.from_dict(segment.rule)
        _ensure_computed(rule)
        sync_segment(segment, record=False)


def _ensure_computed(rule: Rule) -> None:
    """Fill the feature table for a rule on features the last run did not compute.

    Runs compute only the features something uses; a hand-written rule on another
    one would otherwise select nobody until the nightly refresh. The table is
    recomputed whole, as of the time it was computed.
    """
    from django.db.models import Max

    from .models import CustomerFeatures
    from .querying import COLUMN_FEATURES

    table = CustomerFeatures.objects.all()
    computed_at = table.aggregate(at=Max("computed_at"))["at"]
    if computed_at is None:
        return
    absent = [
        name for name in rule_features([rule.to_dict()])
        if not (table.filter(**{f"{name}__isnull": False}) if name in COLUMN_FEATURES
                else table.filter(extra__has_key=name)).exists()
    ]
    if absent:
        refresh_feature_table(now=computed_at, keep=[],
                              batch_size=segmentation_settings.FEATURE_BATCH_SIZE)
