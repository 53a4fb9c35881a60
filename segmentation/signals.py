"""What segmentation announces to the apps above it (campaigns' automation listens).

``membership_changed``: customers entered or left live segments. Sent inside the
transaction that recorded the ``MembershipChange`` rows, with ``segment_ids`` (the
segments that changed) and ``since`` (the changes' time, ``MembershipChange.at``);
a receiver reads the changes after commit (``selectors.entries_since``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.dispatch import Signal

membership_changed = Signal()


def announce(changes: Iterable) -> None:
    """Send ``membership_changed`` for these freshly recorded changes (if any)."""
    changes = list(changes)
    if not changes:
        return
    membership_changed.send(
        sender="segmentation.MembershipChange",
        segment_ids=sorted({change.segment_id for change in changes}),
        since=min(change.at for change in changes),
    )
