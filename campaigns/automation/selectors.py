"""Reads of the automation: a triggered campaign's queue, A/B results, engagement over time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate

from ..models import Campaign, Delivery, DeliveryStatus, EventKind, TrackingEvent
from ..selectors import COUNTS, Stats, _aggregates
from .models import ABTest, EntryStatus, SkipReason, TriggerEntry

QUEUE_ROWS = 50
WAITING_DELIVERY = [DeliveryStatus.PENDING, DeliveryStatus.RESERVED, DeliveryStatus.SENDING]


@dataclass(frozen=True)
class QueueRow:
    customer: str
    segment: str
    entered_at: Any
    due_at: Any
    state: str  # waiting / sent / skipped
    why: str


def _state(entry: TriggerEntry) -> tuple[str, str]:
    """(state, why) of an entry: its own state until handed to sending, then the delivery's."""
    if entry.status == EntryStatus.WAITING:
        return "waiting", ""
    if entry.status == EntryStatus.SKIPPED:
        return "skipped", str(SkipReason(entry.reason).label) if entry.reason else ""
    delivery = entry.delivery
    if delivery is None:
        return "skipped", ""
    if delivery.status == DeliveryStatus.SENT:
        return "sent", ""
    if delivery.status in WAITING_DELIVERY:
        return "waiting", delivery.last_error  # e.g. the frequency cap and until when
    return "skipped", f"{delivery.get_status_display()}: {delivery.last_error}".strip(": ")


def trigger_queue(campaign: Campaign, *, limit: int = QUEUE_ROWS) -> dict[str, Any]:
    """Counts of waiting, sent and skipped (by reason) entries, and the latest entries."""
    entries = TriggerEntry.objects.filter(campaign=campaign)
    by_delivery = entries.filter(status=EntryStatus.QUEUED).aggregate(
        sent=Count("pk", filter=Q(delivery__status=DeliveryStatus.SENT)),
        waiting=Count("pk", filter=Q(delivery__status__in=WAITING_DELIVERY)),
        other=Count("pk", filter=~Q(delivery__status__in=[DeliveryStatus.SENT,
                                                          *WAITING_DELIVERY])),
    )
    skipped = dict(entries.filter(status=EntryStatus.SKIPPED).order_by().values("reason")
                   .annotate(n=Count("pk")).values_list("reason", "n"))
    if by_delivery["other"]:
        skipped["sending"] = by_delivery["other"]
    reasons = [
        {"reason": str(SkipReason(reason).label) if reason in SkipReason.values
         else str(_not_sent_label()), "count": count}
        for reason, count in sorted(skipped.items(), key=lambda item: -item[1])
    ]
    latest = entries.select_related("customer", "segment", "delivery").order_by("-pk")[:limit]
    rows = []
    for entry in latest:
        state, why = _state(entry)
        rows.append(QueueRow(customer=str(entry.customer), segment=str(entry.segment or "—"),
                             entered_at=entry.entered_at, due_at=entry.due_at, state=state,
                             why=why))
    return {
        "waiting": entries.filter(status=EntryStatus.WAITING).count() + by_delivery["waiting"],
        "sent": by_delivery["sent"],
        "skipped": sum(skipped.values()),
        "reasons": reasons,
        "rows": rows,
    }


def _not_sent_label() -> str:
    from django.utils.translation import gettext

    return gettext("Not sent (failed, unknown or refused when sending)")


def variant_stats(campaign: Campaign) -> list[Stats]:
    """Counts and rates per A/B variant (one GROUP BY), in label order."""
    rows = (Delivery.objects.filter(campaign=campaign, variant__isnull=False).order_by()
            .values("variant", "variant__label").annotate(**_aggregates())
            .order_by("variant__label"))
    return [Stats(label=row["variant__label"], **{key: int(row[key] or 0) for key in COUNTS})
            for row in rows]


def ab_result(campaign: Campaign) -> dict[str, Any] | None:
    """The A/B test's settings, decision, counts and p-value, for the campaign page."""
    test = ABTest.objects.filter(campaign=campaign).select_related("winner").first()
    if test is None:
        return None
    return {"test": test, "variants": variant_stats(campaign)}


def engagement_by_day(campaign: Campaign, *, by: str = "segment") -> list[dict[str, Any]]:
    """Per day sent and per ``by`` (segment or variant): sent, unique opens and clicks."""
    key = {"segment": F("segment__name"), "variant": F("variant__label")}[by]
    return list(
        Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT).order_by()
        .annotate(day=TruncDate("sent_at"), key=key).values("day", "key")
        .annotate(
            sent=Count("pk"),
            opens=Count("pk", filter=Q(Exists(TrackingEvent.objects.filter(
                delivery=OuterRef("pk"), kind=EventKind.OPEN)))),
            clicks=Count("pk", filter=Q(Exists(TrackingEvent.objects.filter(
                delivery=OuterRef("pk"), kind=EventKind.CLICK)))),
        )
        .order_by("day", "key")
    )


def segment_responses(segment_id: int, *, limit: int = 10) -> list[Stats]:
    """How a segment's members responded to past campaigns, latest first (one GROUP BY)."""
    rows = (
        Delivery.objects.filter(segment_id=segment_id).order_by()
        .values("campaign", "campaign__name", "campaign__launched_at")
        .annotate(**_aggregates())
        .filter(sent__gt=0)
        .order_by("-campaign__launched_at", "-campaign")[:limit]
    )
    return [Stats(label=row["campaign__name"], **{key: int(row[key] or 0) for key in COUNTS})
            for row in rows]
