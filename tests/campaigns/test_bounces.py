"""Bounces and complaints through django-anymail's tracking webhooks and signal.

The webhook tests post the payload shapes the providers document (Postmark, Amazon SES
over SNS, Mailgun, SendGrid, Brevo) through the real endpoint and anymail's parsers.
"""

import base64
import hashlib
import hmac
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.core.checks import run_checks
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from campaigns import services
from campaigns.models import Delivery, DeliveryStatus, ProviderEvent, Suppression, SuppressionReason
from campaigns.services.provider_events import ProviderReport, smtp_class
from crm.models import Customer
from tests.campaigns.conftest import make_campaign, make_customers
from tests.services import require

SECRET = "hook:s3cret"
MAILGUN_KEY = "mailgun-signing-key-for-tests"


@pytest.fixture
def sent(db, make_segment):
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



# --- the webhook endpoint: closed by default, one provider, signed ---------------------


def url(esp: str) -> str:
    return f"/mail/anymail/{esp}/tracking/"


def basic(auth: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()}


@pytest.fixture
def provider(settings):
    """Serve one provider's webhook with a basic-auth secret (and Mailgun's signing key)."""

    def serve(esp: str) -> None:
        settings.RULECAST_CAMPAIGNS = {"WEBHOOK_ESP": esp, "SOFT_BOUNCE_THRESHOLD": 3}
        settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}

    return serve


def post(esp: str, payload, *, auth: str = SECRET, **headers):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return Client().post(url(esp), data=body, content_type="application/json",
                         **(basic(auth) if auth else {}), **headers)


POSTMARK_HARD = {"RecordType": "Bounce", "ID": 42, "Type": "HardBounce",
                 "Email": "c1@example.com", "BouncedAt": "2026-05-01T10:00:00Z",
                 "Details": "smtp;550 5.1.1 no such user", "Inactive": True,
                 "MessageID": "00000000-0000-0000-0000-000000000000"}


def test_the_postmark_webhook_with_the_secret_suppresses_once(sent, provider):
    provider("postmark")
    assert post("postmark", POSTMARK_HARD).status_code == 200
    assert post("postmark", POSTMARK_HARD).status_code == 200  # replayed
    assert reasons() == {"c1@example.com": SuppressionReason.HARD_BOUNCED}
    assert ProviderEvent.objects.get().event_id == "42"


@pytest.mark.parametrize("auth", [None, "hook:wrong"])
def test_an_unsigned_webhook_is_rejected(sent, provider, auth):
    provider("postmark")
    response = post("postmark", POSTMARK_HARD, auth=auth)
    assert response.status_code in {400, 401, 403}
    assert not ProviderEvent.objects.exists() and reasons() == {}


def test_nothing_is_served_without_a_provider_and_others_are_404(sent, settings, provider):
    settings.RULECAST_CAMPAIGNS = {}
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    assert post("postmark", POSTMARK_HARD).status_code == 404
    provider("postmark")
    for esp in ("mailgun", "sendgrid", "amazon_ses", "nope", "postmark_tracking"):
        assert post(esp, POSTMARK_HARD).status_code == 404, esp
    assert Client().post("/mail/anymail/postmark/inbound/", data="{}",
                         content_type="application/json", **basic(SECRET)).status_code == 404
    assert not ProviderEvent.objects.exists()


def test_a_malformed_payload_is_400_not_500(sent, provider):
    provider("postmark")
    assert post("postmark", "{not json").status_code == 400
    assert post("postmark", ["a", "list"]).status_code == 400


def test_a_provider_without_its_signing_key_is_503_and_fails_the_checks(sent, settings):
    settings.RULECAST_CAMPAIGNS = {"WEBHOOK_ESP": "mailgun"}
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    response = post("mailgun", {"signature": {}, "event-data": {}})
    assert response.status_code == 503
    errors = {m.id for m in run_checks(include_deployment_checks=False)}
    assert "campaigns.E007" in errors


def test_the_checks_want_a_known_provider_and_a_secret_without_debug(db, settings):
    settings.DEBUG = False
    settings.RULECAST_CAMPAIGNS = {"WEBHOOK_ESP": "postmark"}
    settings.ANYMAIL = {}
    assert "campaigns.E006" in {m.id for m in run_checks()}
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    assert not {m.id for m in run_checks()} & {"campaigns.E005", "campaigns.E006",
                                                 "campaigns.E007"}
    settings.RULECAST_CAMPAIGNS = {"WEBHOOK_ESP": "carrier-pigeon"}
    assert "campaigns.E005" in {m.id for m in run_checks()}
    settings.RULECAST_CAMPAIGNS = {}
    settings.ANYMAIL = {}
    assert not {m.id for m in run_checks()} & {"campaigns.E005", "campaigns.E006"}


# --- soft or hard, from each provider's payload ----------------------------------------


def ses(recipient: str, bounce_type: str, diagnostic: str, message_id: str = "sns-1") -> dict:
    message = {
        "notificationType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bounceSubType": "General",
                   "bouncedRecipients": [{"emailAddress": recipient, "action": "failed",
                                          "status": "4.2.2", "diagnosticCode": diagnostic}],
                   "timestamp": "2026-05-01T10:00:00.000Z", "feedbackId": "fb-1"},
        "mail": {"timestamp": "2026-05-01T09:59:00.000Z", "messageId": "ses-msg-1",
                 "source": "news@shop.cn", "destination": [recipient]},
    }
    return {"Type": "Notification", "MessageId": message_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses", "Message": json.dumps(message),
            "Timestamp": "2026-05-01T10:00:00.000Z", "SignatureVersion": "1"}


def mailgun(recipient: str, severity: str, code: int, message: str, token: str) -> dict:
    timestamp = "1777629600"
    signature = hmac.new(MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(),
                         hashlib.sha256).hexdigest()
    return {"signature": {"token": token, "timestamp": timestamp, "signature": signature},
            "event-data": {"event": "failed", "severity": severity, "reason": "generic",
                           "recipient": recipient, "timestamp": 1777629600.1,
                           "id": "mg-" + token, "message": {"headers": {"message-id": "m@x"}},
                           "delivery-status": {"code": code, "message": message,
                                               "description": ""}}}


def sendgrid(recipient: str, event: str, kind: str | None, response: str, eid: str) -> list:
    item = {"email": recipient, "timestamp": 1777629600, "event": event, "sg_event_id": eid,
            "sg_message_id": "sg-1.filter", "smtp-id": "<sg-1@shop.cn>",
            "response" if event == "deferred" else "reason": response, "status": "4.2.2"}
    if kind:
        item["type"] = kind
    return [item]


def brevo(recipient: str, event: str, reason: str, eid: int) -> dict:
    return {"event": event, "email": recipient, "id": 1, "date": "2026-05-01 10:00:00",
            "message-id": f"<brevo-{eid}@smtp-relay.mailin.fr>", "ts_event": 1777629600 + eid,
            "subject": "Spring sale", "reason": reason}


SOFT_SHAPES = {
    "postmark": lambda n: {**POSTMARK_HARD, "ID": 100 + n, "Type": "SoftBounce",
                           "Email": "c2@example.com",
                           "Details": "smtp;452 4.2.2 mailbox full"},
    "amazon_ses": lambda n: ses("c2@example.com", "Transient", "smtp; 452 4.2.2 over quota",
                                f"sns-{n}"),
    "mailgun": lambda n: mailgun("c2@example.com", "temporary", 452, "4.2.2 mailbox full",
                                 f"tok{n}"),
    "sendgrid": lambda n: sendgrid("c2@example.com", "deferred", None,
                                   "452 4.2.2 mailbox full", f"sg{n}"),
    "brevo": lambda n: brevo("c2@example.com", "soft_bounce", "smtp;452 4.2.2 mailbox full",
                             n),
}
HARD_SHAPES = {
    "postmark": {**POSTMARK_HARD, "Email": "c2@example.com"},
    "amazon_ses": ses("c2@example.com", "Permanent", "smtp; 550 5.1.1 user unknown"),
    "mailgun": mailgun("c2@example.com", "permanent", 550, "5.1.1 no such user", "hard"),
    "sendgrid": sendgrid("c2@example.com", "bounce", "bounce", "550 5.1.1 user unknown",
                         "sgh"),
    "brevo": brevo("c2@example.com", "hard_bounce", "smtp;550 5.1.1 user unknown", 99),
}


def deliver(esp: str, payload) -> int:
    """Post ``payload`` to the provider's webhook; the status code.

    Amazon SES's view needs boto3 (not installed here) only to fetch inbound mail and
    confirm subscriptions: its notification parser runs as the view would run it.
    """
    if esp != "amazon_ses":
        return post(esp, payload).status_code
    from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView

    view = AmazonSESTrackingWebhookView.__new__(AmazonSESTrackingWebhookView)
    for event in view.esp_to_anymail_events(json.loads(payload["Message"]), payload):
        tracking.send(sender=AmazonSESTrackingWebhookView, event=event, esp_name=view.esp_name)
    return 200


@pytest.mark.parametrize("esp", sorted(SOFT_SHAPES))
def test_soft_bounces_count_and_suppress_at_the_threshold(sent, provider, esp):
    provider(esp)
    for n in range(3):
        payload = SOFT_SHAPES[esp](n)
        assert reasons() == {}, f"{esp}: suppressed after {n} soft bounce(s)"
        assert deliver(esp, payload) == 200
    assert ProviderEvent.objects.filter(is_soft_bounce=True).count() == 3
    assert reasons() == {"c2@example.com": SuppressionReason.SOFT_BOUNCED}


@pytest.mark.parametrize("esp", sorted(HARD_SHAPES))
def test_hard_bounces_suppress_at_once(sent, provider, esp):
    provider(esp)
    payload = HARD_SHAPES[esp]
    assert deliver(esp, payload) == 200
    assert reasons() == {"c2@example.com": SuppressionReason.HARD_BOUNCED}


@pytest.mark.parametrize(("response", "expected"), [
    ("452 4.2.2 mailbox full", "4"), ("smtp;452 4.2.2 full", "4"),
    ("smtp; 550 5.1.1 unknown", "5"), ("SMTP;421 try later", "4"),
    ("Mailbox full (4.2.2)", "4"), ("user unknown", None), ("", None), (None, None),
    ("550-5.1.1 The email account does not exist", "5"),
])
def test_smtp_codes_are_read_with_or_without_the_smtp_prefix(response, expected):
    assert smtp_class(response) == expected


def test_a_bounce_whose_response_says_smtp_4xx_is_soft_without_provider_words(sent):
    for n in range(2):
        signal("bounced", "c2@example.com", event_id=f"b{n}",
               mta_response="smtp;452 4.2.2 mailbox full")
    assert reasons() == {}
    assert ProviderEvent.objects.filter(is_soft_bounce=True).count() == 2


def test_an_over_long_or_malformed_recipient_gets_2xx_and_is_logged(sent, provider, caplog):
    provider("postmark")
    long_address = "x" * 300 + "@example.com"  # 312 characters
    for n, address in enumerate([long_address, "not an address", "a@b@c"]):
        response = post("postmark", {**POSTMARK_HARD, "ID": 500 + n, "Email": address})
        assert response.status_code == 200
    assert not ProviderEvent.objects.exists() and reasons() == {}
    assert "malformed or over-long recipient" in caplog.text


def test_an_event_for_an_address_the_shop_does_not_know_changes_nothing(sent, provider):
    provider("postmark")
    assert post("postmark", {**POSTMARK_HARD, "Email": "stranger@example.org"}).status_code \
        == 200
    assert ProviderEvent.objects.get().recipient == "stranger@example.org"
    assert reasons() == {}


def test_an_address_known_only_as_a_customer_is_suppressed(sent):
    make_customers(1, prefix="k")
    signal("complained", "k0@example.com")
    assert reasons() == {"k0@example.com": SuppressionReason.COMPLAINED}


# --- concurrency (PostgreSQL) -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_soft_bounces_suppress_every_address_at_the_threshold(settings):
    """20 addresses, 3 soft bounces each, all at once from 8 threads: all 20 suppressed."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    settings.RULECAST_CAMPAIGNS = {"SOFT_BOUNCE_THRESHOLD": 3}
    addresses = [c.email for c in make_customers(20, prefix="r")]
    reports = [ProviderReport(esp_name="TestESP", event_type="deferred", recipient=address,
                              event_id=f"{address}-{n}", timestamp=timezone.now())
               for n in range(3) for address in addresses]
    start = threading.Barrier(8)

    def apply(chunk: list[ProviderReport]) -> None:
        try:
            start.wait(timeout=30)
            for report in chunk:
                services.record_provider_event(report=report)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(apply, [reports[i::8] for i in range(8)]))
    assert ProviderEvent.objects.count() == 60
    assert reasons() == {address: SuppressionReason.SOFT_BOUNCED for address in addresses}
