"""Reads other apps may use: segment entries (for automation) and runs waiting for review."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from .models import MembershipChange, ReviewState, SegmentationRun


def entries_since(*, segment_ids: Iterable[int], since: datetime) -> QuerySet:
    """Customers who entered these segments at or after ``since`` (MembershipChange rows)."""
    return MembershipChange.objects.filter(
        segment_id__in=list(segment_ids), direction=MembershipChange.Direction.ENTERED,
        at__gte=since,
    )


def runs_waiting_for_review() -> QuerySet:
    """Scheduled runs that did not publish themselves and nobody has published yet."""
    return SegmentationRun.objects.filter(
        review_state=ReviewState.WAITING, is_published=False, published_at__isnull=True,
    ).select_related("segmentation")
