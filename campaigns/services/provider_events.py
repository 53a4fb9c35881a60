"""Bounces, complaints and unsubscribes reported by the email provider (anymail's events).

Each event is applied once (unique provider event id). Soft bounces are counted per
address under a per-address transaction lock, so concurrent webhooks for one address
count every event (PostgreSQL's READ COMMITTED would otherwise let two transactions
each miss the other's uncommitted row). An event for an address the shop does not know
(no delivery, no customer) is recorded and logged but changes nothing: it is most
likely mail another system sent through the same provider account. An address that is
too long or malformed is logged and dropped: the webhook still answers 2xx, so the
provider does not retry it forever.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm.models import Customer
from crm.privacy.services import ConsentSource, is_erased_address, record_withdrawal

from ..conf import campaigns_settings
from ..models import Delivery, DeliveryStatus, ProviderEvent, SuppressionReason
from .tracking import suppress

logger = logging.getLogger(__name__)

MAX_ADDRESS = 254  # RFC 5321 path limit, and the column's length
# A reply code at the start, with or without the "smtp;" diagnostic type of RFC 3464
# (SES and Postmark write "smtp; 550 5.1.1 ...", Brevo "smtp;452 ...").
SMTP_REPLY = re.compile(r"^\s*(?:smtp\s*;\s*)?([245])\d\d\b", re.IGNORECASE)
# An enhanced status code (RFC 3463) anywhere: "4.2.2", "5.1.1".
SMTP_ENHANCED = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?![\d.])")
# The providers' own words for a temporary or a permanent bounce, lower-cased:
# Postmark Type, SES bounceType, Mailgun severity, SendGrid type, Brevo event.
SOFT_KINDS = {"softbounce", "transient", "temporary", "blocked", "soft_bounce", "dnserror"}
HARD_KINDS = {"hardbounce", "permanent", "hard_bounce", "bounce", "invalid_email"}


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
    # The provider's own bounce kind from its raw payload (see provider_bounce_kind).
    provider_kind: str | None = None


def provider_bounce_kind(esp_event) -> str | None:
    """The provider's temporary/permanent word in a raw payload, if it has one."""
    if not isinstance(esp_event, dict):
        return None
    data = esp_event.get("event-data") if isinstance(esp_event.get("event-data"), dict) \
        else esp_event
    bounce = data.get("bounce")
    for value in (
        data.get("Type"),  # Postmark: HardBounce, SoftBounce, Transient, ...
        bounce.get("bounceType") if isinstance(bounce, dict) else None,  # SES
        data.get("severity"),  # Mailgun: temporary, permanent
        data.get("type") if data.get("event") == "bounce" else None,  # SendGrid
        data.get("event") if str(data.get("event", "")).endswith("_bounce") else None,  # Brevo
    ):
        if isinstance(value, str) and value:
            return value.lower()
    return None


def smtp_class(response: str | None) -> str | None:
    """"4" (temporary), "5" (permanent) or "2" from an SMTP response, or None."""
    if not response:
        return None
    match = SMTP_REPLY.match(response) or SMTP_ENHANCED.search(response)
    return match.group(1) if match else None


def is_soft_bounce(report: ProviderReport) -> bool:
    """A temporary failure: anymail's ``deferred``, or a ``bounced`` that the provider
    calls temporary or whose SMTP response is a 4xx (with or without ``smtp;``)."""
    if report.event_type == "deferred":
        return True
    if report.event_type != "bounced":
        return False
    kind = (report.provider_kind or "").lower()
    if kind in SOFT_KINDS:
        return True
    if kind in HARD_KINDS:
        return False
    return smtp_class(report.mta_response) == "4"


def _event_id(report: ProviderReport) -> str:
    if report.event_id:
        return str(report.event_id)[:255]
    # Providers without event ids: the same report hashes to the same id.
    key = "|".join(str(part) for part in (report.event_type, report.recipient,
                                          report.message_id, report.timestamp))
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _match_delivery(report: ProviderReport, address: str) -> Delivery | None:
    if report.message_id:
        found = Delivery.objects.filter(message_id=report.message_id[:255]).first()
        if found is not None:
            return found
    if not address:
        return None
    return (Delivery.objects.filter(address=address, status=DeliveryStatus.SENT)
            .order_by("-sent_at", "-pk").first())


def _valid_address(address: str) -> bool:
    if len(address) > MAX_ADDRESS:
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _lock_address(address: str) -> None:
    """Hold a per-address lock until the transaction ends (PostgreSQL; SQLite writes are
    serialised anyway), so concurrent events for one address are counted in turn."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(address.encode(), digest_size=8, person=b"rc-bounce").digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)",
                       [int.from_bytes(digest, "big", signed=True)])


def record_provider_event(*, report: ProviderReport) -> ProviderEvent | None:
    """Apply a bounce, complaint or unsubscribe a provider reported; once per event id.

    Hard bounce (``bounced``, or ``rejected`` as bounced/invalid) and complaint
    suppress the address; a soft bounce (see ``is_soft_bounce``) counts, and
    SOFT_BOUNCE_THRESHOLD of them suppress it; a provider unsubscribe unsubscribes.
    Returns None for a replayed event (already processed) or a malformed address.
    """
    address = (report.recipient or "").strip().lower()
    if address and not _valid_address(address):
        logger.warning("%s %s event %s: malformed or over-long recipient (%d characters) "
                       "ignored", report.esp_name, report.event_type, report.event_id,
                       len(address))
        return None
    if is_erased_address(address):  # erased (crm.privacy): the report keeps no trace of it
        address, report = "", replace(report, recipient=None, description=None, mta_response=None)
    soft = is_soft_bounce(report)
    try:
        with transaction.atomic():
            if soft and address:
                _lock_address(address)
            delivery = _match_delivery(report, address)
            event = ProviderEvent.objects.create(
                esp_name=report.esp_name[:50], event_id=_event_id(report),
                event_type=report.event_type[:32], recipient=address,
                message_id=(report.message_id or "")[:255],
                delivery=delivery, is_soft_bounce=soft,
                description=(report.description or report.mta_response or "")[:2000],
                occurred_at=report.timestamp or timezone.now(),
            )
            known = bool(address) and (
                delivery is not None or Customer.objects.filter(email=address).exists())
            if known:
                _apply(report, address, soft)
            elif address:
                logger.info("%s %s for %s, an address the shop does not know: recorded, "
                            "nothing changed", report.esp_name, report.event_type, address)
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
