"""The receiver of django-anymail's ``tracking`` signal: hands provider events to a service."""

from __future__ import annotations

from .services import ProviderReport, record_provider_event
from .services.provider_events import provider_bounce_kind

HANDLED = {"bounced", "deferred", "complained", "rejected", "unsubscribed"}


def on_tracking_event(sender, event, esp_name: str, **kwargs) -> None:
    """Bounces, complaints and provider unsubscribes; other events are ignored."""
    if event.event_type not in HANDLED:
        return
    record_provider_event(report=ProviderReport(
        esp_name=esp_name, event_type=event.event_type, recipient=event.recipient,
        event_id=event.event_id, message_id=event.message_id, timestamp=event.timestamp,
        reject_reason=event.reject_reason, mta_response=event.mta_response,
        description=event.description, provider_kind=provider_bounce_kind(event.esp_event),
    ))
