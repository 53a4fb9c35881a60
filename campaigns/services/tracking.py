"""Opens, clicks and unsubscribes from the signed links in sent emails."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from crm.models import Customer
from crm.privacy.services import ConsentSource, record_withdrawal

from ..conf import campaigns_settings
from ..models import (
    Campaign,
    Delivery,
    EventKind,
    Link,
    Suppression,
    SuppressionReason,
    TrackingEvent,
)
from ..tokens import BadToken, read_token


@dataclass(frozen=True)
class Recipient:
    """Whom a signed token's links were sent to; the delivery may be gone (erasure)."""

    address: str  # "" when neither the delivery nor the customer is left
    customer_id: int | None
    campaign_id: int | None
    delivery_id: int | None  # None when the delivery row is gone


def recipient_for_token(token: str) -> Recipient:
    """Whom ``token`` names, from its delivery or, when that is gone, from the token alone.

    BadToken when the token is forged or edited, or is an older token (delivery id
    only) whose delivery is gone.
    """
    data = read_token(token)
    delivery = (Delivery.objects.filter(pk=data.delivery_id)
                .values("address", "customer_id", "campaign_id").first())
    if delivery is not None and data.campaign_id in (None, delivery["campaign_id"]):
        return Recipient(address=delivery["address"], customer_id=delivery["customer_id"],
                         campaign_id=delivery["campaign_id"], delivery_id=data.delivery_id)
    if data.campaign_id is None:
        raise BadToken("no such delivery")
    customer = (Customer.objects.filter(pk=data.customer_id).values("pk", "email").first()
                if data.customer_id else None)
    return Recipient(
        address=(customer or {}).get("email") or "",
        customer_id=customer["pk"] if customer else None,
        campaign_id=data.campaign_id, delivery_id=None,
    )


def record_open(*, token: str, user_agent: str = "") -> bool:
    """Record an open; a bad token records nothing (the pixel is served anyway)."""
    try:
        delivery_id = read_token(token).delivery_id
    except BadToken:
        return False
    if not Delivery.objects.filter(pk=delivery_id).exists():
        return False
    TrackingEvent.objects.create(
        delivery_id=delivery_id, kind=EventKind.OPEN, occurred_at=timezone.now(),
        user_agent=user_agent[:512],
    )
    return True


def shop_url() -> str:
    """Where clicks go whose campaign was erased: RULECAST_CAMPAIGNS SHOP_URL, or BASE_URL."""
    return campaigns_settings.SHOP_URL or campaigns_settings.BASE_URL


def record_click(*, link_id: int, token: str, user_agent: str = "") -> str | None:
    """Record a click and return where it goes; None (nothing recorded) for a bad link.

    A genuine token whose campaign was erased (or, for older tokens, whose delivery
    is gone) goes to the shop's base URL: the recipient did nothing wrong. A link
    of another campaign, or an edited token, is None.
    """
    try:
        data = read_token(token)
    except BadToken:
        return None
    delivery = Delivery.objects.filter(pk=data.delivery_id).values("campaign_id").first()
    campaign_id = data.campaign_id if data.campaign_id is not None else (
        delivery["campaign_id"] if delivery else None)
    if campaign_id is None or not Campaign.objects.filter(pk=campaign_id).exists():
        return shop_url()
    link = Link.objects.filter(pk=link_id, campaign_id=campaign_id).first()
    if link is None:
        return None
    if delivery is not None and delivery["campaign_id"] == campaign_id:
        TrackingEvent.objects.create(
            delivery_id=data.delivery_id, kind=EventKind.CLICK, link=link,
            occurred_at=timezone.now(), user_agent=user_agent[:512],
        )
    return link.url


def suppress(*, address: str, reason: str, note: str = "") -> None:
    """Add an address to the suppression list (an address already there keeps its reason)."""
    Suppression.objects.bulk_create(
        [Suppression(address=address.strip().lower(), reason=reason, note=note[:255])],
        ignore_conflicts=True,
    )


def unsubscribe(*, token: str, user_agent: str = "") -> Recipient:
    """Unsubscribe whom a token names; repeating it changes nothing more.

    Sets ``customer.unsubscribed_at``, adds the address to the suppression list and
    records one unsubscribe event on the delivery when it still exists. Works from
    the token alone when the delivery is gone (erased), and for archived campaigns.
    BadToken when the token is bad.
    """
    recipient = recipient_for_token(token)
    now = timezone.now()
    with transaction.atomic():
        if recipient.customer_id is not None:
            Customer.objects.filter(pk=recipient.customer_id, unsubscribed_at__isnull=True).update(
                unsubscribed_at=now, updated_at=now,
            )
            record_withdrawal(source=ConsentSource.UNSUBSCRIBE,
                              customer_ids=[recipient.customer_id])
        if recipient.address:
            suppress(address=recipient.address, reason=SuppressionReason.UNSUBSCRIBED,
                     note=f"campaign {recipient.campaign_id}")
        if recipient.delivery_id is not None:
            TrackingEvent.objects.bulk_create(
                [TrackingEvent(delivery_id=recipient.delivery_id, kind=EventKind.UNSUBSCRIBE,
                               occurred_at=now, user_agent=user_agent[:512])],
                ignore_conflicts=True,
            )
    return recipient
