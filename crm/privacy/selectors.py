"""Finding the customer a privacy request is about."""

from __future__ import annotations

from ..models import Customer, normalize_email


def find_customer(email_or_id: str) -> Customer | None:
    """The customer with this id, email or external id (in that order), or None."""
    value = (email_or_id or "").strip()
    if not value:
        return None
    if value.isdigit():
        found = Customer.objects.filter(pk=int(value)).first()
        if found is not None:
            return found
    if "@" in value:
        found = Customer.objects.filter(email=normalize_email(value)).first()
        if found is not None:
            return found
    return Customer.objects.filter(external_id=value).first()
