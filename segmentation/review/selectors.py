"""The review page's selector: a run as plain data for the template.

``run_review(run, lang)`` turns a run, its metrics and its segments into plain
Python structures (labels already translated, numbers already formatted with
their units, chart data ready for ``json_script``).

The profile chart draws, per numeric feature, the segment's median next to the
whole shop's, each as a percentage of the largest median of that feature in
the run (any segment or the whole shop), so features in days, yuan and orders
share one axis and bars compare across the segments' charts; the real values,
with their units, are in the axis labels and tooltips.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, gettext, pgettext
from django.utils.translation import gettext_lazy as _

from ..exports import FILE_FORMATS
from ..extensions import segment_panels
from ..features import registry
from ..models import RunStatus, Segment, SegmentationRun
from ..rules import Clause, Condition, FeatureInfo, Rule, RuleError, render_text
from ..rules.text import PHRASES, format_value, normalise_lang
from .notes import translate_note

#: Segment colours (Tableau 10), shared by the swatches, the map and the diagrams.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
UNASSIGNED_COLOUR = "#8a8a8a"

#: Stages a run reports, in the order they happen.
STAGES: dict[str, Any] = {
    "features": _("Computing features"),
    "rfm": _("Grouping by recency and frequency"),
    "preprocess": _("Preparing the data"),
    "cluster": _("Clustering"),
    "explain": _("Writing the rules"),
    "compare": _("Comparing models"),
    "profile": _("Profiling and naming segments"),
    "saving": _("Saving segments"),
    "diagnostics": _("Scoring the saved segments"),
    "done": _("Done"),
}
MODELS = {
    "tree": _("Decision tree (the rules)"),
    "logistic_regression": _("Logistic regression"),
    "random_forest": _("Random forest"),
}
FORMAT_LABELS = {"text": _("Text"), "json": "JSON", "jsonlogic": "JsonLogic", "sql": "SQL"}
OP_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}


def user_language(language: str | None = None) -> str:
    """``"zh"`` when ``language`` (default: the active one) is Chinese, else ``"en"``."""
    return normalise_lang(language or get_language() or "")


def colour(index: int) -> str:
    return UNASSIGNED_COLOUR if index < 0 else PALETTE[index % len(PALETTE)]


# --- the selector -------------------------------------------------------------------------


def run_review(run: SegmentationRun, lang: str = "en") -> dict[str, Any]:
    """Everything the review page shows about ``run``, as plain data.

    Parameters
    ----------
    run : SegmentationRun
    lang : str
        ``"en"`` or ``"zh"``: the language of rule sentences, feature labels and names.

    Returns
    -------
    dict
        ``status``, ``progress``, ``metrics`` (cards), ``charts`` (Chart.js data:
        ``cv``, ``k``, ``map``), ``timings``, ``notes``, ``segments`` (one dict
        each, with ``paths`` and ``profile``), ``confusion``, ``stability`` and
        ``exports``; sections a run lacks are None or empty.
    """
    lang = user_language(lang)
    catalog = registry.catalog()
    metrics: Mapping[str, Any] = run.metrics or {}
    segments = list(run.segments.order_by("index", "pk"))
    finished = run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
    return {
        "lang": lang,
        "finished": finished,
        "succeeded": run.status == RunStatus.SUCCEEDED,
        "diagnostics_pending": _diagnostics_pending(run),
        "is_rfm": metrics.get("method") == "rfm",
        "progress": progress_of(run),
        "metrics": metric_cards(run, metrics) if run.status == RunStatus.SUCCEEDED else [],
        "charts": {
            "cv": cv_chart(metrics),
            "k": k_chart(metrics),
            "map": map_chart(metrics, segments, lang),
        },
        "timings": timing_rows(run.timings or {}),
        "notes": [translate_note(str(note), catalog, lang) for note in metrics.get("notes", [])],
        "segments": [segment_review(s, segments, catalog, lang) for s in segments],
        "confusion": confusion_table(metrics, segments, lang),
        "stability": stability_table(metrics, other_names(run, metrics, lang)),
        "exports": export_links("admin:segmentation_segmentationrun_rules", run.pk, lang),
    }


def progress_of(run: SegmentationRun) -> dict[str, Any]:
    """Status, stage (named in words) and percent done."""
    stage = run.stage or ""
    return {
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "stage": stage,
        "stage_label": str(STAGES.get(stage, stage)) if stage else gettext("Waiting for a worker"),
        "percent": max(0, min(100, round((run.progress or 0.0) * 100))),
        # The page reloads when this turns true: after a run's deferred diagnostics too.
        "finished": run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
        and not _diagnostics_pending(run),
    }


def _diagnostics_pending(run: SegmentationRun) -> bool:
    """A succeeded run whose diagnostics (comparisons, silhouettes, map) are still computed."""
    pending = (run.metrics or {}).get("diagnostics_pending")
    return run.status == RunStatus.SUCCEEDED and bool(pending)


def _number(value: Any, fmt: str) -> str | None:
    return fmt.format(value) if isinstance(value, int | float) else None


def metric_cards(run: SegmentationRun, metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """The run's headline numbers, each with a one-line explanation."""
    cards = [
        (gettext("Segments"), _number(metrics.get("k"), "{:d}"),
         gettext("How many groups the run found (k).")),
        (gettext("Customers"), f"{run.customer_count:,}",
         gettext("%(count)s in no segment.") % {"count": f"{metrics.get('unassigned', 0):,}"}),
    ]
    if metrics.get("method") != "rfm":
        sil_c = _number(metrics.get("silhouette_clusters"), "{:.2f}")
        sil_r = _number(metrics.get("silhouette_rules"), "{:.2f}")
        cards += [
            (gettext("Fidelity"), _number(metrics.get("fidelity"), "{:.1%}"),
             gettext("Customers the rules put in the same group as the clustering.")),
            (gettext("Price of explainability"),
             _number(metrics.get("price_of_explainability"), "×{:.3f}"),
             gettext("Clustering cost of the rule groups over the clustering's; "
                     "×1.000 means the rules cost nothing.")),
            (gettext("Silhouette"), sil_r and sil_c and f"{sil_r} / {sil_c}",
             gettext("Rules / clustering, from −1 to 1: higher is better separated.")),
            (gettext("Rule branches"), _number(metrics.get("n_leaves"), "{:d}")
             and f"{metrics['n_leaves']} / {metrics.get('max_leaves', '?')}",
             gettext("Leaves of the decision tree, out of the budget.")),
        ]
    return [{"label": label, "value": value, "help": help_text}
            for label, value, help_text in cards if value is not None]


def cv_chart(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """Cross-validated accuracy of the rules' tree and the comparison models."""
    scores = metrics.get("cv_accuracy") or {}
    rows = [(str(MODELS.get(name, name)), float(value)) for name, value in scores.items()
            if isinstance(value, int | float)]
    if not rows:
        return None
    low = min(value for _, value in rows)
    return {
        "labels": [label for label, _ in rows],
        "values": [round(value * 100, 2) for _, value in rows],
        "min": max(0, int(low * 10 - 0.5) * 10) if low > 0.5 else 0,
        "dataset": gettext("Accuracy"),
        "x_title": gettext("Cross-validated accuracy (%)"),
    }


def k_chart(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """Silhouette for each k tried, when k was chosen automatically."""
    scores = [s for s in metrics.get("k_scores") or [] if s.get("silhouette") is not None]
    if len(scores) < 2:
        return None
    return {
        "labels": [str(s["k"]) for s in scores],
        "values": [round(float(s["silhouette"]), 3) for s in scores],
        "chosen": str(metrics.get("k", "")),
        "dataset": gettext("Silhouette"),
        "x_title": gettext("Number of segments (k)"),
        "y_title": gettext("Silhouette"),
    }


def segment_title(segment: Segment, lang: str) -> str:
    return (segment.name_zh or segment.name) if lang == "zh" else segment.name


def map_chart(metrics: Mapping[str, Any], segments: list[Segment],
              lang: str) -> dict[str, Any] | None:
    """The customers' PCA map as one scatter dataset per segment."""
    points = metrics.get("map") or {}
    xs, ys, labels = points.get("x") or [], points.get("y") or [], points.get("segment") or []
    if not xs:
        return None
    by_index: dict[int, list[dict[str, float]]] = {}
    for x, y, label in zip(xs, ys, labels, strict=False):
        by_index.setdefault(int(label), []).append({"x": x, "y": y})
    names = {s.index: segment_title(s, lang) for s in segments}
    datasets = [
        {"label": names.get(index, gettext("Segment %(n)s") % {"n": index + 1})
         if index >= 0 else gettext("In no segment"),
         "color": colour(index), "data": by_index[index]}
        for index in sorted(by_index, key=lambda i: (i < 0, i))
    ]
    explained = list(points.get("explained") or []) + [None, None]
    return {
        "datasets": datasets,
        "count": len(xs),
        "x_title": _axis_title(1, explained[0]),
        "y_title": _axis_title(2, explained[1]),
    }


def _axis_title(n: int, share: float | None) -> str:
    if share is None:
        return f"PC{n}"
    return gettext("PC%(n)s (%(share)s%% of variance)") % {"n": n, "share": round(share * 100)}


def timing_rows(timings: Mapping[str, float]) -> list[dict[str, Any]]:
    """Seconds per stage, in the order stages run, with a share of the total."""
    total = sum(float(v) for v in timings.values()) or 1.0
    order = {stage: i for i, stage in enumerate(STAGES)}
    return [
        {"stage": stage, "label": str(STAGES.get(stage, stage)), "seconds": f"{float(v):.2f}",
         "percent": round(100 * float(v) / total, 1)}
        for stage, v in sorted(timings.items(), key=lambda item: order.get(item[0], 99))
    ]


def admin_url(name: str, query: str) -> str:
    """An admin page of another app (its URL even when that app's admin is not loaded)."""
    try:
        return reverse(f"admin:{name}") + query
    except NoReverseMatch:
        app, model, page = name.split("_", 2)
        return f"/admin/{app}/{model}/{'' if page == 'changelist' else page + '/'}{query}"


def export_links(url_name: str, pk: int, lang: str) -> list[dict[str, str]]:
    return [{"format": fmt, "label": str(FORMAT_LABELS[fmt]),
             "url": f"{reverse(url_name, args=[pk, fmt])}?lang={lang}"} for fmt in FILE_FORMATS]


# --- one segment -----------------------------------------------------------------------------


def segment_review(segment: Segment, segments: list[Segment],
                   catalog: Mapping[str, FeatureInfo], lang: str) -> dict[str, Any]:
    """A segment's card: names, size, rule as a sentence and as paths, profile, links."""
    try:
        rule = Rule.from_dict(segment.rule)
        sentence, paths = render_text(rule, catalog, lang=lang), rule_paths(rule, catalog, lang)
    except RuleError as error:
        rule, sentence, paths = None, gettext("Unreadable rule: %(error)s") % {"error": error}, []
    title = segment_title(segment, lang)
    other = segment.name if lang == "zh" else segment.name_zh
    description = (segment.description_zh or segment.description) if lang == "zh" \
        else segment.description
    return {
        "id": segment.pk,
        "index": segment.index,
        "title": title,
        "other_name": other if other and other != title else "",
        "description": description,
        "size": segment.size,
        "size_text": f"{segment.size:,}",
        "share": segment.share,
        "colour": colour(segment.index),
        "rule_text": sentence,
        "paths": paths,
        "everyone": rule is not None and any(not c.conditions for c in rule.clauses),
        "profile": profile_chart(segment, segments, catalog, lang),
        "exports": export_links("admin:segmentation_segment_rules", segment.pk, lang),
        "change_url": reverse("admin:segmentation_segment_change", args=[segment.pk]),
        "members_url": admin_url("crm_customer_changelist", f"?segment={segment.pk}"),
        "email_url": admin_url("campaigns_campaign_add", f"?target_segments={segment.pk}"),
        "extras": segment_panels(segment),  # e.g. responses to past campaigns (campaigns)
    }


def rule_paths(rule: Rule, catalog: Mapping[str, FeatureInfo], lang: str) -> list[list[dict]]:
    """Each clause (OR) as a row of boxes (AND), one box per feature it tests."""
    rows = []
    for clause in rule.clauses:
        by_feature: dict[str, list[Condition]] = {}
        for condition in clause.conditions:
            by_feature.setdefault(condition.feature, []).append(condition)
        rows.append([condition_box(feature, conditions, catalog, lang)
                     for feature, conditions in by_feature.items()])
    return rows


def condition_box(feature: str, conditions: list[Condition],
                  catalog: Mapping[str, FeatureInfo], lang: str) -> dict[str, str]:
    """One diagram box: the feature's label and its tests in symbols (``> ¥100 and ≤ ¥5,000``)."""
    info = catalog.get(feature)
    tests = []
    for c in conditions:
        if c.op == "in":
            values = ", ".join(format_value(v, info, lang) for v in c.value)
            tests.append(gettext("one of %(values)s") % {"values": values})
        else:
            tests.append(f"{OP_SYMBOLS[c.op]} {format_value(c.value, info, lang)}")
        if c.or_unknown:  # the same words as the sentence: "(or unknown)" / "（或未知）"
            tests[-1] = PHRASES[normalise_lang(lang)]["or_unknown"].format(condition=tests[-1])
    return {
        "feature": feature,
        "label": info.label(lang) if info else feature,
        "test": pgettext("between two tests of one feature", " and ").join(tests),
        "sentence": render_text(Rule((Clause(tuple(conditions)),)), catalog, lang=lang),
    }


def profile_chart(segment: Segment, segments: list[Segment],
                  catalog: Mapping[str, FeatureInfo], lang: str) -> dict[str, Any] | None:
    """Median of each numeric feature in the segment against the whole shop."""
    profile = segment.profile or {}
    features = [name for name in catalog if name in profile] + \
        [name for name in profile if name not in catalog]
    labels, ours, overall, rows = [], [], [], []
    for name in features:
        stats = profile.get(name) or {}
        mine, shop = stats.get("median"), stats.get("overall_median")
        if not isinstance(mine, int | float) or not isinstance(shop, int | float):
            continue
        scale = max([abs(shop)] + [
            abs(m) for s in segments
            if isinstance(m := ((s.profile or {}).get(name) or {}).get("median"), int | float)
        ]) or 1.0
        info = catalog.get(name)
        label = info.label(lang) if info else name
        mine_text = format_value(mine, info, lang, exact=False)
        shop_text = format_value(shop, info, lang, exact=False)
        labels.append([label, gettext("%(segment)s vs %(shop)s") % {
            "segment": mine_text, "shop": shop_text}])
        ours.append(round(100 * mine / scale, 1))
        overall.append(round(100 * shop / scale, 1))
        rows.append({"label": label, "segment": mine_text, "shop": shop_text})
    if not rows:
        return None
    return {
        "data_id": f"profile-data-{segment.pk}",
        "height": 60 + 44 * len(rows),
        "labels": labels,
        "segment": ours,
        "overall": overall,
        "values": rows,
        "colour": colour(segment.index),
        "segment_label": gettext("This segment (median)"),
        "overall_label": gettext("Whole shop (median)"),
        # xgettext:no-python-format
        "x_title": gettext("Median, as % of the feature's largest median in this run"),
    }


# --- the run's comparisons -------------------------------------------------------------------


def confusion_table(metrics: Mapping[str, Any], segments: list[Segment],
                    lang: str) -> dict[str, Any] | None:
    """Rule segments (rows) against clusters (columns), with a 0..1 shade per cell."""
    matrix = metrics.get("confusion")
    if not matrix:
        return None
    names = {s.index: (segment_title(s, lang), colour(s.index)) for s in segments}
    rows = []
    for i, counts in enumerate(matrix):
        total = sum(counts) or 1
        name, swatch = names.get(i, (gettext("Segment %(n)s") % {"n": i + 1}, colour(i)))
        rows.append({
            "name": name, "colour": swatch, "total": sum(counts),
            "cells": [{"count": count, "share": round(100 * count / total, 1),
                       "shade": round(count / total, 3), "diagonal": i == j}
                      for j, count in enumerate(counts)],
        })
    columns = [gettext("Cluster %(n)s") % {"n": j + 1} for j in range(len(matrix[0]))]
    return {"columns": columns, "rows": rows}


def other_names(run: SegmentationRun, metrics: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The movement table's segment names (stored in English) in ``lang``."""
    if lang != "zh":
        return {}
    previous = (metrics.get("stability") or {}).get("previous_run")
    runs = [run.pk] + ([previous] if previous else [])
    return {name: name_zh for name, name_zh in
            Segment.objects.filter(run_id__in=runs).values_list("name", "name_zh") if name_zh}


def stability_table(metrics: Mapping[str, Any],
                    names: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """How customers moved from the published run's segments to this run's."""
    stability = metrics.get("stability")
    if not stability:
        return None
    movement: Mapping[str, Mapping[str, int]] = stability.get("movement") or {}
    new_names: list[str] = []
    for targets in movement.values():
        new_names += [name for name in targets if name not in new_names]
    none = "(none)"
    new_names.sort(key=lambda name: name == none)
    peak = max((c for targets in movement.values() for c in targets.values()), default=0) or 1

    def shown(name: str) -> str:
        return gettext("In no segment") if name == none else (names or {}).get(name, name)

    previous = stability.get("previous_run")
    return {
        "previous_run": previous,
        "previous_url": reverse("admin:segmentation_segmentationrun_review", args=[previous])
        if previous else "",
        "ari": stability.get("adjusted_rand_index"),
        "columns": [shown(name) for name in new_names],
        "rows": [
            {"name": shown(old), "cells": [
                {"count": targets.get(new, 0), "shade": round(targets.get(new, 0) / peak, 3)}
                for new in new_names]}
            for old, targets in movement.items()
        ],
    }
