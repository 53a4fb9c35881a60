"""Admin parts of the automation: inlines, the campaign page's panel, the win-back form."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from segmentation.models import Segment

from ..services import CampaignError
from . import selectors
from .models import ABTest, Trigger, TriggerEntry, Variant
from .winback import lapsed_segment_guess, set_up_winback


class TriggerInline(admin.StackedInline):
    model = Trigger
    extra = 0
    max_num = 1
    can_delete = True
    fields = ["delay_days", "reentry_days", "include_current_members", "activated_at"]
    readonly_fields = ["activated_at"]
    verbose_name_plural = _("Automation: send when a customer enters a target segment")


class ABTestInline(admin.StackedInline):
    model = ABTest
    extra = 0
    max_num = 1
    fields = ["test_percent", "metric", "wait_hours", "fallback"]
    verbose_name_plural = _("A/B test (add 2 to 5 variants below)")


class VariantInline(admin.StackedInline):
    model = Variant
    extra = 0
    min_num = 0
    max_num = 5
    fields = ["label", "subject", "html_body", "text_body"]
    verbose_name_plural = _("A/B variants (an empty field uses the campaign's)")


INLINES = [TriggerInline, ABTestInline, VariantInline]


def automation_panel(campaign) -> str:
    """The campaign page's automation section: queue, A/B decision, engagement over time."""
    if campaign.pk is None:
        return "—"
    has_trigger = Trigger.objects.filter(campaign=campaign).exists()
    ab = selectors.ab_result(campaign)
    context = {
        "queue": selectors.trigger_queue(campaign) if has_trigger else None,
        "queue_url": reverse("admin:campaigns_triggerentry_changelist")
        + f"?campaign__id__exact={campaign.pk}",
        "ab": ab,
        "by_segment": selectors.engagement_by_day(campaign, by="segment"),
        "by_variant": selectors.engagement_by_day(campaign, by="variant") if ab else [],
    }
    return render_to_string("admin/campaigns/campaign/automation.html", context)


class WinbackForm(forms.Form):
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.none(),
        help_text=_("Customers who enter it get the email."),
    )
    delay_days = forms.IntegerField(label=_("Days after entering"), min_value=0, initial=3)
    subject = forms.CharField(label=_("Subject"), max_length=255,
                              initial=_("We miss you, {{ name }}"))
    message = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}),
        initial=_("It has been a while since your last order. "
                  "Here is 10 percent off your next one."),
    )
    offer_url = forms.URLField(label=_("Offer link"), assume_scheme="https")
    button = forms.CharField(label=_("Link text"), max_length=80, initial=_("Shop now"))
    reentry_days = forms.IntegerField(
        label=_("Send again after (days)"), min_value=1, required=False, initial=90,
        help_text=_("Empty: each customer gets it once, ever."),
    )
    include_current_members = forms.BooleanField(
        label=_("Also send to customers already in the segment"), required=False,
    )
    from_email = forms.CharField(label=_("From"), max_length=254, required=False)
    activate = forms.BooleanField(label=_("Turn it on now"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.targetable().order_by("name")
        self.fields["segment"].initial = lapsed_segment_guess()


def winback_view(model_admin, request):
    """One form: a triggered win-back campaign for the lapsed segment, turned on."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = WinbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = set_up_winback(**form.cleaned_data)
        except CampaignError as error:
            form.add_error(None, str(error))
        else:
            model_admin.message_user(request, _("The win-back email is set up."),
                                     messages.SUCCESS)
            return redirect("admin:campaigns_campaign_change", campaign.pk)
    context = {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts,
        "title": _("Set up a win-back email"), "form": form,
    }
    return TemplateResponse(request, "admin/campaigns/campaign/winback.html", context)


def segment_responses_panel(segment) -> str:
    """On the segment review page: the segment's responses to past campaigns (if any)."""
    if segment.pk is None:
        return ""
    rows = selectors.segment_responses(segment.pk)
    if not rows:
        return ""
    return render_to_string("campaigns/segment_responses.html", {"rows": rows})


@admin.register(TriggerEntry)
class TriggerEntryAdmin(admin.ModelAdmin):
    """The whole automation queue, filterable; written only by the automation."""

    list_display = ["customer", "campaign", "segment", "entered_at", "due_at", "status",
                    "reason", "delivery_status"]
    list_filter = ["status", "reason", "campaign"]
    list_select_related = ["customer", "campaign", "segment", "delivery"]
    search_fields = ["customer__email"]
    date_hierarchy = "entered_at"

    @admin.display(description=_("delivery"))
    def delivery_status(self, entry: TriggerEntry) -> str:
        return entry.delivery.get_status_display() if entry.delivery else "—"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
