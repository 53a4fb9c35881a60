"""Admin: campaigns (actions call services), deliveries, the suppression list."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.models import Customer

from . import services
from .admin_views import campaign_urls, render_stats
from .automation import admin as automation_admin
from .automation import triggers
from .models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Link,
    ProviderEvent,
    Suppression,
    TrackingEvent,
)
from .selectors import preview_campaign

# As the API: a campaign that may still send is cancelled before it is deleted.
UNDELETABLE = {CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED}


def _each(modeladmin, request, queryset, service, done: str) -> None:
    """Call ``service(campaign=...)`` per selected campaign; report successes and refusals."""
    count = 0
    for campaign in queryset:
        try:
            service(campaign=campaign)
        except services.CampaignError as error:
            modeladmin.message_user(request, f"{campaign}: {error}", messages.WARNING)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done % {"count": count}, messages.SUCCESS)


def _launch(*, campaign: Campaign) -> None:
    if hasattr(campaign, "trigger"):  # an automation: turned on, sent as customers enter
        triggers.activate_trigger(campaign=campaign)
    elif campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        services.schedule_campaign(campaign=campaign)
    else:
        services.launch_campaign(campaign=campaign)


class LinkInline(admin.TabularInline):
    model = Link
    extra = 0
    can_delete = False
    fields = ["url", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ArchivedFilter(admin.SimpleListFilter):
    """Archived campaigns are hidden unless asked for."""

    title = _("archived")
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", _("Not archived")), ("yes", _("Archived")), ("all", _("All"))]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {"selected": (self.value() or "no") == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, queryset):
        value = self.value() or "no"
        if value == "all":
            return queryset
        return queryset.filter(archived_at__isnull=value == "no")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "scheduled_at", "recipient_count", "launched_at",
                    "finished_at"]
    list_filter = ["status", ArchivedFilter]
    search_fields = ["name", "subject"]
    date_hierarchy = "created_at"
    filter_horizontal = ["segments", "excluded_segments"]
    readonly_fields = ["status", "recipient_count", "launched_at", "finished_at",
                       "archived_at", "preview_link", "statistics", "automation"]
    inlines = [LinkInline, *automation_admin.INLINES]
    change_list_template = "admin/campaigns/campaign/change_list.html"  # + win-back button
    actions = ["launch", "pause", "resume", "cancel", "send_test", "archive", "unarchive"]
    fieldsets = [
        (None, {"fields": ["name", "status", "preview_link"]}),
        (_("Message"), {"fields": ["subject", "from_email", "reply_to", "html_body",
                                    "text_body"]}),
        (_("Audience"), {"fields": ["segments", "excluded_segments"]}),
        (_("Sending"), {"fields": ["scheduled_at", "rate_limit", "test_address"]}),
        (_("Results"), {"fields": ["recipient_count", "launched_at", "finished_at",
                                    "archived_at", "statistics", "automation"]}),
    ]

    def get_changeform_initial_data(self, request):
        """"Email this segment" links here with ?target_segments=ID[,ID]."""
        initial = super().get_changeform_initial_data(request)
        chosen = request.GET.get("target_segments", "")
        if chosen:
            initial["segments"] = [pk for pk in chosen.split(",") if pk.isdigit()]
        return initial

    def get_deleted_objects(self, objs, request):
        """A campaign that has sent (or is active) is protected: the page says why."""
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        refusals = [f"{campaign}: {refusal}" for campaign in objs
                    if (refusal := services.deletion_refusal(campaign))]
        return deleted, counts, perms, [*protected, *refusals]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_editable:
            fields += ["subject", "from_email", "reply_to", "html_body", "text_body",
                       "segments", "excluded_segments", "scheduled_at"]
        return fields

    class Media:
        # The statistics block: its chart, and its refresh while sending.
        js = ["segmentation/vendor/chart.umd.min.js", "campaigns/stats.js"]

    def get_urls(self):
        urls = [path("<int:object_id>/preview/", self.admin_site.admin_view(self.preview_view),
                     name="campaigns_campaign_preview"),
                path("winback/", self.admin_site.admin_view(
                    lambda request: automation_admin.winback_view(self, request)),
                    name="campaigns_campaign_winback")]
        # Send test / Launch buttons (with a confirmation) and the statistics JSON.
        return urls + campaign_urls(self) + super().get_urls()

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status in UNDELETABLE:
            return False
        return super().has_delete_permission(request, obj)

    def preview_view(self, request, object_id: int):
        campaign = self.get_object(request, str(object_id))
        if campaign is None or not self.has_view_permission(request, campaign):
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(object_id))
        if not request.user.has_perm("crm.view_customer"):
            raise PermissionDenied  # a preview shows a customer's name and data
        # A chosen customer, by email or id; otherwise a sample member of the targets.
        wanted = request.GET.get("customer", "").strip()
        customer = None
        if wanted:
            lookup = {"pk": int(wanted)} if wanted.isdigit() else {"email": wanted.lower()}
            customer = Customer.objects.filter(**lookup).first()
            if customer is None:
                messages.warning(request, _("No customer %(who)s; showing a sample member.")
                                 % {"who": wanted})
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "original": campaign,
            "title": _("Preview of %(name)s") % {"name": campaign.name},
            "preview": preview_campaign(campaign, customer=customer), "wanted": wanted,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/preview.html", context)

    @admin.display(description=_("preview"))
    def preview_link(self, obj: Campaign) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:campaigns_campaign_preview", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Preview for a sample member"))

    @admin.display(description=_("statistics"))
    def statistics(self, obj: Campaign) -> str:
        if obj.pk is None or obj.launched_at is None:
            return "—"
        return render_stats(obj)

    @admin.display(description=_("automation"))
    def automation(self, obj: Campaign) -> str:
        return automation_admin.automation_panel(obj)

    @admin.action(description=_("Launch (or schedule, when the time is ahead)"),
                  permissions=["change"])
    def launch(self, request, queryset):
        _each(self, request, queryset, _launch, _("%(count)d campaign(s) launched or scheduled."))

    @admin.action(description=_("Pause sending"), permissions=["change"])
    def pause(self, request, queryset):
        _each(self, request, queryset, services.pause_campaign, _("%(count)d paused."))

    @admin.action(description=_("Resume sending"), permissions=["change"])
    def resume(self, request, queryset):
        _each(self, request, queryset, services.resume_campaign, _("%(count)d resumed."))

    @admin.action(description=_("Cancel"), permissions=["change"])
    def cancel(self, request, queryset):
        _each(self, request, queryset, services.cancel_campaign, _("%(count)d cancelled."))

    @admin.action(description=_("Send a test to the test address"), permissions=["change"])
    def send_test(self, request, queryset):
        _each(self, request, queryset, services.send_test, _("%(count)d test(s) sent."))

    @admin.action(description=_("Archive (hide; links and unsubscribe keep working)"),
                  permissions=["change"])
    def archive(self, request, queryset):
        _each(self, request, queryset, services.archive_campaign, _("%(count)d archived."))

    @admin.action(description=_("Show again (unarchive)"), permissions=["change"])
    def unarchive(self, request, queryset):
        _each(self, request, queryset, services.unarchive_campaign, _("%(count)d unarchived."))


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Deliveries. Policy: an ``unknown`` delivery is never re-sent automatically."""

    list_display = ["address", "campaign", "segment", "status", "attempts", "sent_at",
                    "last_error"]
    list_filter = ["status", "campaign", "segment"]
    search_fields = ["address", "message_id"]
    list_select_related = ["campaign", "segment"]
    raw_id_fields = ["customer"]
    readonly_fields = ["campaign", "customer", "segment", "address", "status", "message_id",
                       "attempts", "last_error", "next_attempt_at", "claimed_at", "sent_at",
                       "created_at"]
    actions = ["resend_unknown"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Re-send unknown deliveries (their recipients may get two)"),
                  permissions=["change"])
    def resend_unknown(self, request, queryset):
        count = services.resend_unknown(delivery_ids=queryset.filter(
            status=DeliveryStatus.UNKNOWN).values_list("pk", flat=True))
        self.message_user(request, ngettext(
            "%(count)d unknown delivery queued again.",
            "%(count)d unknown deliveries queued again.", count) % {"count": count})


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["address", "reason", "note", "created_at"]
    list_filter = ["reason"]
    search_fields = ["address", "note"]
    date_hierarchy = "created_at"


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ["kind", "delivery", "link", "occurred_at", "user_agent"]
    list_filter = ["kind"]
    raw_id_fields = ["delivery", "link"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = ["event_type", "recipient", "esp_name", "is_soft_bounce", "occurred_at"]
    list_filter = ["event_type", "esp_name", "is_soft_bounce"]
    search_fields = ["recipient", "message_id", "event_id"]
    raw_id_fields = ["delivery"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

