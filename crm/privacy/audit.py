"""The privacy audit: who exported or erased customer data, and when."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ..models import Customer
from .models import PrivacyAction, PrivacyAuditEntry


def actor_fields(actor: Any = None, actor_name: str = "") -> dict[str, Any]:
    """The audit's ``actor``/``actor_name`` for a user, or a name such as a command's."""
    user = actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) \
        else None
    name = actor_name or (user.get_username() if user is not None else "")
    return {"actor": user, "actor_name": name[:150]}


def log_privacy_action(*, action: str, actor: Any = None, actor_name: str = "",
                       customer: Customer | None = None,
                       detail: dict[str, Any] | None = None) -> PrivacyAuditEntry:
    """Record an export or erasure of customer data (counts only, never the data)."""
    return PrivacyAuditEntry.objects.create(
        action=action, customer=customer, detail=detail or {},
        **actor_fields(actor, actor_name),
    )


def log_csv_export(*, request: HttpRequest | None = None, what: str, actor_name: str = ""
                   ) -> PrivacyAuditEntry:
    """Record a CSV export (``what``: e.g. crm.customer) from the admin or a command."""
    return log_privacy_action(
        action=PrivacyAction.CSV_EXPORT, actor=getattr(request, "user", None),
        actor_name=actor_name, detail={"exported": what},
    )
