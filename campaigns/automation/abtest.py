"""A/B tests: variants tried on a random share of a campaign's recipients, then the winner.

At launch (``start_test``, called by ``launch_campaign`` once recipients are frozen)
the deliveries are shuffled with a recorded seed; the first ``test_percent`` of them
are dealt round-robin to the variants (an even split), and the rest are ``held``.
After ``wait_hours`` the periodic tick (``decide_due_tests``) counts, per variant,
messages sent and unique clicks (or opens), names the leader, tests it against the
runner-up (two-proportion z-test) and releases the held deliveries with the
winning variant. When a variant has fewer than AB_MIN_SENDS sends, or the
difference is not significant at AB_ALPHA, the decision says so and the user's
fallback rule picks the variant.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import rendering
from ..conf import campaigns_settings
from ..models import Campaign, CampaignStatus, Delivery, DeliveryStatus, TrackingEvent
from ..services.dispatch import enqueue_batches
from .models import ABFallback, ABOutcome, ABTest, Variant
from .stats import Arm, decide

UPDATE_CHUNK = 10_000
MIN_VARIANTS, MAX_VARIANTS = 2, 5


def test_of(campaign: Campaign) -> ABTest | None:
    """The campaign's A/B test when it has one and at least two variants."""
    test = ABTest.objects.filter(campaign=campaign).first()
    if test is None or campaign.variants.count() < 2:
        return None
    return test


def start_test(*, campaign: Campaign, now: datetime) -> int:
    """Deal the test share of the frozen deliveries to the variants; hold the rest.

    Returns how many deliveries go out now (all of them without a test).
    """
    test = ABTest.objects.filter(campaign=campaign).first()
    if test is None:
        return Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.PENDING).count()
    count = campaign.variants.count()
    if not MIN_VARIANTS <= count <= MAX_VARIANTS:
        from ..services.lifecycle import CampaignError

        raise CampaignError(_("An A/B test needs 2 to 5 variants; this campaign has %(count)d.")
                            % {"count": count})
    from .triggers import ensure_links

    ensure_links(campaign)
    variants = list(campaign.variants.order_by("label", "pk"))
    seed = test.seed if test.seed is not None else secrets.randbelow(2**31)
    ids = np.array(Delivery.objects.filter(campaign=campaign).order_by("pk")
                   .values_list("pk", flat=True), dtype=np.int64)
    shuffled = np.random.default_rng(seed).permutation(ids)
    size = min(len(ids), max(math.ceil(len(ids) * test.test_percent / 100),
                             min(len(variants), len(ids))))
    chosen = shuffled[:size]
    for position, variant in enumerate(variants):
        mine = chosen[position::len(variants)].tolist()
        for start in range(0, len(mine), UPDATE_CHUNK):
            Delivery.objects.filter(pk__in=mine[start:start + UPDATE_CHUNK]).update(
                variant=variant)
    Delivery.objects.filter(campaign=campaign, variant__isnull=True,
                            status=DeliveryStatus.PENDING).update(status=DeliveryStatus.HELD)
    ABTest.objects.filter(pk=test.pk).update(
        seed=seed, test_size=size, decide_at=now + timedelta(hours=test.wait_hours),
        decided_at=None, outcome="", p_value=None, winner=None, counts={},
    )
    return size


def variant_counts(campaign: Campaign, metric: str) -> dict[int, tuple[int, int]]:
    """Per variant id: (messages sent, unique deliveries with a ``metric`` event)."""
    rows = (
        Delivery.objects.filter(campaign=campaign, variant__isnull=False).order_by()
        .values("variant")
        .annotate(
            sent=Count("pk", filter=Q(status=DeliveryStatus.SENT)),
            hits=Count("pk", filter=Q(status=DeliveryStatus.SENT) & Q(Exists(
                TrackingEvent.objects.filter(delivery=OuterRef("pk"), kind=metric)))),
        )
    )
    return {row["variant"]: (row["sent"], row["hits"]) for row in rows}


@transaction.atomic
def decide_test(*, test: ABTest, now: datetime | None = None) -> ABTest:
    """Name the winner, record the counts and p-value, send the held deliveries with it."""
    now = now or timezone.now()
    test = ABTest.objects.select_for_update().select_related("campaign").get(pk=test.pk)
    if test.decided_at is not None:
        return test
    campaign = test.campaign
    variants = list(campaign.variants.order_by("label", "pk"))
    counts = variant_counts(campaign, test.metric)
    arms = [Arm(v.pk, *counts.get(v.pk, (0, 0))) for v in variants]
    decision = decide(arms, min_sends=campaigns_settings.AB_MIN_SENDS)
    if not decision.enough:
        outcome = ABOutcome.TOO_FEW
    elif decision.p_value < campaigns_settings.AB_ALPHA:
        outcome = ABOutcome.WINNER
    else:
        outcome = ABOutcome.NOT_SIGNIFICANT
    winner_id = decision.leader
    if outcome != ABOutcome.WINNER and test.fallback == ABFallback.FIRST:
        winner_id = variants[0].pk
    labels = {v.pk: v.label for v in variants}
    test.outcome, test.p_value, test.decided_at = outcome, decision.p_value, now
    test.winner_id = winner_id
    test.counts = {labels[arm.key]: {"sent": arm.sent, "hits": arm.hits} for arm in arms}
    test.save(update_fields=["outcome", "p_value", "decided_at", "winner", "counts"])
    held = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.HELD)
    released = held.update(variant_id=winner_id, status=DeliveryStatus.PENDING,
                           next_attempt_at=now)
    if released and campaign.status == CampaignStatus.SENDING:
        enqueue_batches(campaign_id=campaign.pk, count=min(
            campaigns_settings.PARALLEL_BATCHES,
            math.ceil(released / campaigns_settings.BATCH_SIZE)))
    elif not released:
        from ..services.dispatch import finish_if_done

        finish_if_done(campaign_id=campaign.pk)
    return test


def decide_due_tests(*, now: datetime | None = None) -> list[int]:
    """The periodic tick: decide every sending campaign's test whose wait is over."""
    now = now or timezone.now()
    due = ABTest.objects.filter(decided_at__isnull=True, decide_at__lte=now,
                                campaign__status=CampaignStatus.SENDING)
    return [decide_test(test=test, now=now).campaign_id for test in due]


# --- rendering each variant (sending calls this) -------------------------------------------


def compile_variants(campaign: Campaign, deliveries, *, links, segments,
                     skeletons: bool) -> dict[int, tuple]:
    """{variant id: (compiled campaign, skeleton or None)} for the variants in ``deliveries``."""
    wanted = {d.variant_id for d in deliveries if d.variant_id}
    compiled = {}
    for variant in Variant.objects.filter(pk__in=wanted):
        version = Campaign(
            pk=campaign.pk, name=campaign.name, from_email=campaign.from_email,
            reply_to=campaign.reply_to, subject=variant.subject or campaign.subject,
            html_body=variant.html_body or campaign.html_body,
            text_body=variant.text_body or campaign.text_body,
        )
        one = rendering.compile_campaign(version, links=links, segments=segments)
        compiled[variant.pk] = (one, rendering.skeleton_for(one) if skeletons else None)
    return compiled


def features_needed(compiled, deliveries) -> tuple[str, ...]:
    """Feature names the campaign's templates and those of the batch's variants use."""
    names = dict.fromkeys(compiled.features)
    wanted = {d.variant_id for d in deliveries if d.variant_id}
    for variant in Variant.objects.filter(pk__in=wanted):
        names.update(dict.fromkeys(rendering.feature_names(
            variant.subject, variant.html_body, variant.text_body)))
    return tuple(names)
