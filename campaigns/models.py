"""Campaigns, their deliveries, tracked links and events, and the suppression list."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

#: What the admin offers as targets: segments of published runs, and hand-written ones
#: (as ``Segment.objects.targetable()``; a string-free Q so the app needs no import).
TARGETABLE_SEGMENTS = Q(run__is_published=True) | Q(kind="manual")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(models.Model):
    """An email to the members of one or more published segments, sent once."""

    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(
        _("subject"), max_length=255, help_text=_("A Django template, e.g. Hello {{ name }}."),
    )
    html_body = models.TextField(
        _("HTML body"),
        help_text=_("A Django template. Context: customer, name, segment, features.<name>, "
                    "unsubscribe_url. An unsubscribe link is added when the body has none; "
                    "http(s) links are tracked."),
    )
    text_body = models.TextField(_("plain-text body"), help_text=_("A Django template."))
    from_email = models.CharField(
        _("from"), max_length=254, blank=True,
        help_text=_("e.g. news@example.com, or a name with the address in angle brackets; "
                    "empty: DEFAULT_FROM_EMAIL."),
    )
    reply_to = models.EmailField(_("reply-to"), blank=True)
    segments = models.ManyToManyField(
        "segmentation.Segment", related_name="campaigns", verbose_name=_("target segments"),
        limit_choices_to=TARGETABLE_SEGMENTS,
    )
    excluded_segments = models.ManyToManyField(
        "segmentation.Segment", related_name="excluding_campaigns", blank=True,
        verbose_name=_("excluded segments"), limit_choices_to=TARGETABLE_SEGMENTS,
    )
    scheduled_at = models.DateTimeField(
        _("scheduled time"), null=True, blank=True,
        help_text=_("Launch then (celery beat); empty: launch when asked."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT,
    )
    rate_limit = models.PositiveIntegerField(
        _("rate limit"), null=True, blank=True,
        help_text=_("Messages per minute over all workers; empty: no limit."),
    )
    test_address = models.EmailField(
        _("test address"), blank=True, help_text=_("Where 'send a test' sends."),
    )
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0, editable=False)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(
        _("last send activity"), null=True, blank=True, editable=False,
    )
    archived_at = models.DateTimeField(
        _("archived"), null=True, blank=True, editable=False,
        help_text=_("Hidden from lists; its emails' links, unsubscribe and statistics keep "
                    "working. A campaign that has sent anything is archived, never deleted."),
    )
    # When this campaign's watchdog task is due (one at a time; see services.dispatch).
    watchdog_at = models.DateTimeField(_("watchdog due"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="campaign_status_sched_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.status in {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED}

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RESERVED = "reserved", _("Reserved by a batch (not yet attempted)")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown (worker lost mid-send)")
    SKIPPED = "skipped", _("Skipped (no consent, unsubscribed or suppressed)")
    CANCELLED = "cancelled", _("Cancelled")
    HELD = "held", _("Held for the A/B test's winner")


class Delivery(models.Model):
    """One message of a campaign to one address: claimed, sent at most once."""

    # Indexed by campaigns_dlv_claim_idx (campaign, status, id), not on its own: one index
    # for the planner to pick, even before statistics exist.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("campaign"),
        db_index=False,
    )
    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.SET_NULL, null=True, related_name="deliveries",
        verbose_name=_("customer"),
    )
    segment = models.ForeignKey(
        "segmentation.Segment", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("segment"),
        help_text=_("The first target segment the customer was in at launch."),
    )
    address = models.EmailField(_("address"), max_length=254, help_text=_("As sent, normalised."))
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        help_text=_("Unknown: a worker died after claiming it, so it may or may not have gone "
                    "out; it is never re-sent unless a person chooses to."),
    )
    message_id = models.CharField(_("message id"), max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    # The batch that reserved or is sending it, and when (its lease).
    claim_token = models.UUIDField(_("claim"), null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    # Automation (campaigns.automation): the A/B variant sent, and for a triggered
    # campaign which send to this address it is (a re-entry mails the address again).
    variant = models.ForeignKey(
        "campaigns.Variant", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="deliveries", verbose_name=_("variant"),
    )
    sequence = models.PositiveSmallIntegerField(
        _("send number"), default=0, db_default=0, editable=False,
        help_text=_("0 for a one-off campaign; 1, 2, ... for a triggered campaign's sends "
                    "to this address."),
    )

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "address", "sequence"],
                name="campaigns_delivery_campaign_address_seq",
            ),
        ]
        indexes = [
            # The claim: the next pending delivery of a campaign, by id.
            models.Index(fields=["campaign", "status", "id"], name="campaigns_dlv_claim_idx"),
            # Only the few deliveries in flight (the watchdog's query).
            models.Index(fields=["claimed_at"], condition=Q(status__in=["reserved", "sending"]),
                         name="campaigns_dlv_inflight_idx"),
            models.Index(fields=["address", "sent_at"], name="campaigns_dlv_address_idx"),
            models.Index(fields=["message_id"], name="campaigns_dlv_msgid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.get_status_display()})"


class Link(models.Model):
    """A destination URL found in a campaign's HTML; clicks redirect only to it."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="links", verbose_name=_("campaign"),
        db_index=False,  # the (campaign, url) constraint's index serves
    )
    url = models.URLField(_("destination URL"), max_length=2000)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("link")
        verbose_name_plural = _("links")
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "url"], name="campaigns_link_campaign_url"),
        ]

    def __str__(self) -> str:
        return self.url


class EventKind(models.TextChoices):
    OPEN = "open", _("Open")
    CLICK = "click", _("Click")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe")


class TrackingEvent(models.Model):
    """An open, a click or an unsubscribe from one delivered message."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="events", verbose_name=_("delivery"),
        db_index=False,  # campaigns_event_dlv_kind_idx serves
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    link = models.ForeignKey(
        Link, on_delete=models.CASCADE, null=True, blank=True, related_name="clicks",
        verbose_name=_("link"),
    )
    occurred_at = models.DateTimeField(_("time"))
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery"], condition=Q(kind="unsubscribe"),
                name="campaigns_event_one_unsubscribe",
            ),
        ]
        indexes = [models.Index(fields=["delivery", "kind"], name="campaigns_event_dlv_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.delivery_id}"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    HARD_BOUNCED = "hard_bounced", _("Hard bounce")
    COMPLAINED = "complained", _("Spam complaint")
    SOFT_BOUNCED = "soft_bounced", _("Repeated soft bounces")
    MANUAL = "manual", _("Added by hand")


class Suppression(models.Model):
    """An address no campaign may send to; checked at launch and before every message."""

    address = models.EmailField(_("address"), max_length=254, unique=True)
    reason = models.CharField(_("reason"), max_length=16, choices=SuppressionReason.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppression list")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.address} ({self.get_reason_display()})"

    def save(self, *args, **kwargs) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)


class ProviderEvent(models.Model):
    """A bounce, complaint or other event an email provider reported (anymail webhooks).

    Stored once per (provider, event id), so a replayed webhook is processed once.
    """

    esp_name = models.CharField(_("provider"), max_length=50)
    event_id = models.CharField(_("event id"), max_length=255)
    event_type = models.CharField(_("type"), max_length=32)
    recipient = models.EmailField(_("recipient"), max_length=254, blank=True)
    message_id = models.CharField(_("message id"), max_length=255, blank=True)
    delivery = models.ForeignKey(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="provider_events", verbose_name=_("delivery"),
    )
    is_soft_bounce = models.BooleanField(_("soft bounce"), default=False)
    description = models.TextField(_("description"), blank=True)
    occurred_at = models.DateTimeField(_("time"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("provider event")
        verbose_name_plural = _("provider events")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["esp_name", "event_id"], name="campaigns_provider_event_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "is_soft_bounce"], name="campaigns_pev_recipient_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.esp_name} {self.event_type} {self.recipient}"


from .automation.models import (  # noqa: E402,F401  (models of the automation)
    ABTest,
    CapSlot,
    Trigger,
    TriggerEntry,
    Variant,
)


class BatchMarker(models.Model):
    """A send batch's crash marker, one row per reservation (see services.claims).

    On PostgreSQL the table is UNLOGGED (migration 0006): crash recovery empties it,
    a clean restart keeps it. A batch records each attempt with an asynchronous
    commit, which a database crash may lose; a lapsed batch whose marker is gone
    may have lost such records, so none of its unconfirmed deliveries is sent again.
    """

    token = models.UUIDField(primary_key=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return str(self.token)
