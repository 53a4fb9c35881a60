"""What the admin's import page calls each field: labels in the user's language.

People choose a column's meaning from these labels; the field names behind them
(``placed_at``, ``customer_external_id``...) are never shown or typed.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..models import ImportKind
from .mapping import ATTRIBUTES, Target, resolve_field, targets

CUSTOMER_LABELS: dict[str, Promise] = {
    "external_id": _("Customer number (in your shop)"),
    "email": _("Email address"),
    "name": _("Name"),
    "gender": _("Gender"),
    "birth_date": _("Birth date"),
    "age": _("Age (years)"),
    "city": _("City"),
    "country": _("Country"),
    "signed_up_at": _("Sign-up date"),
    "consent_status": _("Email consent (yes / no)"),
    "consent_source": _("Where consent was given"),
    "consent_at": _("Consent date"),
    "unsubscribed_at": _("Unsubscribe date"),
}
ORDER_LABELS: dict[str, Promise] = {
    "customer_external_id": CUSTOMER_LABELS["external_id"],
    "customer_email": _("Customer's email address"),
    "external_id": _("Order number"),
    "placed_at": _("Order date"),
    "amount": _("Amount paid"),
    "currency": _("Currency"),
    "item_count": _("Number of items"),
    "category": _("Product category"),
    "channel": _("Sales channel"),
    "status": _("Order status (completed, cancelled, refunded)"),
}
CUSTOMER_EXTRA = "extra:customer"
ORDER_EXTRA = "extra:order"


def label(target: Target) -> Promise:
    return (CUSTOMER_LABELS if target.entity == "customer" else ORDER_LABELS)[target.field]


def column_choices(kind: str) -> list[tuple]:
    """The choices of a column's dropdown: keep it as extra information, or a field,
    grouped by customer and order (option values are field names, labels translated)."""
    def about_customer(target: Target) -> bool:
        return target.entity == "customer" or target.field.startswith("customer_")

    customer = [(name, label(target)) for name, target in targets(kind) if about_customer(target)]
    order = [(name, label(target)) for name, target in targets(kind)
             if not about_customer(target)]
    if kind == ImportKind.CUSTOMERS:
        extra = [(CUSTOMER_EXTRA, _("Keep as extra information"))]
    elif kind == ImportKind.ORDERS:
        extra = [(ORDER_EXTRA, _("Keep as extra information"))]
    else:
        extra = [(CUSTOMER_EXTRA, _("Keep as extra information about the customer")),
                 (ORDER_EXTRA, _("Keep as extra information about the order"))]
    choices: list[tuple] = [(_("Other"), extra)]
    if customer:
        choices.append((_("Customer"), customer))
    if order:
        choices.append((_("Order"), order))
    return choices


def mapping_field_label(name: str, kind: str) -> str:
    """What a saved mapping's field name means, for a person."""
    target = resolve_field(name, kind)
    if target is None:
        return name
    if target.field == ATTRIBUTES:
        return str(_("Extra information “%(key)s”") % {"key": target.key})
    return str(label(target))
