"""Admin for segmentations, runs and segments (declarative; actions call services)."""

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import services
from .features import registry
from .models import Segment, Segmentation, SegmentationRun
from .rules import Rule, render_text


@admin.register(Segmentation)
class SegmentationAdmin(admin.ModelAdmin):
    list_display = ["name", "algorithm", "n_clusters", "k_min", "k_max", "updated_at"]
    search_fields = ["name"]
    actions = ["start_runs"]
    fieldsets = [
        (None, {"fields": ["name", "description", "features"]}),
        (_("Clustering"), {"fields": ["algorithm", "n_clusters", "k_min", "k_max",
                                      "max_leaves", "sample_size", "random_seed"]}),
    ]

    @admin.action(description=_("Start a run"))
    def start_runs(self, request, queryset):
        for segmentation in queryset:
            services.start_run(segmentation=segmentation)
        self.message_user(request, _("Runs started."), messages.SUCCESS)


class SegmentInline(admin.TabularInline):
    model = Segment
    fields = ["index", "name", "size", "share", "rule_text"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description=_("rule"))
    def rule_text(self, segment: Segment) -> str:
        return render_segment_rule(segment)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def render_segment_rule(segment: Segment) -> str:
    lang = "zh" if (get_language() or "").startswith("zh") else "en"
    return render_text(Rule.from_dict(segment.rule), registry.catalog(), lang=lang)


@admin.register(SegmentationRun)
class SegmentationRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "progress_display", "customer_count",
                    "is_published", "created_at", "finished_at"]
    list_filter = ["status", "is_published", "segmentation"]
    readonly_fields = ["segmentation", "status", "stage", "progress", "error", "as_of",
                       "customer_count", "feature_names", "metrics", "timings", "is_published",
                       "published_at", "created_at", "started_at", "finished_at"]
    exclude = ["model"]
    inlines = [SegmentInline]
    actions = ["publish", "requeue"]

    @admin.display(description=_("progress"))
    def progress_display(self, run: SegmentationRun) -> str:
        return format_html("{}% {}", round(run.progress * 100), run.stage)

    @admin.action(description=_("Publish (campaigns target the published run)"))
    def publish(self, request, queryset):
        for run in queryset:
            try:
                services.publish_run(run=run)
            except ValueError as error:
                self.message_user(request, str(error), messages.ERROR)

    @admin.action(description=_("Run again"))
    def requeue(self, request, queryset):
        for run in queryset:
            services.requeue_run(run=run)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "run", "size", "share"]
    list_filter = ["run__segmentation", "run__is_published"]
    search_fields = ["name", "name_zh"]
    readonly_fields = ["run", "index", "size", "share", "rule_text", "rule", "profile"]
    fields = ["run", "index", "name", "name_zh", "description", "description_zh",
              "size", "share", "rule_text", "rule", "profile"]

    @admin.display(description=_("rule"))
    def rule_text(self, segment: Segment) -> str:
        return render_segment_rule(segment)

    def has_add_permission(self, request) -> bool:
        return False
