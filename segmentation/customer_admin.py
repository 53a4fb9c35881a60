"""What segmentation adds to the customer admin: segment and last-order filters,
each customer's features and current segments.

The crm app knows nothing of segments; this module re-registers its
CustomerAdmin with these additions.
"""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from crm.admin import CustomerAdmin
from crm.models import Customer

from .features import registry
from .models import CustomerFeatures, Segment
from .review import user_language
from .rules.text import format_value


class SegmentFilter(admin.SimpleListFilter):
    title = _("segment")
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        segments = Segment.objects.targetable().order_by("name")
        return [(str(segment.pk), segment.name) for segment in segments]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(segment_memberships__segment_id=int(self.value()))
        return queryset


class LastOrderFilter(admin.SimpleListFilter):
    title = _("last order")
    parameter_name = "last_order"
    BANDS = {"30": (None, 30), "90": (30, 90), "365": (90, 365), "older": (365, None)}

    def lookups(self, request, model_admin):
        return [("30", _("in the last 30 days")), ("90", _("30 to 90 days ago")),
                ("365", _("90 days to a year ago")), ("older", _("more than a year ago")),
                ("never", _("never"))]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "never":
            return queryset.filter(Q(features__frequency=0) | Q(features__isnull=True))
        if value not in self.BANDS:
            return queryset
        low, high = self.BANDS[value]
        queryset = queryset.filter(features__frequency__gt=0)
        if low is not None:
            queryset = queryset.filter(features__recency_days__gt=low)
        if high is not None:
            queryset = queryset.filter(features__recency_days__lte=high)
        return queryset


class CustomerWithSegmentsAdmin(CustomerAdmin):
    list_filter = [SegmentFilter, LastOrderFilter, *CustomerAdmin.list_filter]
    readonly_fields = [*CustomerAdmin.readonly_fields, "current_segments", "feature_values"]
    fieldsets = [
        *CustomerAdmin.fieldsets,
        (_("Segments and features"), {"fields": ["current_segments", "feature_values"]}),
    ]

    @admin.display(description=_("current segments"))
    def current_segments(self, customer: Customer):
        segments = Segment.objects.targetable().filter(memberships__customer=customer)
        if not segments:
            return _("none")
        return format_html_join(
            ", ", '<a href="{}">{}</a>',
            ((reverse("admin:segmentation_segment_change", args=[s.pk]), s.name)
             for s in segments),
        )

    @admin.display(description=_("features"))
    def feature_values(self, customer: Customer):
        row = CustomerFeatures.objects.filter(customer=customer).first()
        if row is None:
            return _("not computed yet (they are computed by a segmentation run)")
        lang = user_language()
        values = []
        for name, info in registry.catalog().items():
            value = getattr(row, name) if hasattr(row, name) else row.extra.get(name)
            # Rounded to the feature's own digits: "1,263 days", not "1,263.27135 days".
            shown = "—" if value is None else format_value(value, info, lang, exact=False)
            values.append((info.label_zh if lang == "zh" else info.label_en, shown))
        return format_html(
            "<table>{}</table><p>{}</p>",
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", values),
            _("as of %(time)s") % {"time": row.computed_at},
        )


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithSegmentsAdmin)
