"""Sending in-process to a real SMTP server on loopback (aiosmtpd)."""

import smtplib
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from campaigns import services
from campaigns.automation.models import CapSlot
from campaigns.conf import campaigns_settings
from campaigns.models import (
    BatchMarker,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Suppression,
    SuppressionReason,
)
from campaigns.services.sending import Failure, classify
from crm.models import ConsentStatus, Customer, Order
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]


@pytest.fixture
def launched(make_segment, smtp):
    def launch(count=5, **fields):
        customers = make_customers(count)
        campaign = make_campaign([make_segment(customers, name="Loyal")], **fields)
        services.launch_campaign(campaign=campaign)
        return campaign, customers

    return launch


def statuses(campaign) -> dict[str, str]:
    return dict(Delivery.objects.filter(campaign=campaign).values_list("address", "status"))


def test_each_message_is_personal_with_unsubscribe_headers(launched, smtp, settings):
    settings.RULECAST_CAMPAIGNS = {"BASE_URL": "https://shop.example.com"}
    campaign, customers = launched(3)
    result = services.send_batch(campaign_id=campaign.pk)
    assert result.sent == 3

    message_ids = set()
    for delivery in Delivery.objects.filter(campaign=campaign).select_related("customer"):
        [message] = smtp.messages_to(delivery.address)
        assert message["Subject"] == f"Hi {delivery.customer.name}"
        assert message["Reply-To"] == "help@shop.example.com"
        assert message["Message-ID"].strip() == delivery.message_id
        message_ids.add(message["Message-ID"])
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = message["List-Unsubscribe"].strip()
        assert unsubscribe.startswith("<https://shop.example.com/mail/u/")
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f"Hello {delivery.customer.name}, you are in Loyal." in text
        assert unsubscribe.strip("<>") in text and unsubscribe.strip("<>") in html
        assert "https://shop.example.com/mail/c/" in html
        assert 'href="https://shop.example.com/sale' not in html  # tracked, not direct
        assert "/mail/o/" in html and "p.gif" in html
    assert len(message_ids) == 3


def test_the_received_one_click_url_unsubscribes(launched, smtp, settings):
    settings.RULECAST_CAMPAIGNS = {"BASE_URL": "https://shop.example.com"}
    campaign, customers = launched(1)
    services.send_batch(campaign_id=campaign.pk)
    [message] = smtp.messages_to(customers[0].email)
    url = urlsplit(message["List-Unsubscribe"].strip().strip("<>"))
    assert url.scheme == "https"

    client = Client(enforce_csrf_checks=True)  # a mail provider: no cookie, no CSRF token
    response = client.post(url.path, data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    customers[0].refresh_from_db()
    assert customers[0].unsubscribed_at is not None
    assert Suppression.objects.filter(address=customers[0].email,
                                      reason=SuppressionReason.UNSUBSCRIBED).exists()


def test_features_render_per_customer(make_segment, smtp):
    customer = make_customers(1)[0]
    Order.objects.create(customer=customer, placed_at=timezone.now() - timedelta(days=3),
                         amount="120.00")
    campaign = make_campaign(
        [make_segment([customer])],
        text_body="Orders: {{ features.frequency }}; opens {{ features.open_rate }}",
    )
    services.launch_campaign(campaign=campaign)
    services.send_batch(campaign_id=campaign.pk)
    [message] = smtp.messages_to(customer.email)
    assert "Orders: 1.0; opens 0.0" in message.get_body(("plain",)).get_content()


def test_a_refused_recipient_fails_alone(launched, smtp):
    smtp.reject.add("c1@example.com")
    campaign, _ = launched(4)
    result = services.send_batch(campaign_id=campaign.pk)
    assert (result.sent, result.failed) == (3, 1)
    failed = Delivery.objects.get(campaign=campaign, address="c1@example.com")
    assert failed.status == DeliveryStatus.FAILED and "550" in failed.last_error
    assert set(smtp.recipients()) == {"c0@example.com", "c2@example.com", "c3@example.com"}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_busy_server_is_retried_with_backoff(launched, smtp, settings):
    settings.RULECAST_CAMPAIGNS = {"RETRY_BACKOFF": 0.2, "RETRY_BACKOFF_MAX": 1}
    smtp.transient_for(0.5)
    campaign, _ = launched(3)

    first = services.send_batch(campaign_id=campaign.pk)
    assert (first.sent, first.retried) == (0, 1) and first.continue_in == pytest.approx(0.2)
    retried = Delivery.objects.get(campaign=campaign, attempts=1)
    assert retried.status == DeliveryStatus.PENDING and "421" in retried.last_error

    deadline = time.monotonic() + 10
    while Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.PENDING).exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
        services.send_batch(campaign_id=campaign.pk)
    assert set(statuses(campaign).values()) == {DeliveryStatus.SENT}
    assert all(count == 1 for count in smtp.recipients().values())
    assert len(smtp.recipients()) == 3 and smtp.transient_answers >= 1


def test_transient_failures_give_up_after_max_attempts(launched, smtp, settings):
    settings.RULECAST_CAMPAIGNS = {"RETRY_BACKOFF": 0.01, "MAX_ATTEMPTS": 2}
    smtp.transient_for(60)
    campaign, _ = launched(1)
    services.send_batch(campaign_id=campaign.pk)
    time.sleep(0.05)
    services.send_batch(campaign_id=campaign.pk)
    delivery = Delivery.objects.get(campaign=campaign)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)


def test_consent_and_suppression_are_checked_when_each_message_goes_out(launched, smtp):
    campaign, customers = launched(4)
    Customer.objects.filter(pk=customers[1].pk).update(consent_status=ConsentStatus.WITHDRAWN)
    Suppression.objects.create(address=customers[2].email, reason=SuppressionReason.COMPLAINED)
    result = services.send_batch(campaign_id=campaign.pk)
    assert (result.sent, result.skipped) == (2, 2)
    assert set(smtp.recipients()) == {customers[0].email, customers[3].email}
    assert statuses(campaign)[customers[1].email] == DeliveryStatus.SKIPPED


def test_only_messages_that_went_out_keep_a_frequency_cap_slot(launched, smtp):
    campaign, customers = launched(4)
    Customer.objects.filter(pk=customers[1].pk).update(consent_status=ConsentStatus.WITHDRAWN)
    # The batch takes the slots of all four, then claims them one by one.
    result = services.send_batch(campaign_id=campaign.pk)
    assert (result.sent, result.skipped) == (3, 1)
    holders = set(CapSlot.objects.values_list("delivery__address", flat=True))
    assert holders == {customers[k].email for k in (0, 2, 3)}


def test_a_batch_records_every_message_it_sent(launched, smtp):
    campaign, _ = launched(5)
    # Each message's "sent" is written with the next claim; the last one's as it ends.
    assert services.send_batch(campaign_id=campaign.pk).sent == 5
    assert set(statuses(campaign).values()) == {DeliveryStatus.SENT}
    assert not Delivery.objects.filter(sent_at__isnull=True).exists()


def test_the_same_batch_twice_sends_nothing_twice(launched, smtp):
    campaign, _ = launched(5)
    ids = list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True)[:3])
    assert services.send_batch(campaign_id=campaign.pk, delivery_ids=ids).sent == 3
    assert services.send_batch(campaign_id=campaign.pk, delivery_ids=ids).claimed == 0
    assert sum(smtp.recipients().values()) == 3


def test_pause_stops_and_resume_continues(launched, smtp):
    campaign, _ = launched(4)
    services.send_batch(campaign_id=campaign.pk, limit=1)
    services.pause_campaign(campaign=campaign)
    assert services.send_batch(campaign_id=campaign.pk).claimed == 0
    services.resume_campaign(campaign=campaign)
    services.send_batch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and sum(smtp.recipients().values()) == 4


def test_cancel_mid_send_stops_for_good(launched, smtp):
    campaign, _ = launched(4)
    services.send_batch(campaign_id=campaign.pk, limit=1)
    services.cancel_campaign(campaign=campaign)
    assert services.send_batch(campaign_id=campaign.pk).claimed == 0
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert sorted(statuses(campaign).values()) == [DeliveryStatus.CANCELLED] * 3 + [
        DeliveryStatus.SENT]
    assert sum(smtp.recipients().values()) == 1


def test_sent_only_when_nothing_is_pending(launched, smtp):
    campaign, _ = launched(3)
    services.send_batch(campaign_id=campaign.pk, limit=2)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    services.send_batch(campaign_id=campaign.pk, limit=2)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.finished_at is not None


def test_without_a_broker_a_launch_sends_everything_in_process(
    make_segment, smtp, settings, django_capture_on_commit_callbacks,
):
    settings.RULECAST_CAMPAIGNS = {"BATCH_SIZE": 7}
    campaign = make_campaign([make_segment(make_customers(30))])
    with django_capture_on_commit_callbacks(execute=True):
        services.launch_campaign(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert len(smtp.recipients()) == 30 and set(smtp.recipients().values()) == {1}


def test_a_lost_send_becomes_unknown_and_waits_for_a_person(launched, smtp):
    campaign, customers = launched(2)
    lost = Delivery.objects.get(campaign=campaign, address=customers[0].email)
    Delivery.objects.filter(pk=lost.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now() - timedelta(hours=1),
    )
    # The next batch ends the lapsed lease itself (no watchdog needed) and finishes.
    services.send_batch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    lost.refresh_from_db()
    assert lost.status == DeliveryStatus.UNKNOWN and set(smtp.recipients()) == {customers[1].email}

    assert services.resend_unknown(delivery_ids=[lost.pk]) == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    services.send_batch(campaign_id=campaign.pk)
    lost.refresh_from_db()
    assert lost.status == DeliveryStatus.SENT


def test_send_test_goes_to_the_test_address_only(launched, smtp):
    campaign, customers = launched(2, test_address="me@shop.example.com")
    services.send_test(campaign=campaign)
    assert smtp.recipients() == {"me@shop.example.com": 1}
    [message] = smtp.messages_to("me@shop.example.com")
    assert message["Subject"] == f"[Test] Hi {customers[0].name}"
    assert message["List-Unsubscribe"]
    assert not Delivery.objects.filter(status=DeliveryStatus.SENT).exists()


@pytest.mark.parametrize(("error", "expected"), [
    (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no")}), Failure.PERMANENT),
    (smtplib.SMTPRecipientsRefused({"a@x": (452, b"full")}), Failure.RECIPIENT),
    (smtplib.SMTPRecipientsRefused({"a@x": (421, b"busy")}), Failure.SERVER),
    (smtplib.SMTPDataError(554, b"spam"), Failure.PERMANENT),
    (smtplib.SMTPDataError(451, b"later"), Failure.RECIPIENT),
    (smtplib.SMTPSenderRefused(421, b"bye", "f@x"), Failure.SERVER),
    (smtplib.SMTPServerDisconnected("gone"), Failure.SERVER),
    (smtplib.SMTPConnectError(554, b"no"), Failure.SERVER),
    (ConnectionRefusedError(), Failure.SERVER),
    (ValueError("odd"), Failure.PERMANENT),
])
def test_smtp_errors_are_classified(error, expected):
    assert classify(error) is expected


def dead_batch() -> uuid.UUID:
    """The token of a batch whose worker died (its marker is there: no database crash)."""
    token = uuid.uuid4()
    BatchMarker.objects.create(token=token, created_at=timezone.now())
    return token


def test_a_dead_batch_reservation_goes_back_to_pending(launched, smtp):
    campaign, _ = launched(3)
    lease = timedelta(seconds=campaigns_settings.SENDING_TIMEOUT)
    held = Delivery.objects.filter(campaign=campaign)
    held.update(status=DeliveryStatus.RESERVED, claim_token=dead_batch(),
                claimed_at=timezone.now() - lease + timedelta(seconds=20))
    assert services.send_batch(campaign_id=campaign.pk).claimed == 0  # the lease still holds
    assert services.recover_campaigns().released == 0
    held.update(claimed_at=timezone.now() - lease - timedelta(seconds=1))  # not renewed
    assert services.recover_campaigns().released == 3
    services.send_batch(campaign_id=campaign.pk)
    assert set(statuses(campaign).values()) == {DeliveryStatus.SENT}
    assert sum(smtp.recipients().values()) == 3


def test_the_next_batch_ends_a_lapsed_lease_itself(launched, smtp):
    campaign, _ = launched(3)
    lease = timedelta(seconds=campaigns_settings.SENDING_TIMEOUT)
    Delivery.objects.filter(campaign=campaign).update(
        status=DeliveryStatus.RESERVED, claim_token=dead_batch(),
        claimed_at=timezone.now() - lease - timedelta(seconds=1))
    assert services.send_batch(campaign_id=campaign.pk).sent == 3
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_rate_limited_batch_stops_and_continues_later(launched, smtp, settings):
    settings.CELERY_BROKER_URL = ""  # the in-process limiter
    campaign, _ = launched(5, rate_limit=2)  # a burst of 1, then one every 30 s
    result = services.send_batch(campaign_id=campaign.pk)
    assert result.sent == 1 and 29 < result.continue_in <= 30
    assert list(statuses(campaign).values()).count(DeliveryStatus.PENDING) == 4
    # The four given back unattempted give back the cap slots the batch took for them.
    assert CapSlot.objects.count() == 1
