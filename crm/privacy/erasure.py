"""The right to erasure: remove a customer's personal data everywhere, keep aggregates.

The customer row stays as an anonymous one (so orders, segment sizes and campaign
statistics keep their counts) with its identifying fields cleared; its address goes
to the hashed erased-address list (:class:`ErasedAddress`); other apps clear what
they hold through their registered erasers (campaigns: delivery addresses, errors,
user agents, suppression and provider events). The erasure is recorded in the
privacy audit with who and when, and counts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ConsentStatus, Customer, Event, Order
from .audit import log_privacy_action
from .consent import address_digest
from .models import (
    ConsentRecord,
    ConsentSource,
    ErasedAddress,
    PendingSignup,
    PrivacyAction,
    PrivacyAuditEntry,
)
from .registry import registered

ERASED_PREFIX = "erased-"


@dataclass(frozen=True)
class ErasureReport:
    """What one erasure changed, per table (no personal data)."""

    customer_id: int
    already_erased: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def is_erased(customer: Customer) -> bool:
    return (customer.external_id or "").startswith(ERASED_PREFIX) and customer.email is None


def erase_customer(*, customer: Customer, actor: Any = None,
                   actor_name: str = "") -> ErasureReport:
    """Erase a customer's personal data (one transaction); repeating it changes nothing."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if is_erased(customer):
            return ErasureReport(customer.pk, already_erased=True)
        email, now = customer.email, timezone.now()
        counts: dict[str, int] = {}
        if email:
            ErasedAddress.objects.get_or_create(digest=address_digest(email))
            counts["pending_signups"] = PendingSignup.objects.filter(email=email).delete()[0]
        for hooks in registered():
            if hooks.erase is not None:
                for key, value in (hooks.erase(customer=customer, email=email) or {}).items():
                    counts[f"{hooks.name}.{key}"] = value
        counts["orders"] = Order.objects.filter(customer=customer).exclude(
            attributes={}).update(attributes={})
        counts["events"] = Event.objects.filter(customer=customer).exclude(
            properties={}).update(properties={})
        counts["consent_records"] = ConsentRecord.objects.filter(customer=customer).delete()[0]
        counts["admin_log"] = _scrub_admin_log(customer, email)
        # A queryset update: no post_save, so features and segment sizes stay as they are.
        Customer.objects.filter(pk=customer.pk).update(
            email=None, name="", external_id=f"{ERASED_PREFIX}{customer.pk}", birth_date=None,
            city="", attributes={}, consent_status=ConsentStatus.WITHDRAWN,
            consent_source=ConsentSource.ERASURE.value, consent_at=now,
            unsubscribed_at=customer.unsubscribed_at or now, updated_at=now,
        )
        ConsentRecord.objects.create(customer=customer, status=ConsentStatus.WITHDRAWN,
                                     source=ConsentSource.ERASURE, occurred_at=now)
        log_privacy_action(action=PrivacyAction.ERASURE, actor=actor, actor_name=actor_name,
                           customer=customer, detail={"counts": counts})
    return ErasureReport(customer.pk, counts=counts)


def _scrub_admin_log(customer: Customer, email: str | None) -> int:
    """The admin's history names the customer (its ``__str__`` is the address), and
    other objects (deliveries, suppressed addresses) by the address."""
    content_type = ContentType.objects.get_for_model(Customer)
    query = Q(content_type=content_type, object_id=str(customer.pk))
    if email:
        query |= Q(object_repr__icontains=email) | Q(change_message__icontains=email)
    return LogEntry.objects.filter(query).update(
        object_repr=f"{ERASED_PREFIX}{customer.pk}", change_message="",
    )


def erasures():
    """The erasures recorded, newest first."""
    return PrivacyAuditEntry.objects.filter(action=PrivacyAction.ERASURE)
