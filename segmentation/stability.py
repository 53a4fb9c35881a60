"""Stable segments across runs: match to the published run, carry identities on publish."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from .features import registry
from .membership import read_members
from .models import MembershipChange, Segment, SegmentationRun, SegmentMembership
from .pipeline.matching import match_segments
from .pipeline.naming import name_agrees_with_rule
from .rules import Rule


def published_run_of(run: SegmentationRun) -> SegmentationRun | None:
    return (
        SegmentationRun.objects.filter(segmentation=run.segmentation_id, is_published=True)
        .exclude(pk=run.pk).first()
    )


def compare_with_published(
    run: SegmentationRun, customer_ids: np.ndarray, labels: np.ndarray
) -> dict | None:
    """Match ``run``'s new segments to the published run's; keep matched names that still hold.

    Returns the stability report stored in the run's metrics, or None when
    nothing is published yet.
    """
    published = published_run_of(run)
    if published is None:
        return None
    old_segments = list(published.segments.order_by("index"))
    new_segments = list(run.segments.order_by("index"))
    position = {segment.pk: i for i, segment in enumerate(old_segments)}
    old_members = read_members(segment.pk for segment in old_segments)
    old_by_customer = pd.Series(
        old_members["segment_id"].map(position).to_numpy(), index=old_members["customer_id"]
    )
    old_labels = old_by_customer.reindex(customer_ids).fillna(-1).astype(int).to_numpy()
    matching = match_segments(old_labels, labels, len(old_segments), len(new_segments))
    for new_index, old_index in matching.pairs.items():
        new, old = new_segments[new_index], old_segments[old_index]
        new.previous = old
        if _name_still_true(old, new):
            new.name, new.name_zh = old.name, old.name_zh
        new.save(update_fields=["previous", "name", "name_zh"])
    names_old = [s.name for s in old_segments] + ["(none)"]
    names_new = [s.name for s in new_segments] + ["(none)"]
    return {
        "previous_run": published.pk,
        "adjusted_rand_index": matching.adjusted_rand_index,
        "matched": {new_segments[n].pk: old_segments[o].pk for n, o in matching.pairs.items()},
        "movement": {
            names_old[i]: {names_new[j]: int(matching.movement[i, j])
                           for j in range(len(names_new)) if matching.movement[i, j]}
            for i in range(len(names_old))
        },
    }


def _name_still_true(old: Segment, new: Segment) -> bool:
    """Whether a matched predecessor's name says nothing the new rule breaks.

    A name with a number states its own run's bounds ("Total spend at most ¥600")
    or is a counter: it is kept only with the same rule. A name of words is kept
    while every word is guaranteed by the new rule against the shop's medians.
    """
    if old.rule == new.rule or (old.name, old.name_zh) == (new.name, new.name_zh):
        return True
    if any(ch.isdigit() for ch in old.name + old.name_zh):
        return False
    shop = {f: (stats or {}).get("overall_median") for f, stats in (new.profile or {}).items()}
    return name_agrees_with_rule(old.name, old.name_zh, Rule.from_dict(new.rule), shop,
                                 registry.catalog())


@transaction.atomic
def carry_over_identities(run: SegmentationRun) -> int:
    """Let matched segments of ``run`` take over their predecessors' ids.

    Campaigns and API clients hold segment ids: a matched predecessor's row is
    updated with the new rule, size and profile and moved to the new run, and the
    membership changes between the two are recorded. Returns how many carried over.
    """
    now = timezone.now()
    carried = 0
    for new in run.segments.filter(previous__isnull=False).select_related("previous"):
        old = new.previous
        _record_changes(old, new, now)
        SegmentMembership.objects.filter(segment=old).delete()
        SegmentMembership.objects.filter(segment=new).update(segment=old)
        fields = ["index", "name", "name_zh", "description", "description_zh", "rule", "size",
                  "share", "profile"]
        for field in fields:
            setattr(old, field, getattr(new, field))
        new.delete()  # frees (run, index) before the predecessor takes it
        old.run, old.previous = run, None
        old.save()
        carried += 1
    return carried


def _record_changes(old: Segment, new: Segment, now) -> None:
    from .signals import membership_changed

    old_ids = SegmentMembership.objects.filter(segment=old).values("customer_id")
    new_ids = SegmentMembership.objects.filter(segment=new).values("customer_id")
    entered = new_ids.exclude(customer_id__in=old_ids).values_list("customer_id", flat=True)
    left = old_ids.exclude(customer_id__in=new_ids).values_list("customer_id", flat=True)
    MembershipChange.objects.bulk_create(
        [MembershipChange(segment=old, customer_id=c, direction="entered", at=now)
         for c in entered.iterator(chunk_size=10_000)]
        + [MembershipChange(segment=old, customer_id=c, direction="left", at=now)
           for c in left.iterator(chunk_size=10_000)],
        batch_size=5_000,
    )
    # Entries caused by publishing a run count like any other (automation listens).
    membership_changed.send(sender="segmentation.MembershipChange", segment_ids=[old.pk],
                            since=now)
