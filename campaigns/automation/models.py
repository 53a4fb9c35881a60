"""Models of the automation: triggers and their queue, A/B tests and variants, send counts."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Trigger(models.Model):
    """Makes a campaign an automation: a customer who enters a target segment gets it once."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="trigger",
        verbose_name=_("campaign"),
    )
    delay_days = models.PositiveSmallIntegerField(
        _("delay (days)"), default=0,
        help_text=_("Days after entering the segment; the customer must still be in it and "
                    "still consent then."),
    )
    reentry_days = models.PositiveSmallIntegerField(
        _("send again after (days)"), null=True, blank=True,
        help_text=_("Empty: a customer gets this email once, ever. A number: a customer who "
                    "re-enters at least that many days after the last one gets it again."),
    )
    include_current_members = models.BooleanField(
        _("also send to current members"), default=False,
        help_text=_("On activation, treat everyone already in the segment as entering now."),
    )
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("send on segment entry")
        verbose_name_plural = _("sends on segment entry")

    def __str__(self) -> str:
        return str(_("On entry: %(campaign)s") % {"campaign": self.campaign})


class EntryStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    QUEUED = "queued", _("Handed to sending")
    SKIPPED = "skipped", _("Skipped")


class SkipReason(models.TextChoices):
    LEFT = "left_segment", _("Left the segment before the email was due")
    EXCLUDED = "excluded", _("In an excluded segment when due")
    NOT_CONTACTABLE = "not_contactable", _("No consent, unsubscribed or no address when due")
    SUPPRESSED = "suppressed", _("Address on the suppression list")
    ALREADY_SENT = "already_sent", _("Already received this email")
    STOPPED = "stopped", _("The campaign was cancelled")


class TriggerEntry(models.Model):
    """One customer's entry into a triggered campaign's segment: the automation's queue."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="trigger_entries",
        verbose_name=_("campaign"), db_index=False,  # trigger_entry_due_idx serves
    )
    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"),
    )
    segment = models.ForeignKey(
        "segmentation.Segment", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("segment entered"),
    )
    change = models.ForeignKey(
        "segmentation.MembershipChange", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("membership change"), db_index=False,
    )
    entered_at = models.DateTimeField(_("entered"))
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=16, choices=EntryStatus.choices, default=EntryStatus.WAITING,
    )
    reason = models.CharField(
        _("why skipped"), max_length=32, choices=SkipReason.choices, blank=True,
    )
    delivery = models.OneToOneField(
        "campaigns.Delivery", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="trigger_entry", verbose_name=_("delivery"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("automation queue entry")
        verbose_name_plural = _("automation queue")
        ordering = ["-entered_at", "-id"]
        constraints = [
            # A membership change starts at most one entry per campaign.
            models.UniqueConstraint(fields=["campaign", "change"],
                                    condition=Q(change__isnull=False),
                                    name="campaigns_trigger_entry_once"),
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "due_at"], name="trigger_entry_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.campaign_id} ({self.status})"


class ABMetric(models.TextChoices):
    CLICK = "click", _("Unique click rate")
    OPEN = "open", _("Unique open rate")


class ABFallback(models.TextChoices):
    FIRST = "first", _("Send the first variant (the control)")
    LEADER = "leader", _("Send the variant ahead, even if not significantly")


class ABOutcome(models.TextChoices):
    WINNER = "winner", _("A significant winner")
    NOT_SIGNIFICANT = "not_significant", _("No significant difference: chosen by your rule")
    TOO_FEW = "too_few", _("Too few sends to tell: chosen by your rule")


class ABTest(models.Model):
    """An A/B test of a one-off campaign's variants on a random share of its recipients."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="ab_test",
        verbose_name=_("campaign"),
    )
    test_percent = models.PositiveSmallIntegerField(
        _("test share (%)"), default=20, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Share of recipients split evenly and at random between the variants; "
                    "the rest get the winner."),
    )
    metric = models.CharField(_("winner by"), max_length=8, choices=ABMetric.choices,
                              default=ABMetric.CLICK)
    wait_hours = models.PositiveSmallIntegerField(
        _("wait (hours)"), default=24, help_text=_("How long after launch the winner is chosen."),
    )
    fallback = models.CharField(
        _("when the test cannot tell"), max_length=8, choices=ABFallback.choices,
        default=ABFallback.FIRST,
    )
    seed = models.PositiveIntegerField(_("random seed"), null=True, blank=True, editable=False)
    test_size = models.PositiveIntegerField(_("test recipients"), default=0, editable=False)
    decide_at = models.DateTimeField(_("decision due"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    outcome = models.CharField(_("outcome"), max_length=16, choices=ABOutcome.choices,
                               blank=True, editable=False)
    p_value = models.FloatField(_("p-value"), null=True, blank=True, editable=False)
    winner = models.ForeignKey(
        "campaigns.Variant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("winner"), editable=False,
    )
    counts = models.JSONField(
        _("counts at the decision"), default=dict, blank=True, editable=False,
    )

    class Meta:
        verbose_name = _("A/B test")
        verbose_name_plural = _("A/B tests")

    def __str__(self) -> str:
        return str(_("A/B test of %(campaign)s") % {"campaign": self.campaign})


class Variant(models.Model):
    """One version of a campaign in an A/B test; an empty field uses the campaign's."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="variants",
        verbose_name=_("campaign"),
    )
    label = models.CharField(_("label"), max_length=20, help_text=_("e.g. A, B"))
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    html_body = models.TextField(_("HTML body"), blank=True)
    text_body = models.TextField(_("plain-text body"), blank=True)

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["campaign", "label", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="campaigns_variant_label"),
        ]

    def __str__(self) -> str:
        return self.label


class CapSlot(models.Model):
    """One of a customer's FREQUENCY_CAP message slots on one day, held by one delivery.

    Unique per (customer, day, slot) -- so two workers cannot take the same slot --
    and per (delivery, day) -- so a retried message keeps the slot it took.
    """

    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.CASCADE, related_name="+", db_index=False,
    )
    day = models.DateField()
    slot = models.PositiveSmallIntegerField()
    delivery = models.ForeignKey(
        "campaigns.Delivery", on_delete=models.CASCADE, related_name="+", db_index=False,
    )

    class Meta:
        verbose_name = _("frequency cap slot")
        verbose_name_plural = _("frequency cap slots")
        constraints = [
            models.UniqueConstraint(fields=["customer", "day", "slot"],
                                    name="campaigns_capslot_customer_day"),
            models.UniqueConstraint(fields=["delivery", "day"],
                                    name="campaigns_capslot_delivery_day"),
        ]
        indexes = [models.Index(fields=["day"], name="campaigns_capslot_day_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day} #{self.slot}: {self.delivery_id}"
