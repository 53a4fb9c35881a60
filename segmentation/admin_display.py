"""Read-only values of the run and segment pages, formatted for people (no raw JSON)."""

from __future__ import annotations

from django.contrib.admin.utils import display_for_field
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from crm.templatetags.rulecast_format import percent, seconds

from .conf import segmentation_settings
from .features import registry
from .models import Segment, Segmentation, SegmentationRun
from .review import metric_cards, user_language
from .review.selectors import progress_of, timing_rows
from .rules.text import format_value


def run_progress(run: SegmentationRun) -> str:
    """Percent done and the stage in words, as the review page says them."""
    return format_html("{} {}", percent(run.progress or 0, 0), progress_of(run)["stage_label"])


def feature_labels(names: list[str]) -> str:
    lang = user_language()
    catalog = registry.catalog()
    return ", ".join(catalog[n].label(lang) if n in catalog else n for n in names or []) or "—"


def run_metrics(run: SegmentationRun) -> str:
    cards = metric_cards(run, run.metrics or {})
    if not cards:
        return "—"
    return format_html("<table>{}</table>", format_html_join(
        "", '<tr><th>{}</th><td>{}</td><td class="help">{}</td></tr>',
        ((c["label"], c["value"], c["help"]) for c in cards)))


def run_options(run: SegmentationRun) -> str:
    """What the run set for itself (``SegmentationRun.options``), each under the label
    of the segmentation's own field, values as that field shows them."""
    options = run.options or {}
    if not options:
        return gettext("none: the segmentation's settings")
    rows = []
    for name, value in options.items():
        try:
            field = Segmentation._meta.get_field(name)
        except LookupError:  # an option no field stands for: shown as stored
            rows.append((name, value))
            continue
        # No number of segments: the run chose it between the minimum and the maximum.
        empty = gettext("chosen automatically") if name == "n_clusters" else "—"
        rows.append((field.verbose_name, display_for_field(value, field, empty)))
    return format_html("<table>{}</table>", format_html_join(
        "", "<tr><th>{}</th><td>{}</td></tr>", rows))


def run_members(run: SegmentationRun) -> str:
    """Whether the run still has its members, and why not (segmentation.retention)."""
    if run.members_dropped_at is None:
        return gettext("kept")
    return gettext(
        "dropped on %(date)s: only the newest %(count)d runs of a segmentation, the published "
        "one and runs a campaign relies on keep their members. The segments, rules and "
        "figures are kept; publishing this run finds its members again from its rules."
    ) % {"date": date_format(timezone.localtime(run.members_dropped_at), "DATE_FORMAT"),
         "count": segmentation_settings.KEEP_MEMBERS_OF_RUNS or 0}


def run_timings(run: SegmentationRun) -> str:
    rows = timing_rows(run.timings or {})
    if not rows:
        return "—"
    return format_html("<table>{}</table>", format_html_join(
        "", "<tr><th>{}</th><td>{}</td></tr>",
        ((row["label"], seconds(row["seconds"])) for row in rows)))


def segment_profile(segment: Segment) -> str:
    """Median of each feature in the segment and in the whole shop, with units."""
    lang = user_language()
    catalog = registry.catalog()
    rows = []
    for name, stats in (segment.profile or {}).items():
        info = catalog.get(name)
        mine, shop = (stats or {}).get("median"), (stats or {}).get("overall_median")
        if not isinstance(mine, int | float) or not isinstance(shop, int | float):
            continue
        rows.append((info.label(lang) if info else name,
                     format_value(mine, info, lang, exact=False),
                     format_value(shop, info, lang, exact=False)))
    if not rows:
        return "—"
    return format_html(
        "<table><tr><th></th><th>{}</th><th>{}</th></tr>{}</table>",
        gettext("This segment (median)"), gettext("Whole shop (median)"),
        format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rows))
