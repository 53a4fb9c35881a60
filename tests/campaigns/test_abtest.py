"""A/B tests in-process: the seeded split, the decision rules, the two-proportion test."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from campaigns import services
from campaigns.automation import abtest
from campaigns.automation.models import ABFallback, ABOutcome, ABTest, Variant
from campaigns.automation.stats import Arm, decide, two_proportion_p_value
from campaigns.models import Delivery, DeliveryStatus, EventKind, TrackingEvent
from tests.campaigns.conftest import make_campaign, make_customers


def test_two_proportion_p_value_matches_the_textbook():
    # 30/100 against 15/100: pooled 0.225, z = 2.540, two-sided p = 0.0111
    assert two_proportion_p_value(30, 100, 15, 100) == pytest.approx(0.0111, abs=1e-4)
    assert two_proportion_p_value(5, 100, 5, 100) == pytest.approx(1.0)
    assert two_proportion_p_value(0, 0, 3, 10) == 1.0


def test_decide_ranks_and_corrects_for_more_variants():
    arms = [Arm(1, 100, 15), Arm(2, 100, 30)]
    two = decide(arms, min_sends=50)
    assert (two.leader, two.enough) == (2, True) and two.p_value < 0.05
    three = decide([*arms, Arm(3, 100, 10)], min_sends=50)
    assert three.p_value == pytest.approx(2 * two.p_value)
    assert not decide(arms, min_sends=101).enough


def ab_campaign(make_segment, count, *, percent=20, fallback=ABFallback.FIRST, seed=None,
                prefix="c"):
    campaign = make_campaign([make_segment(make_customers(count, prefix=prefix))])
    ABTest.objects.create(campaign=campaign, test_percent=percent, wait_hours=4,
                          fallback=fallback, seed=seed)
    Variant.objects.create(campaign=campaign, label="A", subject="Variant A {{ name }}")
    Variant.objects.create(campaign=campaign, label="B", subject="Variant B {{ name }}")
    return campaign


@pytest.mark.django_db
def test_the_split_is_even_random_seeded_and_recorded(make_segment):
    campaign = ab_campaign(make_segment, 1000, seed=None)
    services.launch_campaign(campaign=campaign)
    test = ABTest.objects.get(campaign=campaign)
    assert test.seed is not None and test.test_size == 200
    counts = {label: Delivery.objects.filter(campaign=campaign, variant__label=label).count()
              for label in "AB"}
    assert counts == {"A": 100, "B": 100}
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.HELD).count() == 800
    def ranks_in_test(of):
        ids = list(Delivery.objects.filter(campaign=of).order_by("pk")
                   .values_list("pk", "variant__label"))
        return {rank: label for rank, (_pk, label) in enumerate(ids) if label}

    chosen = ranks_in_test(campaign)
    assert set(chosen) != set(range(200)), "the test share is random, not the first ids"
    again = ab_campaign(make_segment, 1000, seed=test.seed, prefix="again")
    services.launch_campaign(campaign=again)
    assert ranks_in_test(again) == chosen, "the same seed deals the same split"


@pytest.mark.django_db
def test_ten_recipients_cannot_tell_and_the_users_rule_picks(make_segment,
                                                             django_capture_on_commit_callbacks):
    campaign = ab_campaign(make_segment, 10, fallback=ABFallback.FIRST)
    with django_capture_on_commit_callbacks(execute=True):
        services.launch_campaign(campaign=campaign)
    assert len(mail.outbox) == 2  # one per variant
    b_delivery = Delivery.objects.get(campaign=campaign, variant__label="B")
    TrackingEvent.objects.create(delivery=b_delivery, kind=EventKind.CLICK,
                                 occurred_at=timezone.now())

    assert abtest.decide_due_tests() == []  # the wait is not over
    with time_machine.travel(timezone.now() + timedelta(hours=5), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert abtest.decide_due_tests() == [campaign.pk]

    test = ABTest.objects.get(campaign=campaign)
    assert test.outcome == ABOutcome.TOO_FEW
    assert test.winner.label == "A", "B is ahead, but the rule says: the first variant"
    assert test.counts == {"A": {"sent": 1, "hits": 0}, "B": {"sent": 1, "hits": 1}}
    assert len(mail.outbox) == 10
    subjects = [m.subject.split()[1] for m in mail.outbox[2:]]
    assert subjects == ["A"] * 8
    campaign.refresh_from_db()
    assert campaign.status == "sent"


@pytest.mark.django_db
def test_the_leader_rule_sends_the_variant_ahead(make_segment,
                                                 django_capture_on_commit_callbacks):
    campaign = ab_campaign(make_segment, 10, fallback=ABFallback.LEADER)
    with django_capture_on_commit_callbacks(execute=True):
        services.launch_campaign(campaign=campaign)
    TrackingEvent.objects.create(delivery=Delivery.objects.get(campaign=campaign,
                                                               variant__label="B"),
                                 kind=EventKind.CLICK, occurred_at=timezone.now())
    test = abtest.decide_test(test=ABTest.objects.get(campaign=campaign))
    assert (test.outcome, test.winner.label) == (ABOutcome.TOO_FEW, "B")
    assert Delivery.objects.filter(campaign=campaign, variant__label="B").count() == 9


@pytest.mark.django_db
def test_cancelling_cancels_the_held_deliveries(make_segment):
    campaign = ab_campaign(make_segment, 50)
    services.launch_campaign(campaign=campaign)
    services.cancel_campaign(campaign=campaign)
    assert not Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.HELD).exists()


@pytest.mark.django_db
def test_a_test_needs_two_to_five_variants(make_segment):
    campaign = ab_campaign(make_segment, 10)
    Variant.objects.filter(campaign=campaign, label="B").delete()
    with pytest.raises(services.CampaignError, match="2 to 5 variants"):
        services.launch_campaign(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == "draft" and not Delivery.objects.filter(campaign=campaign).exists()
