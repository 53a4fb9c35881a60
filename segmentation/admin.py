"""Admin for segmentations, runs and segments (declarative; actions and forms call services)."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from crm.api.parsers import JSONLimitError, load_json
from crm.templatetags.rulecast_format import percent

from . import admin_display, protection, services
from .admin_builder import RuleBuilderWidget, builder_urls
from .admin_forms import SegmentationForm
from .exports import FILE_FORMATS, LANGUAGES, export_run, export_segments, render_rule
from .models import MembershipChange, Segment, Segmentation, SegmentationRun, SegmentKind
from .review import review_urls, user_language
from .rules import Rule, RuleError
from .selectors import runs_waiting_for_review


def render_segment_rule(segment: Segment) -> str:
    return render_rule(segment, "text", lang=user_language())


def download_links(url_name: str, pk: int):
    """Links to download the rules in every format."""
    return format_html_join(
        " · ", '<a href="{}?lang={}" download>{}</a>',
        ((reverse(url_name, args=[pk, fmt]), user_language(), fmt) for fmt in FILE_FORMATS),
    )


def download(exported, filename: str) -> HttpResponse:
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{exported.extension}"'
    return response


def warn_waiting_runs(model_admin, request) -> None:
    """Tell the person that scheduled runs did not publish themselves and wait for them."""
    for run in runs_waiting_for_review():
        model_admin.message_user(request, format_html(
            '{} <a href="{}">{}</a>',
            _("A scheduled run of %(name)s waits for your review:") % {
                "name": run.segmentation.name},
            reverse("admin:segmentation_segmentationrun_review", args=[run.pk]),
            run.review_note.splitlines()[0] if run.review_note else _("Review"),
        ), messages.WARNING)


class ExplainsProtection:
    """The delete page lists why objects something relies on cannot be deleted."""

    @staticmethod
    def refusals(objs: list) -> list[str]:
        return []

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms, [*protected, *self.refusals(list(objs))]


@admin.register(Segmentation)
class SegmentationAdmin(ExplainsProtection, admin.ModelAdmin):
    refusals = staticmethod(protection.segmentation_refusals)
    form = SegmentationForm
    list_display = ["name", "algorithm", "n_clusters", "k_min", "k_max", "updated_at",
                    "rerun_every_days", "waiting_for_review"]
    search_fields = ["name"]
    actions = ["start_runs"]
    fieldsets = [
        (None, {"fields": ["name", "description", "features"]}),
        (_("Clustering"), {"fields": ["algorithm", "n_clusters", "k_min", "k_max",
                                      "max_leaves", "sample_size", "random_seed"]}),
        (_("Schedule"), {"fields": ["rerun_every_days", "auto_publish"]}),
    ]

    def changelist_view(self, request, extra_context=None):
        warn_waiting_runs(self, request)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("waiting for review"))
    def waiting_for_review(self, segmentation: Segmentation):
        run = runs_waiting_for_review().filter(segmentation=segmentation).first()
        if run is None:
            return "—"
        url = reverse("admin:segmentation_segmentationrun_review", args=[run.pk])
        return format_html('<a href="{}">{}</a>', url, _("Run #%(id)s waits") % {"id": run.pk})

    def get_urls(self):
        return [
            path("<int:pk>/start/", self.admin_site.admin_view(self.start_view),
                 name="segmentation_segmentation_start"),
            *super().get_urls(),
        ]

    def start_view(self, request, pk: int):
        """The change page's one button: start a run and go to its review page."""
        segmentation = get_object_or_404(Segmentation, pk=pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request, segmentation):
            raise PermissionDenied
        with transaction.atomic():
            run = services.start_run(segmentation=segmentation)
        return redirect("admin:segmentation_segmentationrun_review", run.pk)

    @admin.action(description=_("Start a run"), permissions=["change"])
    def start_runs(self, request, queryset):
        for segmentation in queryset:
            services.start_run(segmentation=segmentation)
        self.message_user(request, _("Runs started."), messages.SUCCESS)


class SegmentInline(admin.TabularInline):
    model = Segment
    fields = ["index", "name", "size", "share_display", "rule_text"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description=_("rule"))
    def rule_text(self, segment: Segment) -> str:
        return render_segment_rule(segment)

    @admin.display(description=_("share"))
    def share_display(self, segment: Segment) -> str:
        return percent(segment.share)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SegmentationRun)
class SegmentationRunAdmin(ExplainsProtection, admin.ModelAdmin):
    refusals = staticmethod(protection.run_refusals)
    list_display = ["__str__", "status", "progress_display", "customer_count",
                    "is_published", "created_at", "finished_at", "review_link", "review_state"]
    list_filter = ["status", "is_published", "segmentation", "review_state"]
    readonly_fields = ["segmentation", "status", "progress_display", "error", "as_of",
                       "options_display",
                       "customer_count", "features_display", "metrics_display",
                       "timings_display", "is_published", "published_at", "created_at",
                       "started_at", "finished_at", "members_display", "downloads",
                       "is_scheduled", "review_state", "review_note"]
    # Shown formatted for people by the *_display fields, never as JSON.
    exclude = ["model", "stage", "progress", "feature_names", "metrics", "timings", "options"]

    def changelist_view(self, request, extra_context=None):
        warn_waiting_runs(self, request)
        return super().changelist_view(request, extra_context)

    inlines = [SegmentInline]
    actions = ["publish", "requeue"]

    def get_urls(self):
        return [
            path("<int:pk>/rules/<str:fmt>/", self.admin_site.admin_view(self.rules_view),
                 name="segmentation_segmentationrun_rules"),
            *review_urls(self),  # the review page, its progress JSON, publish and requeue
            *super().get_urls(),
        ]

    def rules_view(self, request, pk: int, fmt: str):
        run = get_object_or_404(SegmentationRun, pk=pk)
        if not self.has_view_permission(request, run) or fmt not in FILE_FORMATS:
            raise Http404
        lang = request.GET.get("lang", "en") if request.GET.get("lang") in LANGUAGES else "en"
        return download(export_run(run, fmt, lang=lang), f"run-{run.pk}-rules")

    @admin.display(description=_("download rules"))
    def downloads(self, run: SegmentationRun):
        return download_links("admin:segmentation_segmentationrun_rules", run.pk)

    @admin.display(description=_("review"))
    def review_link(self, run: SegmentationRun):
        url = reverse("admin:segmentation_segmentationrun_review", args=[run.pk])
        return format_html('<a href="{}">{}</a>', url, _("Review"))

    @admin.display(description=_("progress"))
    def progress_display(self, run: SegmentationRun) -> str:
        return admin_display.run_progress(run)

    @admin.display(description=_("features"))
    def features_display(self, run: SegmentationRun) -> str:
        return admin_display.feature_labels(run.feature_names)

    @admin.display(description=_("metrics"))
    def metrics_display(self, run: SegmentationRun) -> str:
        return admin_display.run_metrics(run)

    @admin.display(description=_("options for this run"))
    def options_display(self, run: SegmentationRun) -> str:
        return admin_display.run_options(run)

    @admin.display(description=_("members"))
    def members_display(self, run: SegmentationRun) -> str:
        return admin_display.run_members(run)

    @admin.display(description=_("timings"))
    def timings_display(self, run: SegmentationRun) -> str:
        return admin_display.run_timings(run)

    @admin.action(description=_("Publish (campaigns target the published run)"),
                  permissions=["change"])
    def publish(self, request, queryset):
        for run in queryset:
            try:
                services.publish_run(run=run)
            except ValueError as error:
                self.message_user(request, str(error), messages.ERROR)

    @admin.action(description=_("Run again"), permissions=["change"])
    def requeue(self, request, queryset):
        for run in queryset:
            services.requeue_run(run=run)

    def has_add_permission(self, request) -> bool:
        return False


class ManualSegmentForm(forms.ModelForm):
    """A hand-written segment: the rule as the stored JSON form or as JsonLogic."""

    rule_format = forms.ChoiceField(
        label=_("rule format"), choices=[("json", "JSON"), ("jsonlogic", "JsonLogic")]
    )
    everyone = forms.BooleanField(
        label=_("every customer"), required=False,
        help_text=_("The segment is every customer: no rule needed."),
    )
    rule_document = forms.CharField(
        label=_("rule"), widget=RuleBuilderWidget(), required=False,
        help_text=_("Build it row by row: a customer matches a group when every row holds, "
                    "and the segment when any group matches. The Advanced tab shows the "
                    "stored JSON (or takes JsonLogic)."),
    )

    class Meta:
        model = Segment
        fields = ["name", "name_zh", "description", "description_zh"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.rule:
            self.fields["rule_format"].initial = "json"
            self.fields["rule_document"].initial = json.dumps(self.instance.rule, indent=2)
            self.fields["everyone"].initial = Rule.from_dict(self.instance.rule) == Rule.everyone()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("everyone"):
            cleaned["parsed_rule"] = Rule.everyone()
            return cleaned
        if not cleaned.get("rule_document"):
            self.add_error("rule_document", _("Write the rule, or choose every customer."))
            return cleaned
        try:
            # Size and depth limits: a form error with the reason, never a 500.
            document = load_json(cleaned["rule_document"])
            cleaned["parsed_rule"] = services.parse_rule_document(
                document, cleaned.get("rule_format", "json"))
        except JSONLimitError as error:
            self.add_error("rule_document", str(error))
        except RuleError as error:
            self.add_error("rule_document", str(error))
        return cleaned


@admin.register(Segment)
class SegmentAdmin(ExplainsProtection, admin.ModelAdmin):
    refusals = staticmethod(protection.segment_refusals)
    list_display = ["name", "kind", "run", "size", "share_display"]
    list_filter = ["kind", "run__segmentation", "run__is_published"]
    search_fields = ["name", "name_zh"]
    readonly_fields = ["kind", "run", "index", "size", "share_display", "rule_text",
                       "profile_display", "previous", "downloads"]

    def get_urls(self):
        return [
            path("<int:pk>/rules/<str:fmt>/", self.admin_site.admin_view(self.rules_view),
                 name="segmentation_segment_rules"),
            *builder_urls(self),  # the rule builder's live count and sentences
            *super().get_urls(),
        ]

    def get_changeform_initial_data(self, request):
        """``?copy_of=ID``: a hand-written copy of a segment (e.g. a learned one) to edit."""
        initial = super().get_changeform_initial_data(request)
        original = request.GET.get("copy_of", "")
        segment = Segment.objects.filter(pk=original).first() if original.isdigit() else None
        if segment is not None and self.has_view_permission(request, segment):
            initial.update({
                "name": _("%(name)s (copy)") % {"name": segment.name},
                "name_zh": f"{segment.name_zh}（副本）" if segment.name_zh else "",
                "description": segment.description, "description_zh": segment.description_zh,
                "rule_format": "json", "rule_document": json.dumps(segment.rule, indent=2),
            })
        return initial

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "copy_url": (
            reverse("admin:segmentation_segment_add") + f"?copy_of={object_id}"
            if self.has_add_permission(request) else "")}
        return super().change_view(request, object_id, form_url, extra_context)

    def rules_view(self, request, pk: int, fmt: str):
        segment = get_object_or_404(Segment, pk=pk)
        if not self.has_view_permission(request, segment) or fmt not in FILE_FORMATS:
            raise Http404
        lang = request.GET.get("lang", "en") if request.GET.get("lang") in LANGUAGES else "en"
        return download(export_segments([segment], fmt, lang=lang), f"segment-{segment.pk}-rule")

    def is_manual(self, obj) -> bool:
        return obj is None or obj.kind == SegmentKind.MANUAL

    def get_form(self, request, obj=None, **kwargs):
        if self.is_manual(obj):
            kwargs["form"] = ManualSegmentForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if self.is_manual(obj):
            shown = ["name", "name_zh", "description", "description_zh", "everyone",
                     "rule_format", "rule_document"]
            return shown + (["size", "rule_text", "downloads"] if obj else [])
        return ["run", "index", "name", "name_zh", "description", "description_zh", "size",
                "share_display", "rule_text", "downloads", "profile_display", "previous"]

    def save_model(self, request, obj, form, change):
        segment = services.save_manual_segment(
            name=obj.name, name_zh=obj.name_zh, description=obj.description,
            rule=form.cleaned_data["parsed_rule"], segment=obj if change else None,
        )
        form.instance = segment
        obj.pk = segment.pk

    @admin.display(description=_("rule"))
    def rule_text(self, segment: Segment) -> str:
        return render_segment_rule(segment)

    @admin.display(description=_("download rule"))
    def downloads(self, segment: Segment):
        return download_links("admin:segmentation_segment_rules", segment.pk)

    @admin.display(description=_("profile"))
    def profile_display(self, segment: Segment) -> str:
        return admin_display.segment_profile(segment)

    @admin.display(description=_("share"), ordering="share")
    def share_display(self, segment: Segment) -> str:
        return percent(segment.share)


@admin.register(MembershipChange)
class MembershipChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "customer", "direction", "segment"]
    list_filter = ["direction", "segment"]
    raw_id_fields = ["customer", "segment"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


from . import customer_admin  # noqa: E402,F401  (segments on the customer admin)
