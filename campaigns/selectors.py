"""The campaigns app's reads: statistics (set-based aggregates) and previews."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from crm.models import Customer

from . import rendering, tokens
from .models import Campaign, Delivery, DeliveryStatus, EventKind, ProviderEvent, TrackingEvent

PREVIEW_TOKEN = "preview"
COUNTS = ("recipients", "sent", "failed", "unknown", "skipped", "waiting", "opens", "clicks",
          "unsubscribes", "bounces", "complaints")


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class Stats:
    """Counts of one campaign, or of its deliveries to one segment, and their rates.

    ``opens`` and ``clicks`` are unique (deliveries opened or clicked at least once);
    engagement, unsubscribe and bounce rates are shares of ``sent``; failed and
    unknown rates shares of ``recipients``.
    """

    label: str
    segment_id: int | None = None
    recipients: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    waiting: int = 0
    opens: int = 0
    clicks: int = 0
    unsubscribes: int = 0
    bounces: int = 0
    complaints: int = 0

    @property
    def open_rate(self) -> float:
        return _share(self.opens, self.sent)

    @property
    def click_rate(self) -> float:
        return _share(self.clicks, self.sent)

    @property
    def unsubscribe_rate(self) -> float:
        return _share(self.unsubscribes, self.sent)

    @property
    def bounce_rate(self) -> float:
        return _share(self.bounces, self.sent)

    @property
    def complaint_rate(self) -> float:
        return _share(self.complaints, self.sent)

    @property
    def failed_rate(self) -> float:
        return _share(self.failed, self.recipients)

    @property
    def unknown_rate(self) -> float:
        return _share(self.unknown, self.recipients)

    def rates(self) -> dict[str, float]:
        names = ("open", "click", "unsubscribe", "bounce", "complaint", "failed", "unknown")
        return {f"{name}_rate": getattr(self, f"{name}_rate") for name in names}


def _event(kind: str):
    return Exists(TrackingEvent.objects.filter(delivery=OuterRef("pk"), kind=kind))


def _provider(*types: str, soft: bool | None = None):
    events = ProviderEvent.objects.filter(delivery=OuterRef("pk"), event_type__in=types)
    if soft is not None:
        events = events.filter(is_soft_bounce=soft)
    return Exists(events)


def _aggregates() -> dict:
    def status(*values: str) -> Count:
        return Count("pk", filter=Q(status__in=values))

    return {
        "recipients": Count("pk"),
        "sent": status(DeliveryStatus.SENT),
        "failed": status(DeliveryStatus.FAILED),
        "unknown": status(DeliveryStatus.UNKNOWN),
        "skipped": status(DeliveryStatus.SKIPPED, DeliveryStatus.CANCELLED),
        # Every status not counted above, so handled (sent + failed + unknown + skipped)
        # and waiting always add up to the recipients.
        "waiting": status(DeliveryStatus.PENDING, DeliveryStatus.RESERVED, DeliveryStatus.SENDING),
        "opens": Count("pk", filter=Q(_event(EventKind.OPEN))),
        "clicks": Count("pk", filter=Q(_event(EventKind.CLICK))),
        "unsubscribes": Count(
            "pk", filter=Q(_event(EventKind.UNSUBSCRIBE)) | Q(_provider("unsubscribed")),
        ),
        "bounces": Count("pk", filter=Q(_provider("bounced", "rejected", soft=False))),
        "complaints": Count("pk", filter=Q(_provider("complained"))),
    }


def campaign_stats(campaign: Campaign) -> Stats:
    """The whole campaign's counts and rates (one aggregate query)."""
    counts = Delivery.objects.filter(campaign=campaign).aggregate(**_aggregates())
    return Stats(label=campaign.name, **{key: int(counts[key] or 0) for key in COUNTS})


def segment_stats(campaign: Campaign) -> list[Stats]:
    """Counts and rates per target segment (one GROUP BY query), in segment order."""
    rows = (
        Delivery.objects.filter(campaign=campaign).order_by().values("segment")
        .annotate(**_aggregates()).order_by("segment")
    )
    names = {segment.pk: str(segment) for segment in campaign.segments.all()}
    return [
        Stats(label=names.get(row["segment"], "—"), segment_id=row["segment"],
              **{key: int(row[key] or 0) for key in COUNTS})
        for row in rows
    ]


def deliveries_waiting(campaign: Campaign) -> QuerySet:
    return Delivery.objects.filter(
        campaign=campaign,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RESERVED, DeliveryStatus.SENDING],
    )


@dataclass(frozen=True)
class Preview:
    compiled: rendering.CompiledCampaign
    rendered: rendering.Rendered
    customer: Any
    address: str
    unsubscribe_url: str


def preview_campaign(campaign: Campaign, *, customer: Customer | None = None) -> Preview:
    """The campaign rendered for ``customer`` or a sample member (links not tracked)."""
    segments = list(campaign.segments.order_by("pk")) if campaign.pk else []
    segment = segments[0] if segments else None
    if customer is None and segment is not None:
        customer = segment.members().order_by("pk").first()
    if customer is None:
        customer = Customer(name="Test customer", email="test@example.com")
    compiled = rendering.compile_campaign(
        campaign, tracking=False, segments={s.pk: s for s in segments},
    )
    features = rendering.features_of(
        [customer.pk] if customer.pk else [], compiled.features, now=timezone.now(),
    ).get(customer.pk, {})
    unsubscribe = tokens.unsubscribe_url(PREVIEW_TOKEN)
    address = customer.email or "test@example.com"
    rendered = rendering.render(
        compiled, customer=customer, address=address, segment=segment, features=features,
        unsubscribe_url=unsubscribe,
    )
    return Preview(compiled=compiled, rendered=rendered, customer=customer, address=address,
                   unsubscribe_url=unsubscribe)
