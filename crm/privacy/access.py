"""The right of access: one JSON document with everything held about a customer."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from ..models import Customer
from .audit import log_privacy_action
from .models import ConsentRecord, PrivacyAction
from .registry import registered

PROFILE_FIELDS = [
    "id", "external_id", "email", "name", "gender", "birth_date", "city", "country",
    "signed_up_at", "consent_status", "consent_source", "consent_at", "unsubscribed_at",
    "attributes", "created_at", "updated_at",
]
ORDER_FIELDS = ["id", "external_id", "placed_at", "amount", "currency", "item_count",
                "category", "channel", "status", "attributes", "created_at"]
EVENT_FIELDS = ["id", "external_id", "event_type", "occurred_at", "properties"]


def customer_data(*, customer: Customer) -> dict[str, Any]:
    """Everything held about a customer, as JSON-ready values (no audit entry)."""
    data: dict[str, Any] = {
        "generated_at": timezone.now(),
        "profile": {name: getattr(customer, name) for name in PROFILE_FIELDS},
        "consent_history": [
            {"status": record.status, "source": record.source, "time": record.occurred_at,
             "note": record.note}
            for record in ConsentRecord.objects.filter(customer=customer)
            .order_by("occurred_at", "pk")
        ],
        "orders": list(customer.orders.order_by("placed_at", "pk").values(*ORDER_FIELDS)),
        "events": list(customer.events.order_by("occurred_at", "pk").values(*EVENT_FIELDS)),
    }
    for hooks in registered():
        if hooks.export is not None:
            data.update(hooks.export(customer=customer))
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def export_customer(*, customer: Customer, actor: Any = None,
                    actor_name: str = "") -> dict[str, Any]:
    """The access export of a customer, recorded in the privacy audit."""
    data = customer_data(customer=customer)
    log_privacy_action(
        action=PrivacyAction.ACCESS_EXPORT, actor=actor, actor_name=actor_name,
        customer=customer,
        detail={"records": {key: len(value) for key, value in data.items()
                            if isinstance(value, list)}},
    )
    return data
