"""The privacy records: consent history, pending sign-ups, erased addresses, the audit.

Imported by ``crm.models`` so Django finds them as crm models. None of them holds
personal data beyond what the shop must show (whose consent changed, an address
awaiting confirmation); erased addresses are kept only as keyed hashes.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import ConsentStatus


class ConsentSource(models.TextChoices):
    IMPORT = "import", _("Import")
    API = "api", _("API")
    ADMIN = "admin", _("Admin")
    SIGNUP_FORM = "signup_form", _("Signup form (double opt-in)")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe")
    COMPLAINT = "complaint", _("Spam complaint")
    ERASURE = "erasure", _("Erasure")


class ConsentRecord(models.Model):
    """One change of a customer's email consent: what, when, how and by whom."""

    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.CASCADE, related_name="consent_records",
        verbose_name=_("customer"),
    )
    status = models.CharField(_("consent"), max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=16, choices=ConsentSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("by"),
    )
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="crm_consent_cust_idx")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} ({self.get_source_display()})"


class PendingSignup(models.Model):
    """A sign-up awaiting its confirmation link; deleted when confirmed or expired."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("email"), max_length=254)
    name = models.CharField(_("name"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("pending sign-up")
        verbose_name_plural = _("pending sign-ups")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.id)


class ErasedAddress(models.Model):
    """The suppression list of erased customers: a keyed hash of each normalised address.

    A later import or API call with the same address gets no consent until the
    person confirms a new sign-up (double opt-in).
    """

    digest = models.CharField(_("address hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("erased"), default=timezone.now)

    class Meta:
        verbose_name = _("erased address (hashed)")
        verbose_name_plural = _("erased addresses (hashed)")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.digest[:12]


class PrivacyAction(models.TextChoices):
    ERASURE = "erasure", _("Erasure")
    ACCESS_EXPORT = "access_export", _("Access request export")
    CSV_EXPORT = "csv_export", _("CSV export")


class PrivacyAuditEntry(models.Model):
    """Who exported or erased customer data, and when (never the data itself)."""

    action = models.CharField(_("action"), max_length=16, choices=PrivacyAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("by"),
    )
    actor_name = models.CharField(
        _("by (name)"), max_length=150, blank=True,
        help_text=_("The user's name then, or the command that did it."),
    )
    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="privacy_audit", verbose_name=_("customer"),
    )
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    detail = models.JSONField(
        _("detail"), default=dict, blank=True,
        help_text=_("Counts only: records erased or exported, the exported model."),
    )

    class Meta:
        verbose_name = _("privacy audit entry")
        verbose_name_plural = _("privacy audit")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.occurred_at:%Y-%m-%d %H:%M}"
