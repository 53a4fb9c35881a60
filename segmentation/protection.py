"""What may not be deleted, and why: published runs and segments something relies on.

Segmentation knows its own reason (a published run's segments are live and targetable).
Apps above it register a *guard* in their ``AppConfig.ready()``: a function taking
segment ids and answering, for each segment it relies on, why (campaigns: the target
and excluded segments of unfinished campaigns). Segmentation never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from .models import Segment, Segmentation, SegmentationRun, SegmentKind

Guard = Callable[[list[int]], dict[int, str]]
_guards: list[Guard] = []


class InUse(Exception):
    """Deleting would break something; ``reasons`` says what."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


def register_guard(guard: Guard) -> None:
    """Add a guard: ``guard(segment_ids)`` returns ``{segment_id: reason}`` for those in use."""
    if guard not in _guards:
        _guards.append(guard)


def segment_refusals(segments: Iterable[Segment]) -> list[str]:
    """Why these segments cannot be deleted (empty when they can)."""
    by_id = {segment.pk: segment for segment in segments}
    reasons = [_("Segment “%(segment)s” belongs to a published run.") % {"segment": segment}
               for segment in by_id.values() if segment.run_id and segment.run.is_published]
    for guard in _guards:
        for pk, reason in guard(list(by_id)).items():
            reasons.append(_("Segment “%(segment)s”: %(reason)s")
                           % {"segment": by_id[pk], "reason": reason})
    return reasons


def run_refusals(runs: Iterable[SegmentationRun]) -> list[str]:
    """Why these runs cannot be deleted: published, or a segment of theirs is in use."""
    runs = list(runs)
    reasons = [_("Run #%(run)d is published: its segments are live. Publish another run "
                 "first.") % {"run": run.pk} for run in runs if run.is_published]
    unpublished = Segment.objects.filter(run__in=[r for r in runs if not r.is_published])
    return reasons + segment_refusals(unpublished.select_related("run"))


def segmentation_refusals(segmentations: Iterable[Segmentation]) -> list[str]:
    """Why these segmentations cannot be deleted (their runs' reasons)."""
    return run_refusals(SegmentationRun.objects.filter(segmentation__in=list(segmentations)))


def _delete(obj, refusals: Callable[[list], list[str]]) -> None:
    with transaction.atomic():
        locked = type(obj).objects.select_for_update().get(pk=obj.pk)
        reasons = refusals([locked])
        if reasons:
            raise InUse(reasons)
        locked.delete()


def delete_run(*, run: SegmentationRun) -> None:
    """Delete an unpublished run that nothing relies on; InUse (with why) otherwise."""
    _delete(run, run_refusals)


def delete_segmentation(*, segmentation: Segmentation) -> None:
    """Delete a segmentation and its runs, unless one is published or in use (InUse)."""
    _delete(segmentation, segmentation_refusals)


def delete_segment(*, segment: Segment) -> None:
    """Delete a hand-written segment nothing relies on; InUse (with why) otherwise."""
    if segment.kind != SegmentKind.MANUAL:
        raise InUse([_("Segments found by a run are deleted with their run.")])
    _delete(segment, segment_refusals)
