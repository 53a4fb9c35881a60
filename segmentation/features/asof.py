"""The moment a run measures time from (its ``as_of``).

A live shop is measured from now. A file whose data ended long ago (a 1998
export) measured from today would say every customer last ordered 10,000 days
ago and nobody ordered in the last 90 days; it is measured from the day after
its latest order or event instead, and the run says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

#: Data whose latest activity is older than this is treated as a historic file.
STALE_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class AsOf:
    moment: datetime
    note: str | None = None


def latest_activity() -> datetime | None:
    """The time of the latest order (any status) or event, None for an empty shop."""
    from crm.models import Event, Order

    times = [Order.objects.aggregate(t=Max("placed_at"))["t"],
             Event.objects.aggregate(t=Max("occurred_at"))["t"]]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def choose_as_of(now: datetime) -> AsOf:
    """``now``, or the day after the latest activity when that is over 30 days before ``now``."""
    latest = latest_activity()
    if latest is None or now - latest <= STALE_AFTER:
        return AsOf(now)
    moment = latest + timedelta(days=1)
    shown_latest, shown_moment = timezone.localtime(latest), timezone.localtime(moment)
    return AsOf(moment, (
        f"The latest order or event is on {shown_latest:%Y-%m-%d}, {(now - latest).days} days "
        f"ago: the features are measured as of {shown_moment:%Y-%m-%d %H:%M} (the day after "
        "it), not today. Give another time with segment --as-of."
    ))
