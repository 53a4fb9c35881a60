"""Asynchronous attempt records, made safe by a crash marker (services.claims, "Durability").

A database crash is emulated, not caused (other jobs share the server): crash recovery
empties the unlogged marker table and loses the last asynchronous commits, so the test
deletes the batch's marker and puts the batch's rows back as they were at the
reservation (the worst case: every claim and "sent" record since lost).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from campaigns import services
from campaigns.models import BatchMarker, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import claims
from campaigns.services.sending import _Batch
from tests.campaigns.conftest import make_campaign, make_customers

# Outside a test transaction, as a worker runs: claims travel while the envelope opens.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.smtp]


def emulate_crash(token: uuid.UUID) -> int:
    """What crash recovery leaves of a batch: no marker, its claims and "sent" lost."""
    BatchMarker.objects.filter(token=token).delete()
    return Delivery.objects.filter(
        claim_token=token, status__in=[DeliveryStatus.SENDING, DeliveryStatus.SENT],
    ).update(status=DeliveryStatus.RESERVED, sent_at=None, message_id="",
             attempts=0)


def statuses(campaign) -> dict[str, str]:
    return dict(Delivery.objects.filter(campaign=campaign).values_list("address", "status"))


@pytest.fixture
def campaign(make_segment, smtp, monkeypatch):
    for module in ("lifecycle", "dispatch"):  # batches run when the test says
        monkeypatch.setattr(f"campaigns.services.{module}.enqueue_batches", lambda **kw: None)
    campaign = make_campaign([make_segment(make_customers(6))])
    services.launch_campaign(campaign=campaign)
    return campaign


def crash_after(monkeypatch, sent: int) -> dict:
    """The database "crashes" once the batch has sent ``sent`` messages; the batch goes on."""
    seen: dict = {"sent": 0}
    send = _Batch.send

    def sending(batch, delivery, claim):
        outcome = send(batch, delivery, claim)
        seen["sent"] += outcome is None
        if seen["sent"] == sent and "token" not in seen:
            seen["token"] = batch.token
            seen["lost"] = emulate_crash(batch.token)
        return outcome

    monkeypatch.setattr(_Batch, "send", sending)
    return seen


def test_a_database_crash_mid_batch_sends_nothing_twice(campaign, smtp, monkeypatch):
    addresses = list(Delivery.objects.filter(campaign=campaign).order_by("pk")
                     .values_list("address", flat=True))  # the order batches take them
    crash = crash_after(monkeypatch, sent=3)

    result = services.send_batch(campaign_id=campaign.pk, limit=4)

    # The batch stops at its next claim: its marker is gone. What it reserved stays
    # reserved (not given back: a lost claim looks like no claim).
    assert crash["lost"] == 3 and result.sent == 3
    assert set(smtp.recipients()) == set(addresses[:3])
    in_doubt = Delivery.objects.filter(claim_token=crash["token"])
    assert set(in_doubt.values_list("status", flat=True)) == {DeliveryStatus.RESERVED}

    # Once the lease lapses the watchdog cannot tell sent from never attempted: unknown.
    report = services.recover_campaigns(now=timezone.now() + timedelta(minutes=5))
    assert (report.released, report.unknown) == (0, 4)
    assert "database restarted" in in_doubt.first().last_error

    services.send_batch(campaign_id=campaign.pk)  # the rest of the campaign
    outcome = statuses(campaign)
    assert [outcome[address] for address in addresses] == (
        [DeliveryStatus.UNKNOWN] * 4 + [DeliveryStatus.SENT] * 2)
    assert set(smtp.recipients().values()) == {1}  # nobody twice
    assert set(smtp.recipients()) == set(addresses[:3] + addresses[4:])
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_dead_worker_with_the_database_alive_is_known_exactly(campaign):
    """Asynchronous records are visible at once: only the one in flight is unknown."""
    token, reserved = claims.reserve(campaign.pk, limit=5)
    assert BatchMarker.objects.filter(token=token).exists()
    group = claims.GroupClaims(campaign.pk, token, domain="example.com", size=1)
    first, second, in_flight = (d.pk for d in reserved[:3])
    group.claim([first])
    group.claim([second], sent=[first])
    group.claim([in_flight], sent=[second])  # then the worker is killed

    report = services.recover_campaigns(now=timezone.now() + timedelta(minutes=5))

    assert (report.released, report.unknown) == (2, 1)
    outcome = dict(Delivery.objects.filter(pk__in=[d.pk for d in reserved])
                   .values_list("pk", "status"))
    assert outcome.pop(in_flight) == DeliveryStatus.UNKNOWN
    assert outcome == {first: DeliveryStatus.SENT, second: DeliveryStatus.SENT,
                       reserved[3].pk: DeliveryStatus.PENDING,
                       reserved[4].pk: DeliveryStatus.PENDING}
    assert not BatchMarker.objects.exists()  # nothing of the batch left in flight


def test_a_batch_gives_back_only_while_its_marker_is_there(campaign):
    token, reserved = claims.reserve(campaign.pk, limit=2)
    BatchMarker.objects.filter(token=token).delete()  # a crash
    assert claims.release(campaign.pk, token) == 0
    other, _ = claims.reserve(campaign.pk, limit=2)
    assert claims.release(campaign.pk, other) == 2
    assert not BatchMarker.objects.filter(token=other).exists()


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_claims_do_not_wait_for_the_disk_but_the_reservation_does(
    postgres, campaign, monkeypatch,
):
    seen: dict[str, set[str]] = {"reserve": set(), "send": set()}
    create = BatchMarker.objects.create
    send = _Batch.send

    def marking(**fields):
        seen["reserve"].add(synchronous_commit())  # inside the reservation's transaction
        return create(**fields)

    def sending(batch, delivery, claim):
        outcome = send(batch, delivery, claim)  # then the claim has been read
        seen["send"].add(synchronous_commit())
        return outcome

    monkeypatch.setattr(BatchMarker.objects, "create", marking)
    monkeypatch.setattr(_Batch, "send", sending)
    with connection.cursor() as cursor:  # as on a server configured not to wait
        cursor.execute("SET synchronous_commit TO off")
    try:
        claims.reserve(campaign.pk, limit=1)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
    assert seen["reserve"] == {"on"}  # the reservation waits all the same

    assert services.send_batch(campaign_id=campaign.pk).sent == 5
    assert seen == {"reserve": {"on"}, "send": {"off"}}


def test_the_marker_table_is_emptied_by_crash_recovery(postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s",
                       [BatchMarker._meta.db_table])
        assert cursor.fetchone() == ("u",)  # UNLOGGED
