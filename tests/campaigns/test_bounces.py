"""Bounces and complaints through django-anymail's tracking webhooks and signal."""

import base64
import json

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client
from django.utils import timezone

from campaigns import services
from campaigns.models import Delivery, DeliveryStatus, ProviderEvent, Suppression, SuppressionReason
from crm.models import Customer
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db

WEBHOOK = "/mail/anymail/postmark/tracking/"


@pytest.fixture
def sent(make_segment):
    campaign = make_campaign([make_segment(make_customers(3))])
    services.launch_campaign(campaign=campaign)
    Delivery.objects.filter(campaign=campaign).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(),
    )
    return campaign


def signal(event_type: str, recipient: str, event_id: str | None = "e1", **extra) -> None:
    event = AnymailTrackingEvent(event_type=event_type, recipient=recipient, event_id=event_id,
                                 timestamp=timezone.now(), **extra)
    tracking.send(sender=object, event=event, esp_name="TestESP")


def reasons() -> dict[str, str]:
    return dict(Suppression.objects.values_list("address", "reason"))


def test_a_hard_bounce_suppresses_and_is_linked_to_the_delivery(sent):
    signal("bounced", "C0@example.com", mta_response="550 5.1.1 user unknown")
    assert reasons() == {"c0@example.com": SuppressionReason.HARD_BOUNCED}
    event = ProviderEvent.objects.get()
    assert event.delivery.address == "c0@example.com" and not event.is_soft_bounce


def test_a_complaint_suppresses(sent):
    signal("complained", "c1@example.com")
    assert reasons() == {"c1@example.com": SuppressionReason.COMPLAINED}


def test_soft_bounces_count_up_to_the_threshold(sent, settings):
    settings.RULECAST_CAMPAIGNS = {"SOFT_BOUNCE_THRESHOLD": 3}
    signal("deferred", "c2@example.com", event_id="s1")
    signal("bounced", "c2@example.com", event_id="s2", mta_response="452 4.2.2 mailbox full")
    assert reasons() == {}
    signal("deferred", "c2@example.com", event_id="s3")
    assert reasons() == {"c2@example.com": SuppressionReason.SOFT_BOUNCED}


def test_a_replayed_event_is_processed_once(sent, settings):
    settings.RULECAST_CAMPAIGNS = {"SOFT_BOUNCE_THRESHOLD": 2}
    signal("deferred", "c2@example.com", event_id="same")
    signal("deferred", "c2@example.com", event_id="same")
    assert ProviderEvent.objects.count() == 1 and reasons() == {}


def test_events_without_ids_are_deduplicated_by_content(sent):
    when = timezone.now()
    for _ in range(2):
        tracking.send(sender=object, esp_name="TestESP", event=AnymailTrackingEvent(
            event_type="complained", recipient="c1@example.com", event_id=None, timestamp=when))
    assert ProviderEvent.objects.count() == 1


def test_a_provider_unsubscribe_unsubscribes(sent):
    signal("unsubscribed", "c0@example.com")
    assert Customer.objects.get(email="c0@example.com").unsubscribed_at is not None
    assert reasons() == {"c0@example.com": SuppressionReason.UNSUBSCRIBED}


def test_other_events_are_ignored(sent):
    signal("opened", "c0@example.com")
    signal("delivered", "c0@example.com", event_id="e2")
    assert not ProviderEvent.objects.exists() and reasons() == {}


def postmark(client: Client, payload: dict, auth: str):
    return client.post(WEBHOOK, data=json.dumps(payload), content_type="application/json",
                       HTTP_AUTHORIZATION="Basic " + base64.b64encode(auth.encode()).decode())


def test_the_postmark_webhook_with_the_secret_suppresses(sent, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    payload = {"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "Email": "c1@example.com",
               "BouncedAt": "2026-05-01T10:00:00Z", "Details": "550 no such user",
               "MessageID": "00000000-0000-0000-0000-000000000000"}
    client = Client()
    assert postmark(client, payload, "hook:wrong").status_code in {400, 401, 403}
    assert reasons() == {}
    assert postmark(client, payload, "hook:s3cret").status_code == 200
    assert postmark(client, payload, "hook:s3cret").status_code == 200  # replayed
    assert reasons() == {"c1@example.com": SuppressionReason.HARD_BOUNCED}
    assert ProviderEvent.objects.get().event_id == "42"
