"""Automation with a real Celery worker (2 processes, Redis) and a real SMTP server."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.automation import abtest, triggers
from campaigns.automation.models import ABOutcome, ABTest, Trigger, TriggerEntry, Variant
from campaigns.conf import campaigns_settings
from campaigns.models import Delivery, DeliveryStatus, Link
from campaigns.tokens import make_token
from crm.models import Order
from segmentation.membership import refresh_customers
from segmentation.rules import Rule
from segmentation.services import save_manual_segment
from tests.campaigns.conftest import make_campaign, make_customers
from tests.campaigns.test_worker import kill_machine, sent, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.smtp, pytest.mark.redis]

REPEAT = {"version": 1, "any": [{"all": [{"feature": "frequency", "op": ">=", "value": 2}]}]}


def one_order_each(customers, days_ago: float) -> None:
    now = timezone.now()
    Order.objects.bulk_create([
        Order(customer=c, amount=Decimal("40"), placed_at=now - timezone.timedelta(days=days_ago))
        for c in customers
    ], batch_size=2000)


def settled(campaign) -> bool:
    """No delivery of the campaign is waiting or in flight."""
    return not Delivery.objects.filter(
        campaign=campaign,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RESERVED, DeliveryStatus.SENDING],
    ).exists()


def test_a_worker_killed_while_a_triggered_batch_sends_leaves_no_duplicate(mail_worker, smtp):
    customers = make_customers(400)
    one_order_each(customers, days_ago=20)
    refresh_customers(customer_ids=[c.pk for c in customers])
    segment = save_manual_segment(name="Repeat buyers", rule=Rule.from_dict(REPEAT))
    campaign = make_campaign([segment], name="Thanks for coming back")
    Trigger.objects.create(campaign=campaign, delay_days=0)
    triggers.activate_trigger(campaign=campaign)

    smtp.delay = 0.01  # slow enough to kill it mid-send
    one_order_each(customers, days_ago=1)
    refresh_customers(customer_ids=[c.pk for c in customers])  # 400 enter at once
    wait_until(lambda: smtp.count() >= 80, what="the first triggered messages")

    kill_machine(mail_worker)
    in_flight = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENDING).count()
    report = services.recover_campaigns(sending_timeout=timezone.timedelta(0),
                                        stall_timeout=timezone.timedelta(0))
    assert report.unknown == in_flight and report.restarted == [campaign.pk]
    mail_worker.start()
    triggers.run_triggers()  # the tick, as beat would run it: nothing new to record
    wait_until(lambda: settled(campaign), what="the triggered sends to finish")

    received = smtp.recipients()
    outcome = dict(Delivery.objects.filter(campaign=campaign).values_list("address", "status"))
    assert TriggerEntry.objects.filter(campaign=campaign).count() == 400
    assert len(outcome) == 400, "one delivery per entry"
    assert set(received.values()) == {1}, "an address got two messages"
    assert set(outcome.values()) <= {DeliveryStatus.SENT, DeliveryStatus.UNKNOWN}
    assert {a for a, s in outcome.items() if s == DeliveryStatus.SENT} <= set(received)
    assert len([s for s in outcome.values() if s == DeliveryStatus.UNKNOWN]) == in_flight
    assert in_flight <= 2 * campaigns_settings.CLAIM_SIZE


def test_an_ab_test_to_1000_recipients_sends_one_variant_each_and_b_wins(
    mail_worker, smtp, make_segment,
):
    campaign = make_campaign([make_segment(make_customers(1000))])
    ABTest.objects.create(campaign=campaign, test_percent=20, wait_hours=1)
    for label in "AB":
        Variant.objects.create(campaign=campaign, label=label,
                               subject=f"{label}: spring sale for {{{{ name }}}}")
    services.launch_campaign(campaign=campaign)
    tested = Delivery.objects.filter(campaign=campaign, variant__isnull=False)
    wait_until(lambda: not tested.exclude(status=DeliveryStatus.SENT).exists(),
               what="the test share to be sent")
    assert smtp.count() == 200
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.HELD).count() == 800

    test_share = set(tested.values_list("address", flat=True))
    link = Link.objects.filter(campaign=campaign).first()
    for label, clicks in (("A", 5), ("B", 30)):
        for delivery in tested.filter(variant__label=label).order_by("pk")[:clicks]:
            services.record_click(link_id=link.pk, token=make_token(delivery.pk))
    test = abtest.decide_test(test=ABTest.objects.get(campaign=campaign))
    assert (test.outcome, test.winner.label) == (ABOutcome.WINNER, "B")
    assert test.counts == {"A": {"sent": 100, "hits": 5}, "B": {"sent": 100, "hits": 30}}
    assert test.p_value < 0.001
    wait_until(lambda: sent(campaign), what="the remainder to be sent")

    received = smtp.recipients()
    assert len(received) == 1000 and set(received.values()) == {1}
    variant_of = dict(Delivery.objects.filter(campaign=campaign)
                      .values_list("address", "variant__label"))
    seen = Counter()
    for item in smtp.received:
        (address,) = item.recipients
        label = item.message["Subject"].split(":")[0]
        assert label == variant_of[address]
        seen["test" if address in test_share else "rest", label] += 1
    assert seen == {("test", "A"): 100, ("test", "B"): 100, ("rest", "B"): 800}
