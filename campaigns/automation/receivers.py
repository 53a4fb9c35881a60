"""The receiver of segmentation's ``membership_changed``: queues the trigger task."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from .models import Trigger


def on_membership_changed(sender, segment_ids: list[int], since: datetime, **kwargs) -> None:
    """Queue recording and releasing entries, after commit, if a trigger watches a segment."""
    watched = Trigger.objects.filter(
        activated_at__isnull=False, campaign__segments__in=segment_ids,
    ).exists()
    if not watched:
        return
    from ..tasks import handle_membership_changes

    at = since.isoformat()
    transaction.on_commit(lambda: handle_membership_changes.delay(list(segment_ids), at))
