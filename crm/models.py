"""Customers, their orders and behavioural events, and saved CSV column mappings."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


def normalize_email(value: str | None) -> str | None:
    """Trim and lower-case an address; empty becomes None (so uniqueness ignores it)."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "", _("Unknown")


class ConsentStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class CustomerQuerySet(models.QuerySet):
    def contactable(self) -> CustomerQuerySet:
        """Customers who may be emailed: an address, consent granted, not unsubscribed."""
        return self.filter(
            email__isnull=False,
            consent_status=ConsentStatus.GRANTED,
            unsubscribed_at__isnull=True,
        )


class Customer(models.Model):
    external_id = models.CharField(
        _("external id"), max_length=128, unique=True, null=True, blank=True,
        help_text=_("The customer's id in your shop or spreadsheet."),
    )
    # Stored trimmed and lower-cased (normalize_email), so uniqueness is case-insensitive.
    email = models.EmailField(_("email"), max_length=254, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    gender = models.CharField(_("gender"), max_length=16, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=64, blank=True)
    signed_up_at = models.DateTimeField(_("signed up"), null=True, blank=True)
    consent_status = models.CharField(
        _("email consent"), max_length=16, choices=ConsentStatus.choices,
        default=ConsentStatus.UNKNOWN,
    )
    consent_source = models.CharField(_("consent source"), max_length=100, blank=True)
    consent_at = models.DateTimeField(_("consent time"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    attributes = models.JSONField(
        _("attributes"), default=dict, blank=True,
        help_text=_("Other imported columns, e.g. a loyalty flag."),
    )
    # Stamped by the database too, so that a bulk load need not send them (a COPY of a
    # million customers spent a quarter of its time parsing the two times of each row).
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(external_id__isnull=False),
                name="crm_customer_email_or_external_id",
                violation_error_message=_("A customer needs an email or an external id."),
            ),
        ]
        indexes = [
            models.Index(fields=["signed_up_at"], name="crm_customer_signup_idx"),
            models.Index(fields=["country"], name="crm_customer_country_idx"),
        ]

    def __str__(self) -> str:
        return self.email or self.name or f"#{self.external_id}"

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        self.external_id = (self.external_id or "").strip() or None
        super().save(*args, **kwargs)

    @property
    def age(self) -> int | None:
        """Age in whole years today, from the birth date."""
        if self.birth_date is None:
            return None
        today = date.today()
        before_birthday = (today.month, today.day) < (self.birth_date.month, self.birth_date.day)
        return today.year - self.birth_date.year - before_birthday


class OrderStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


class OrderQuerySet(models.QuerySet):
    def completed(self) -> OrderQuerySet:
        """Orders that count as revenue (not cancelled or refunded)."""
        return self.filter(status=OrderStatus.COMPLETED)


class Order(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="orders", verbose_name=_("customer")
    )
    external_id = models.CharField(
        _("external id"), max_length=128, unique=True, null=True, blank=True
    )
    # Orders imported without an id: a hash of (customer, time, amount, position in
    # the file), so importing the same rows again finds them (crm.importing.upsert).
    import_key = models.CharField(
        _("import key"), max_length=32, unique=True, null=True, blank=True, editable=False
    )
    placed_at = models.DateTimeField(_("placed"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    item_count = models.PositiveIntegerField(_("items"), default=1)
    category = models.CharField(_("category"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=50, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.COMPLETED
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        indexes = [
            # Per-customer aggregates (recency, frequency, spend) scan by customer then time.
            models.Index(fields=["customer", "placed_at"], name="crm_order_cust_placed_idx"),
            models.Index(fields=["placed_at"], name="crm_order_placed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id or self.pk}: {self.amount} {self.currency}"


class Event(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", verbose_name=_("customer")
    )
    external_id = models.CharField(
        _("external id"), max_length=128, unique=True, null=True, blank=True
    )
    event_type = models.CharField(
        _("type"), max_length=50, help_text=_("e.g. session, page_view, cart_add")
    )
    occurred_at = models.DateTimeField(_("time"))
    properties = models.JSONField(_("properties"), default=dict, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "event_type", "occurred_at"], name="crm_event_cust_type_idx"
            ),
            # The latest event (a run's as-of time) without reading every event.
            models.Index(fields=["occurred_at"], name="crm_event_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    ORDERS = "orders", _("Orders")
    CUSTOMERS_AND_ORDERS = (
        "customers_and_orders", _("Customers and their orders (one row per order)")
    )


class ColumnMapping(models.Model):
    """A saved mapping from a file's headers to Rulecast's fields, chosen when importing."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=ImportKind.choices)
    columns = models.JSONField(
        _("columns"), default=dict,
        help_text=_('Rulecast field to the file\'s header, e.g. {"external_id": "Customer ID"}.'),
    )
    values = models.JSONField(
        _("value mappings"), default=dict, blank=True,
        help_text=_(
            'Per field, file value to Rulecast value, e.g. {"status": {"Cancelled": "cancelled"}}.'
        ),
    )
    date_format = models.CharField(
        _("date format"), max_length=50, blank=True,
        help_text=_("strftime format when dates are ambiguous, e.g. %d/%m/%Y; empty: detect."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """A CSV file uploaded in the admin: mapped, checked, then imported (with progress)."""

    file_name = models.CharField(_("file"), max_length=255)
    # The file itself, so that a worker on another machine can read it.
    data = models.BinaryField(_("data"))
    kind = models.CharField(_("kind"), max_length=32, choices=ImportKind.choices)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices,
                              default=ImportStatus.UPLOADED)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows imported"), default=0)
    report = models.JSONField(_("report"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("CSV import")
        verbose_name_plural = _("CSV imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name


# The privacy records live in their own module; imported here so Django finds them.
from .privacy.models import (  # noqa: E402,F401
    ConsentRecord,
    ConsentSource,
    ErasedAddress,
    PendingSignup,
    PrivacyAction,
    PrivacyAuditEntry,
)
