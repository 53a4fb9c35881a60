"""Fixtures of the campaigns tests: a real SMTP server, published segments, a mail worker."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from campaigns.models import Campaign
from crm.models import ConsentStatus, Customer
from segmentation.models import (
    RunStatus,
    Segment,
    Segmentation,
    SegmentationRun,
    SegmentMembership,
)
from tests.campaigns import worker_settings

HTML = (
    "<html><body><h1>Hello {{ name }}</h1>"
    '<p>You are in {{ segment.name }}. <a href="https://shop.example.com/sale?a=1&amp;b=2">Sale</a>'
    ' <a href="https://shop.example.com/new">New</a></p></body></html>'
)
TEXT = "Hello {{ name }}, you are in {{ segment.name }}. https://shop.example.com/sale"


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    recipients: tuple[str, ...]
    data: bytes
    at: float  # time.monotonic() when accepted

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


class RecordingHandler:
    """An aiosmtpd handler that keeps what it accepts and can be told to refuse.

    ``transient_for(seconds)`` answers ``421`` to every RCPT for a while (smtplib
    then drops the connection); ``reject`` answers ``550`` for given recipients;
    ``delay`` slows each DATA down (to kill a worker mid-campaign).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.received: list[Received] = []
            self.reject: set[str] = set()
            self.transient_until = 0.0
            self.transient_answers = 0
            self.delay = 0.0

    def transient_for(self, seconds: float) -> None:
        self.transient_until = time.monotonic() + seconds

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if time.monotonic() < self.transient_until:
            with self.lock:
                self.transient_answers += 1
            return "421 4.3.2 Service busy, try again later"
        if address.lower() in self.reject:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                                          envelope.original_content, time.monotonic()))
        return "250 2.0.0 Accepted"

    # --- what the tests ask ---

    def recipients(self) -> Counter:
        with self.lock:
            return Counter(rcpt.lower() for item in self.received for rcpt in item.recipients)

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def times(self) -> list[float]:
        with self.lock:
            return [item.at for item in self.received]

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [item.message for item in self.received if address in item.recipients]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)

    def __getattr__(self, name):
        return getattr(self.handler, name)


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer()
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    """The SMTP server, emptied, and Django's SMTP backend pointed at it."""
    smtp_server.handler.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


# --- customers and published segments ------------------------------------------------------


def make_customers(count: int, *, start: int = 0, prefix: str = "c", **fields) -> list[Customer]:
    """Contactable customers ``<prefix><n>@example.com`` made in bulk."""
    defaults = {"consent_status": ConsentStatus.GRANTED}
    customers = Customer.objects.bulk_create([
        Customer(email=f"{prefix}{n}@example.com", name=f"Customer {n}", **{**defaults, **fields})
        for n in range(start, start + count)
    ], batch_size=1000)
    if customers and customers[0].pk is None:
        emails = [customer.email for customer in customers]
        customers = list(Customer.objects.filter(email__in=emails).order_by("pk"))
    return customers


class SegmentMaker:
    """Segments of one published run, with memberships written directly."""

    def __init__(self) -> None:
        segmentation = Segmentation.objects.create(name=f"test-{id(self)}")
        self.run = SegmentationRun.objects.create(
            segmentation=segmentation, status=RunStatus.SUCCEEDED, is_published=True,
        )
        self.count = 0

    def __call__(self, customers, name: str | None = None) -> Segment:
        segment = Segment.objects.create(
            run=self.run, index=self.count, name=name or f"Segment {self.count}",
            rule={"version": 1, "clauses": []}, size=len(customers),
        )
        self.count += 1
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=segment, customer=customer) for customer in customers],
            batch_size=2000,
        )
        return segment


@pytest.fixture
def make_segment(db) -> SegmentMaker:
    return SegmentMaker()


@pytest.fixture
def draft_run_segment(db) -> Segment:
    """A segment of a run nobody published."""
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="draft"), status=RunStatus.SUCCEEDED,
    )
    return Segment.objects.create(run=run, index=0, name="Unpublished", rule={})


def make_campaign(segments, *, excluded=(), **fields) -> Campaign:
    values = {
        "name": "Spring sale", "subject": "Hi {{ name }}", "html_body": HTML, "text_body": TEXT,
        "from_email": "Shop <news@shop.example.com>", "reply_to": "help@shop.example.com",
    }
    campaign = Campaign.objects.create(**{**values, **fields})
    campaign.segments.set(segments)
    campaign.excluded_segments.set(excluded)
    return campaign


# --- a real worker that sends to the SMTP server --------------------------------------------


@pytest.fixture
def mail_worker(redis_url, django_db_setup, django_db_blocker, transactional_db, smtp, settings):
    """A real Celery worker (2 processes) sending to ``smtp`` with worker_settings."""
    from tests.conftest import running_worker

    settings.RULECAST_CAMPAIGNS = worker_settings.RULECAST_CAMPAIGNS
    yield from running_worker(redis_url, extra_env={
        "DJANGO_SETTINGS_MODULE": "tests.campaigns.worker_settings",
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp.host, "EMAIL_PORT": str(smtp.port),
    })
