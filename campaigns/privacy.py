"""What campaigns hold about a person, for crm's erasure, access export and retention.

Registered with :mod:`crm.privacy.registry` in ``CampaignsConfig.ready()``. Erasure
and retention keep the rows that campaign statistics count (deliveries, provider
events) and clear what names the person: the address (replaced by a placeholder
unique per delivery), errors, user agents, provider descriptions. Plain-text
suppression entries of an erased address are deleted: crm keeps its keyed hash instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from crm.models import Customer

from .conf import campaigns_settings
from .models import Delivery, DeliveryStatus, EventKind, ProviderEvent, Suppression, TrackingEvent

PLACEHOLDER_DOMAIN = "removed.invalid"  # RFC 2606: never a real mailbox
IN_FLIGHT = [DeliveryStatus.PENDING, DeliveryStatus.RESERVED, DeliveryStatus.SENDING]


def _placeholder():
    """``delivery-<id>@removed.invalid``, unique per delivery (the table's constraint)."""
    return Concat(Value("delivery-"), Cast("pk", CharField()), Value(f"@{PLACEHOLDER_DOMAIN}"))


def _scrub(deliveries) -> int:
    return deliveries.update(address=_placeholder(), last_error="")


def erase(*, customer: Customer, email: str | None) -> dict[str, int]:
    """Clear a customer's address, errors and user agents from deliveries and events."""
    query = Q(customer=customer)
    if email:
        query |= Q(address=email)
    deliveries = Delivery.objects.filter(query)
    ids = list(deliveries.values_list("pk", flat=True))
    counts = {
        "tracking_events": TrackingEvent.objects.filter(delivery_id__in=ids)
        .exclude(user_agent="").update(user_agent=""),
        "provider_events": ProviderEvent.objects.filter(
            Q(delivery_id__in=ids) | Q(recipient=email or "\x00")
        ).update(recipient="", description=""),
        "deliveries": _scrub(Delivery.objects.filter(pk__in=ids)),
        "suppressions": Suppression.objects.filter(address=email or "\x00").delete()[0],
    }
    return counts


def export(*, customer: Customer) -> dict[str, Any]:
    """The customer's deliveries, each with its opens, clicks and unsubscribes."""
    deliveries = []
    for delivery in (Delivery.objects.filter(customer=customer)
                     .select_related("campaign").order_by("created_at", "pk")):
        events = delivery.events.select_related("link").order_by("occurred_at", "pk")
        deliveries.append({
            "campaign": delivery.campaign.name, "campaign_id": delivery.campaign_id,
            "segment_id": delivery.segment_id, "address": delivery.address,
            "status": delivery.status, "sent_at": delivery.sent_at,
            "message_id": delivery.message_id, "last_error": delivery.last_error,
            "opens": [{"time": e.occurred_at, "user_agent": e.user_agent}
                      for e in events if e.kind == EventKind.OPEN],
            "clicks": [{"time": e.occurred_at, "url": e.link.url if e.link else "",
                        "user_agent": e.user_agent}
                       for e in events if e.kind == EventKind.CLICK],
            "unsubscribes": [{"time": e.occurred_at, "user_agent": e.user_agent}
                             for e in events if e.kind == EventKind.UNSUBSCRIBE],
            "provider_events": [
                {"type": p.event_type, "time": p.occurred_at, "description": p.description}
                for p in delivery.provider_events.order_by("occurred_at", "pk")
            ],
        })
    suppressed = list(Suppression.objects.filter(address=customer.email or "\x00")
                      .values("reason", "note", "created_at"))
    return {"deliveries": deliveries, "suppression": suppressed}


def purge(now: datetime) -> dict[str, int]:
    """Remove tracking events and delivery details older than TRACKING_RETENTION_DAYS."""
    days = campaigns_settings.TRACKING_RETENTION_DAYS
    if days is None:
        return {}
    cutoff = now - timedelta(days=days)
    old = Delivery.objects.filter(created_at__lt=cutoff).exclude(status__in=IN_FLIGHT).exclude(
        address__endswith=f"@{PLACEHOLDER_DOMAIN}")
    return {
        "tracking_events": TrackingEvent.objects.filter(occurred_at__lt=cutoff).delete()[0],
        "provider_events": ProviderEvent.objects.filter(occurred_at__lt=cutoff).exclude(
            recipient="", description="").update(recipient="", description=""),
        "deliveries": _scrub(old),
    }


def register_privacy_hooks() -> None:
    from crm.privacy.registry import register

    register("campaigns", erase=erase, export=export, purge=purge)
