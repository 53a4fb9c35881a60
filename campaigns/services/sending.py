"""Sending a batch: reserve deliveries, claim them a few at a time, send, record.

The state changes and why they are safe are in ``claims``; this module renders,
talks SMTP over one connection per batch, honours the rate limit and the frequency
cap and sorts SMTP failures: permanent ones fail that delivery, transient ones
retry it with backoff, and the rest of the batch goes on (or, when the server
itself is failing, stops and continues later).

Per message a batch makes one database round trip, committed without waiting for
the disk (``claims``, "Durability": the batch's reservation is the durable commit)
and overlapping the SMTP envelope: the statement that claims it also records the
previous message as sent. The frequency cap's slots are taken for the whole batch
at its start, the templates are compiled and the MIME skeleton is built once per
batch.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.utils import timezone

from .. import rendering, tokens
from ..automation import abtest, frequency
from ..conf import campaigns_settings
from ..models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Link
from ..ratelimit import get_rate_limiter
from . import claims
from .dispatch import continue_campaign, finish_if_done

logger = logging.getLogger(__name__)

# Waits for a rate-limit slot up to this long inside a batch; longer ends the batch
# and continues it later with a countdown, so no worker sleeps for minutes.
MAX_INLINE_WAIT = 1.0


class NotClaimed(Enum):
    NOT_CLAIMED = "not claimed"  # the claim refused it (skipped, stopped): not sent


NOT_CLAIMED = NotClaimed.NOT_CLAIMED


class Failure(Enum):
    PERMANENT = "permanent"  # 5xx for this message: the delivery fails
    RECIPIENT = "recipient"  # 4xx for this recipient: retry it, the batch goes on
    SERVER = "server"  # connection lost, 421, cannot connect: retry it, end the batch


def classify(error: Exception) -> Failure:
    """How an exception from the SMTP backend is handled."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        if 421 in codes:
            return Failure.SERVER
        if codes and all(400 <= code < 500 for code in codes):
            return Failure.RECIPIENT
        return Failure.PERMANENT
    server_errors = (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError,
                     smtplib.SMTPConnectError, smtplib.SMTPHeloError)
    if isinstance(error, server_errors):
        return Failure.SERVER  # the server or our configuration, not this recipient
    if isinstance(error, smtplib.SMTPResponseException):
        if error.smtp_code == 421:
            return Failure.SERVER
        return Failure.RECIPIENT if 400 <= error.smtp_code < 500 else Failure.PERMANENT
    if isinstance(error, smtplib.SMTPServerDisconnected | OSError):
        return Failure.SERVER
    return Failure.PERMANENT


def smtp_envelope(smtp: smtplib.SMTP, sender: str, recipient: str, *, size: int) -> None:
    """MAIL FROM and RCPT TO, as ``smtplib.SMTP.sendmail`` sends and checks them."""
    smtp.ehlo_or_helo_if_needed()
    options = [f"size={size}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    code, response = smtp.mail(sender, options)
    if code != 250:
        smtp.close() if code == 421 else smtp._rset()
        raise smtplib.SMTPSenderRefused(code, response, sender)
    code, response = smtp.rcpt(recipient)
    if code not in (250, 251):
        smtp.close() if code == 421 else smtp._rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, response)})


def smtp_data(smtp: smtplib.SMTP, message: bytes) -> None:
    """DATA, the rest of ``sendmail``: the message is sent when the server answers 250."""
    code, response = smtp.data(message)
    if code != 250:
        smtp.close() if code == 421 else smtp._rset()
        raise smtplib.SMTPDataError(code, response)


def retry_delay(attempts: int) -> float:
    """Backoff before attempt ``attempts + 1``: RETRY_BACKOFF doubled per attempt, capped."""
    base = float(campaigns_settings.RETRY_BACKOFF)
    return min(base * 2 ** max(attempts - 1, 0), float(campaigns_settings.RETRY_BACKOFF_MAX))


@dataclass
class BatchResult:
    """What one batch did, and when the campaign should continue."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    continue_in: float | None = None  # seconds, when the batch ended early (rate, server)


def _retry_or_fail(
    delivery: Delivery, token: uuid.UUID, error: Exception, now: datetime,
) -> tuple[bool, float]:
    """Put a transiently failed delivery back with backoff; fail it after MAX_ATTEMPTS."""
    text = f"{type(error).__name__}: {error}"[:2000]
    attempts = delivery.attempts + 1  # counted by the claim
    if attempts >= campaigns_settings.MAX_ATTEMPTS:
        claims.finish(delivery, token, DeliveryStatus.FAILED, last_error=text)
        return False, 0.0
    delay = retry_delay(attempts)
    claims.finish(delivery, token, DeliveryStatus.PENDING, last_error=text, claim_token=None,
                  next_attempt_at=now + timedelta(seconds=delay))
    return True, delay


class _Batch:
    """One batch: the compiled campaign, one SMTP connection, a running result."""

    def __init__(self, campaign: Campaign, token: uuid.UUID, deliveries: list[Delivery]) -> None:
        self.campaign = campaign
        self.token = token
        links = dict(Link.objects.filter(campaign=campaign).values_list("url", "pk"))
        segments = {segment.pk: segment for segment in campaign.segments.all()}
        self.compiled = rendering.compile_campaign(campaign, links=links, segments=segments)
        self.features = rendering.features_of(
            [d.customer_id for d in deliveries if d.customer_id],
            abtest.features_needed(self.compiled, deliveries), now=timezone.now(),
        )
        self.claims = claims.GroupClaims(campaign.pk, token, size=campaigns_settings.CLAIM_SIZE,
                                         domain=self.compiled.message_id_domain)
        self.urls = tokens.UrlMaker()
        self.connection = get_connection(fail_silently=False)
        # Django's SMTP backend sends message().as_bytes(): assemble those bytes from a
        # skeleton (see mime). Other backends (anymail, locmem) get ordinary messages.
        self.skeleton = None
        if isinstance(self.connection, SMTPBackend):
            self.skeleton = rendering.skeleton_for(self.compiled)
            self.envelope_from = sanitize_address(self.compiled.from_email,
                                                  settings.DEFAULT_CHARSET)
        self.variants = abtest.compile_variants(  # A/B variants in this batch, if any
            campaign, deliveries, links=links, segments=segments,
            skeletons=self.skeleton is not None)
        self.is_open = False
        self.result = BatchResult()
        self.unrecorded: list[int] = []  # sent, not yet marked so (with the next claim)

    def start_claim(self, ids: list[int]) -> Callable[[], claims.Claimed]:
        """Claim ``ids`` (sent now, read when called), recording the previous group's sent
        messages in the same commit."""
        sent, self.unrecorded = self.unrecorded, []
        return self.claims.start(ids, sent=sent)

    def record_sent(self) -> None:
        """Mark the messages sent since the last claim as sent (the batch ends)."""
        sent, self.unrecorded = self.unrecorded, []
        self.claims.mark_sent(sent)

    def send_group(self, group: list[Delivery],
                   claim: Callable[[], claims.Claimed]) -> Failure | None:
        """Send the claimed deliveries of ``group`` one by one; SERVER when it stopped early.

        ``claim`` is the group's claim, perhaps still travelling: each message waits
        for it only just before its content goes out. The sent ones are marked so by
        the next claim, or by ``record_sent``.
        """
        stopped_at = None
        for position, delivery in enumerate(group):
            outcome = self.send(delivery, claim)
            if outcome is None:
                self.unrecorded.append(delivery.pk)
                self.result.sent += 1
            elif outcome is NOT_CLAIMED and claim().stopped:
                break
            elif outcome is Failure.SERVER:
                stopped_at = position + 1
                break
        if stopped_at is not None:
            self.record_sent()
            claims.unclaim(self.token, [d.pk for d in group[stopped_at:]])
            return Failure.SERVER
        return None

    def send(self, delivery: Delivery,
             claim: Callable[[], claims.Claimed]) -> Failure | None | NotClaimed:
        """Render and send one delivery if ``claim`` claimed it; None when it went out.

        Over SMTP the envelope (MAIL FROM, RCPT TO: two round trips) is opened while
        the claim travels; the message goes out (DATA) only once the claim is known to
        be committed, so a message is never sent unclaimed: a client gone before the
        end of DATA sends nothing.
        """
        compiled, skeleton = self.variants.get(delivery.variant_id, (self.compiled, self.skeleton))
        urls = self.urls.for_delivery(delivery.pk, campaign_id=delivery.campaign_id,
                                       customer_id=delivery.customer_id)
        message_id = claims.message_id_of(delivery, token=self.token,
                                          domain=compiled.message_id_domain)
        try:
            rendered = rendering.render(
                compiled, customer=delivery.customer, address=delivery.address,
                segment=compiled.segments.get(delivery.segment_id),
                features=self.features.get(delivery.customer_id), urls=urls,
            )
            message = rendering.build_message(
                compiled, rendered, address=delivery.address, message_id=message_id,
                unsubscribe_url=urls.unsubscribe, connection=self.connection,
                skeleton=skeleton,
            )
        except Exception as error:  # noqa: BLE001 — a template that fails for this customer
            logger.exception("campaign %s: cannot render delivery %s", compiled.campaign_id,
                             delivery.pk)
            if delivery.pk not in claim().ids:
                return NOT_CLAIMED
            claims.finish(delivery, self.token, DeliveryStatus.FAILED,
                          last_error=f"render: {error}"[:2000])
            self.result.failed += 1
            return Failure.PERMANENT
        if message.prebuilt is None and delivery.pk not in claim().ids:
            return NOT_CLAIMED
        try:
            if not self.is_open:
                # Opened once and reused: send_messages() on a closed backend would
                # open and close a connection for every message.
                self.connection.open()
                self.is_open = True
            if message.prebuilt is not None:
                # Bytes assembled from the skeleton: what send_messages() would do with
                # the open SMTP session, minus rebuilding the message, in two halves.
                smtp = self.connection.connection
                smtp_envelope(smtp, self.envelope_from, delivery.address,
                              size=len(message.prebuilt))
                if delivery.pk not in claim().ids:
                    self._reset()
                    return NOT_CLAIMED
                smtp_data(smtp, message.prebuilt)
            else:
                self.connection.send_messages([message])
        except Exception as error:  # noqa: BLE001 — classified below
            if delivery.pk not in claim().ids:
                self.close()  # the envelope's state is unknown
                return NOT_CLAIMED
            return self._failed(delivery, error)
        provider_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
        if provider_id:  # an ESP backend (anymail): keep the provider's id for its webhooks
            Delivery.objects.filter(pk=delivery.pk).update(message_id=str(provider_id)[:255])
        return None

    def _reset(self) -> None:
        """End an open envelope without sending (RSET); close the connection if that fails."""
        try:
            self.connection.connection.rset()
        except Exception:  # noqa: BLE001 — reopened for the next message
            self.close()

    def _failed(self, delivery: Delivery, error: Exception) -> Failure:
        failure = classify(error)
        self.close()  # the connection's state is unknown: reopen for the next message
        if failure is Failure.PERMANENT:
            claims.finish(delivery, self.token, DeliveryStatus.FAILED,
                          last_error=f"{error}"[:2000])
            self.result.failed += 1
            return failure
        retried, delay = _retry_or_fail(delivery, self.token, error, timezone.now())
        if retried:
            self.result.retried += 1
            if failure is Failure.SERVER:
                self.result.continue_in = delay
        else:
            self.result.failed += 1
        return failure

    def close(self) -> None:
        self.is_open = False
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 — closing a broken connection
            logger.debug("error closing SMTP connection", exc_info=True)


def _take_slots(campaign: Campaign, wanted: int) -> tuple[int, float]:
    """Rate-limit slots for up to ``wanted`` messages: (granted, seconds to wait for more).

    Waits of up to MAX_INLINE_WAIT are slept here; a longer one ends the grant.
    """
    if not campaign.rate_limit:
        return wanted, 0.0
    limiter = get_rate_limiter()
    granted = 0
    while granted < wanted:
        wait = limiter.acquire(f"campaign:{campaign.pk}", campaign.rate_limit)
        if wait <= 0:
            granted += 1
        elif wait > MAX_INLINE_WAIT:
            return granted, wait
        else:
            time.sleep(wait)
    return granted, 0.0


def send_batch(
    *, campaign_id: int, delivery_ids: Sequence[int] | None = None, limit: int | None = None,
) -> BatchResult:
    """Send up to ``limit`` due deliveries of a sending campaign over one SMTP connection.

    With ``delivery_ids`` only those are considered and the batch does not continue
    itself; otherwise the campaign continues (another batch, a countdown, or done).
    """
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return BatchResult()
    limit = limit or campaigns_settings.BATCH_SIZE
    with claims.durable_commits():
        now = timezone.now()
        Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=now)
        # The next batch goes on where a dead worker's stopped (its lease lapsed).
        claims.expire(campaign_id=campaign_id,
                      before=now - timedelta(seconds=float(campaigns_settings.SENDING_TIMEOUT)))
        token, deliveries = claims.reserve(campaign_id, limit=limit, only_ids=delivery_ids)
        result = _send_reserved(campaign, token, deliveries) if deliveries else BatchResult()
    if delivery_ids is None:
        continue_campaign(campaign_id=campaign_id, continue_in=result.continue_in,
                          full=len(deliveries) >= limit)
    else:
        finish_if_done(campaign_id=campaign_id)
    return result


def _send_reserved(campaign: Campaign, token: uuid.UUID, reserved: list[Delivery]) -> BatchResult:
    """Claim and send a batch's reservations, CLAIM_SIZE at a time; give back the rest."""
    batch = _Batch(campaign, token, reserved)
    admitted = frequency.Admitted([])
    claimed_ids: set[int] = set()
    try:
        # The per-customer daily cap, for the whole batch at once.
        admitted = frequency.admit(token=token, deliveries=reserved)
        with claims.asynchronous_attempts():
            _send_admitted(campaign, batch, admitted.deliveries, claimed_ids)
    finally:
        batch.close()
        batch.record_sent()
        claims.release(campaign.pk, token)
        # Slots of messages that did not go out: skipped at the claim, or never claimed.
        frequency.give_back(admitted, {d.pk for d in admitted.deliveries} - claimed_ids)
    return batch.result


def _send_admitted(campaign: Campaign, batch: _Batch, deliveries: list[Delivery],
                   claimed_ids: set[int]) -> None:
    """The batch's loop: claim a group, send it; until done, stopped or out of time.

    Adds what it claimed to ``claimed_ids``.
    """
    result = batch.result
    size = campaigns_settings.CLAIM_SIZE
    # A batch lasts a few leases at most, then hands over to the next task.
    deadline = time.monotonic() + 2 * float(campaigns_settings.SENDING_TIMEOUT)
    renewal = float(campaigns_settings.LEASE_RENEWAL)
    renewed = time.monotonic()
    for start in range(0, len(deliveries), size):
        if time.monotonic() - renewed >= renewal:
            claims.renew(batch.token)  # the heartbeat: this worker is alive
            renewed = time.monotonic()
        group = deliveries[start:start + size]
        granted, wait = _take_slots(campaign, len(group))
        if time.monotonic() > deadline:
            result.continue_in = 0.0
            return
        if granted:
            group = group[:granted]
            claim = batch.start_claim([d.pk for d in group])
            try:
                outcome = batch.send_group(group, claim)
            finally:
                claimed = claim()  # read before the connection does anything else
            claimed_ids |= claimed.ids
            result.claimed += len(claimed.ids)
            result.skipped += claimed.skipped
            if claimed.stopped:
                return
            if outcome is Failure.SERVER:
                return  # the server is failing: continue_in was set
        if wait:
            result.continue_in = wait
            return
