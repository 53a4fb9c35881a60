"""Triggered campaigns and the frequency cap, in-process with eager tasks and a fake clock.

A customer's new order makes them enter a live segment (the real refresh path:
post_save -> refresh task -> MembershipChange -> ``membership_changed`` -> the trigger
task), and the messages go through the real sending code to Django's locmem outbox.
The real worker and SMTP server are exercised in test_automation_worker.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from campaigns import services
from campaigns.automation import triggers
from campaigns.automation.models import EntryStatus, SkipReason, Trigger, TriggerEntry
from campaigns.models import Delivery, DeliveryStatus
from crm.models import Order
from segmentation.membership import refresh_customers
from segmentation.rules import Rule
from segmentation.services import save_manual_segment
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday morning, the shop's time
REPEAT = {"version": 1, "any": [{"all": [{"feature": "frequency", "op": ">=", "value": 2}]}]}


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def run_hooks(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (refresh, trigger and send tasks, eagerly) of a block."""
    def block():
        return django_capture_on_commit_callbacks(execute=True)
    return block


def order(customer, when: datetime) -> Order:
    return Order.objects.create(customer=customer, amount=Decimal("50"),
                                placed_at=when - timedelta(hours=1))


@pytest.fixture
def repeat_buyers(clock, run_hooks):
    """A live hand-written segment (two orders or more) and a customer with one order."""
    with run_hooks():  # committed: later blocks' changes get refresh batches of their own
        customers = make_customers(3)
        for customer in customers:
            order(customer, T0 - timedelta(days=30))
    segment = save_manual_segment(name="Repeat buyers", rule=Rule.from_dict(REPEAT))
    assert segment.members().count() == 0
    return segment, customers


def triggered(segment, *, delay_days=3, reentry_days=None, include_current=False, **fields):
    campaign = make_campaign([segment], **{"name": "Welcome back", **fields})
    Trigger.objects.create(campaign=campaign, delay_days=delay_days, reentry_days=reentry_days,
                           include_current_members=include_current)
    return campaign


def enter(customer, run_hooks):
    """A new order: the customer enters the segment through the live refresh."""
    with run_hooks():
        order(customer, datetime.now(tz=SHANGHAI))


def leave(customer, run_hooks):
    """Orders deleted: the next refresh takes the customer out of the segment."""
    Order.objects.filter(customer=customer).exclude(
        pk=Order.objects.filter(customer=customer).order_by("pk").values("pk")[:1]).delete()
    with run_hooks():
        refresh_customers(customer_ids=[customer.pk])


def tick(run_hooks):
    with run_hooks():
        triggers.run_triggers()


def sent_to(address: str) -> int:
    return sum(address in message.to for message in mail.outbox)


def test_one_email_after_the_delay_and_none_before(repeat_buyers, clock, run_hooks):
    segment, (customer, *_others) = repeat_buyers
    campaign = triggered(segment, delay_days=3)
    triggers.activate_trigger(campaign=campaign)

    enter(customer, run_hooks)
    (entry,) = TriggerEntry.objects.filter(campaign=campaign)
    assert entry.customer_id == customer.pk and entry.status == EntryStatus.WAITING
    assert entry.due_at == T0 + timedelta(days=3)
    clock.move_to(T0 + timedelta(days=2, hours=23))
    tick(run_hooks)
    assert mail.outbox == []

    clock.move_to(T0 + timedelta(days=3, minutes=1))
    tick(run_hooks)
    assert sent_to(customer.email) == 1
    clock.move_to(T0 + timedelta(days=4))
    tick(run_hooks)
    assert sent_to(customer.email) == 1
    entry.refresh_from_db()
    assert entry.status == EntryStatus.QUEUED and entry.delivery.status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1


def test_leaving_before_the_delay_sends_nothing(repeat_buyers, clock, run_hooks):
    segment, (customer, *_others) = repeat_buyers
    campaign = triggered(segment, delay_days=3)
    triggers.activate_trigger(campaign=campaign)
    enter(customer, run_hooks)

    clock.move_to(T0 + timedelta(days=1))
    leave(customer, run_hooks)
    clock.move_to(T0 + timedelta(days=4))
    tick(run_hooks)

    assert mail.outbox == []
    (entry,) = TriggerEntry.objects.filter(campaign=campaign)
    assert (entry.status, entry.reason) == (EntryStatus.SKIPPED, SkipReason.LEFT)


def test_no_consent_when_due_sends_nothing(repeat_buyers, clock, run_hooks):
    segment, (customer, *_others) = repeat_buyers
    campaign = triggered(segment, delay_days=1)
    triggers.activate_trigger(campaign=campaign)
    enter(customer, run_hooks)
    type(customer).objects.filter(pk=customer.pk).update(consent_status="withdrawn")

    clock.move_to(T0 + timedelta(days=2))
    tick(run_hooks)
    assert mail.outbox == []
    assert TriggerEntry.objects.get(campaign=campaign).reason == SkipReason.NOT_CONTACTABLE


def test_a_re_entry_does_not_send_again(repeat_buyers, clock, run_hooks):
    segment, (customer, *_others) = repeat_buyers
    campaign = triggered(segment, delay_days=0)
    triggers.activate_trigger(campaign=campaign)
    enter(customer, run_hooks)
    assert sent_to(customer.email) == 1

    clock.move_to(T0 + timedelta(days=5))
    leave(customer, run_hooks)
    clock.move_to(T0 + timedelta(days=6))
    enter(customer, run_hooks)
    tick(run_hooks)

    assert sent_to(customer.email) == 1
    reasons = list(TriggerEntry.objects.filter(campaign=campaign).order_by("pk")
                   .values_list("status", "reason"))
    assert reasons == [(EntryStatus.QUEUED, ""), (EntryStatus.SKIPPED, SkipReason.ALREADY_SENT)]


def test_a_re_entry_after_the_period_sends_again_when_allowed(repeat_buyers, clock, run_hooks):
    segment, (customer, *_others) = repeat_buyers
    campaign = triggered(segment, delay_days=0, reentry_days=30)
    triggers.activate_trigger(campaign=campaign)
    enter(customer, run_hooks)

    for day in (5, 40):  # inside the period: no; after it: yes
        clock.move_to(T0 + timedelta(days=day))
        leave(customer, run_hooks)
        clock.move_to(T0 + timedelta(days=day + 1))
        enter(customer, run_hooks)

    assert sent_to(customer.email) == 2
    sequences = sorted(Delivery.objects.filter(campaign=campaign).values_list("sequence",
                                                                             flat=True))
    assert sequences == [1, 2]


def test_current_members_only_when_asked(repeat_buyers, clock, run_hooks):
    segment, (first, second, third) = repeat_buyers
    enter(first, run_hooks)
    enter(second, run_hooks)  # both already members before activation
    quiet = triggered(segment, delay_days=0, name="Quiet")
    asked = triggered(segment, delay_days=0, include_current=True, name="Asked")
    with run_hooks():
        triggers.activate_trigger(campaign=quiet)
        triggers.activate_trigger(campaign=asked)

    subjects = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert [to for to, _subject in subjects] == [first.email, second.email]
    assert not Delivery.objects.filter(campaign=quiet).exists()


def test_the_cap_holds_and_the_capped_triggered_email_goes_out_next_day(
    repeat_buyers, clock, run_hooks,
):
    segment, (customer, *_others) = repeat_buyers
    enter(customer, run_hooks)  # a member, so a one-off to the segment reaches them
    campaign = triggered(segment, delay_days=0)
    with run_hooks():
        triggers.activate_trigger(campaign=campaign)
        one_off = make_campaign([segment], name="Spring sale", subject="Sale")
        services.launch_campaign(campaign=one_off)
    assert sent_to(customer.email) == 1  # the one-off

    leave(customer, run_hooks)
    enter(customer, run_hooks)  # enters the triggered campaign's segment the same day
    assert sent_to(customer.email) == 1, "two messages in one day"
    delivery = Delivery.objects.get(campaign=campaign)
    assert delivery.status == DeliveryStatus.PENDING and "frequency cap" in delivery.last_error
    assert delivery.next_attempt_at == datetime(2026, 3, 3, tzinfo=SHANGHAI)

    clock.move_to(datetime(2026, 3, 2, 23, 59, tzinfo=SHANGHAI))
    tick(run_hooks)
    assert sent_to(customer.email) == 1
    clock.move_to(datetime(2026, 3, 3, 0, 1, tzinfo=SHANGHAI))
    tick(run_hooks)
    assert sent_to(customer.email) == 2
    assert Delivery.objects.get(campaign=campaign).status == DeliveryStatus.SENT


def test_a_capped_one_off_waits_for_the_next_day(repeat_buyers, clock, run_hooks):
    segment, (customer, *_others) = repeat_buyers
    enter(customer, run_hooks)
    campaign = triggered(segment, delay_days=0, include_current=True)
    with run_hooks():
        triggers.activate_trigger(campaign=campaign)  # the triggered email goes first
        one_off = make_campaign([segment], name="Spring sale", subject="Sale")
        services.launch_campaign(campaign=one_off)
    assert sent_to(customer.email) == 1
    assert Delivery.objects.get(campaign=one_off).status == DeliveryStatus.PENDING

    clock.move_to(datetime(2026, 3, 3, 0, 5, tzinfo=SHANGHAI))
    with run_hooks():
        services.recover_campaigns()  # the watchdog restarts the waiting campaign
    assert sent_to(customer.email) == 2
    one_off.refresh_from_db()
    assert one_off.status == "sent"


def test_a_paused_trigger_keeps_entries_waiting(repeat_buyers, clock, run_hooks):
    segment, (customer, *_others) = repeat_buyers
    campaign = triggered(segment, delay_days=0)
    triggers.activate_trigger(campaign=campaign)
    services.pause_campaign(campaign=campaign)
    enter(customer, run_hooks)
    assert mail.outbox == []
    assert TriggerEntry.objects.get(campaign=campaign).status == EntryStatus.WAITING
    with run_hooks():
        services.resume_campaign(campaign=campaign)
        triggers.run_triggers()
    assert sent_to(customer.email) == 1


def test_the_tick_records_entries_a_lost_task_missed(repeat_buyers, clock, run_hooks):
    from segmentation.models import MembershipChange, SegmentMembership

    segment, (customer, *_others) = repeat_buyers
    campaign = triggered(segment, delay_days=0)
    triggers.activate_trigger(campaign=campaign)
    # Written without the signal (as if the task that handles it was lost).
    SegmentMembership.objects.create(segment=segment, customer=customer)
    MembershipChange.objects.create(segment=segment, customer=customer, direction="entered",
                                    at=T0)
    assert mail.outbox == []
    tick(run_hooks)
    tick(run_hooks)
    assert sent_to(customer.email) == 1
    assert TriggerEntry.objects.filter(campaign=campaign).count() == 1


def test_cancelling_skips_what_waits(repeat_buyers, clock, run_hooks):
    segment, (customer, *_others) = repeat_buyers
    campaign = triggered(segment, delay_days=2)
    triggers.activate_trigger(campaign=campaign)
    enter(customer, run_hooks)
    services.cancel_campaign(campaign=campaign)
    clock.move_to(T0 + timedelta(days=3))
    tick(run_hooks)
    assert mail.outbox == []
    assert TriggerEntry.objects.get(campaign=campaign).reason == SkipReason.STOPPED
