"""Opens, clicks and unsubscribes from signed links; bounces and complaints from providers."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import Customer
from crm.privacy.services import ConsentSource, is_erased_address, record_withdrawal

from ..conf import campaigns_settings
from ..models import (
    Delivery,
    DeliveryStatus,
    EventKind,
    Link,
    ProviderEvent,
    Suppression,
    SuppressionReason,
    TrackingEvent,
)
from ..tokens import BadToken, read_token


def delivery_for_token(token: str) -> Delivery:
    """The delivery a signed token names; BadToken when forged, edited or unknown."""
    delivery = Delivery.objects.filter(pk=read_token(token)).first()
    if delivery is None:
        raise BadToken("no such delivery")
    return delivery


def record_open(*, token: str, user_agent: str = "") -> bool:
    """Record an open; a bad token records nothing (the pixel is served anyway)."""
    try:
        delivery_id = read_token(token)
    except BadToken:
        return False
    if not Delivery.objects.filter(pk=delivery_id).exists():
        return False
    TrackingEvent.objects.create(
        delivery_id=delivery_id, kind=EventKind.OPEN, occurred_at=timezone.now(),
        user_agent=user_agent[:512],
    )
    return True


def record_click(*, link_id: int, token: str, user_agent: str = "") -> str | None:
    """Record a click and return the stored destination, or None (nothing recorded)."""
    try:
        delivery_id = read_token(token)
    except BadToken:
        return None
    link = Link.objects.filter(pk=link_id, campaign__deliveries__pk=delivery_id).first()
    if link is None:
        return None
    TrackingEvent.objects.create(
        delivery_id=delivery_id, kind=EventKind.CLICK, link=link, occurred_at=timezone.now(),
        user_agent=user_agent[:512],
    )
    return link.url


def suppress(*, address: str, reason: str, note: str = "") -> None:
    """Add an address to the suppression list (an address already there keeps its reason)."""
    Suppression.objects.bulk_create(
        [Suppression(address=address.strip().lower(), reason=reason, note=note[:255])],
        ignore_conflicts=True,
    )


def unsubscribe(*, token: str, user_agent: str = "") -> Delivery:
    """Unsubscribe the customer a delivery went to; repeating it changes nothing more.

    Sets ``customer.unsubscribed_at``, adds the address to the suppression list and
    records one unsubscribe event on the delivery. BadToken when the token is bad.
    """
    delivery = delivery_for_token(token)
    now = timezone.now()
    with transaction.atomic():
        if delivery.customer_id is not None:
            Customer.objects.filter(pk=delivery.customer_id, unsubscribed_at__isnull=True).update(
                unsubscribed_at=now, updated_at=now,
            )
        suppress(address=delivery.address, reason=SuppressionReason.UNSUBSCRIBED,
                 note=f"campaign {delivery.campaign_id}")
        record_withdrawal(source=ConsentSource.UNSUBSCRIBE, customer_ids=[delivery.customer_id])
        TrackingEvent.objects.bulk_create(
            [TrackingEvent(delivery=delivery, kind=EventKind.UNSUBSCRIBE, occurred_at=now,
                           user_agent=user_agent[:512])],
            ignore_conflicts=True,
        )
    return delivery


# --- provider events (anymail's normalised tracking events) ---------------------------

SMTP_4XX = re.compile(r"^\s*4\d\d\b")


@dataclass(frozen=True)
class ProviderReport:
    """The fields of an anymail AnymailTrackingEvent that matter here."""

    esp_name: str
    event_type: str
    recipient: str | None
    event_id: str | None = None
    message_id: str | None = None
    timestamp: datetime | None = None
    reject_reason: str | None = None
    mta_response: str | None = None
    description: str | None = None


def _event_id(report: ProviderReport) -> str:
    if report.event_id:
        return str(report.event_id)[:255]
    # Providers without event ids: the same report hashes to the same id.
    key = "|".join(str(part) for part in (report.event_type, report.recipient,
                                          report.message_id, report.timestamp))
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _match_delivery(report: ProviderReport, address: str) -> Delivery | None:
    if report.message_id:
        found = Delivery.objects.filter(message_id=report.message_id).first()
        if found is not None:
            return found
    if not address:
        return None
    return (Delivery.objects.filter(address=address, status=DeliveryStatus.SENT)
            .order_by("-sent_at", "-pk").first())


def record_provider_event(*, report: ProviderReport) -> ProviderEvent | None:
    """Apply a bounce, complaint or unsubscribe a provider reported; once per event id.

    Hard bounce (``bounced``, or ``rejected`` as bounced/invalid) and complaint
    suppress the address; a soft bounce (``deferred``, or ``bounced`` with a 4xx
    response) counts, and SOFT_BOUNCE_THRESHOLD of them suppress it; a provider
    unsubscribe unsubscribes. Returns None for a replayed event (already processed).
    """
    address = (report.recipient or "").strip().lower()
    if is_erased_address(address):  # erased (crm.privacy): the report keeps no trace of it
        address, report = "", replace(report, recipient=None, description=None, mta_response=None)
    soft = report.event_type == "deferred" or (
        report.event_type == "bounced" and bool(SMTP_4XX.match(report.mta_response or ""))
    )
    try:
        with transaction.atomic():
            event = ProviderEvent.objects.create(
                esp_name=report.esp_name[:50], event_id=_event_id(report),
                event_type=report.event_type[:32], recipient=address,
                message_id=(report.message_id or "")[:255],
                delivery=_match_delivery(report, address), is_soft_bounce=soft,
                description=(report.description or report.mta_response or "")[:2000],
                occurred_at=report.timestamp or timezone.now(),
            )
            if address:
                _apply(report, address, soft)
    except IntegrityError:
        return None  # replayed: processed the first time
    return event


def _apply(report: ProviderReport, address: str, soft: bool) -> None:
    note = f"{report.esp_name} {report.event_type}"
    kind, reason = report.event_type, report.reject_reason
    if soft:
        count = ProviderEvent.objects.filter(recipient=address, is_soft_bounce=True).count()
        if count >= campaigns_settings.SOFT_BOUNCE_THRESHOLD:
            suppress(address=address, reason=SuppressionReason.SOFT_BOUNCED, note=note)
    elif kind == "complained" or (kind == "rejected" and reason == "spam"):
        suppress(address=address, reason=SuppressionReason.COMPLAINED, note=note)
        record_withdrawal(source=ConsentSource.COMPLAINT, email=address, note=note)
    elif kind == "bounced" or (kind == "rejected" and reason in {"bounced", "invalid"}):
        suppress(address=address, reason=SuppressionReason.HARD_BOUNCED, note=note)
    elif kind == "unsubscribed":
        suppress(address=address, reason=SuppressionReason.UNSUBSCRIBED, note=note)
        record_withdrawal(source=ConsentSource.UNSUBSCRIBE, email=address, note=note)
        now = timezone.now()
        Customer.objects.filter(email=address, unsubscribed_at__isnull=True).update(
            unsubscribed_at=now, updated_at=now,
        )
