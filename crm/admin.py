"""The crm admin: customers (with recent orders and events), orders, events, mappings.

Customers and orders have an "Import CSV" page and CSV exports (see
``crm.importing.admin_views``).
"""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from . import exporting
from .importing.admin_views import CsvAdminMixin
from .importing.labels import mapping_field_label
from .models import ColumnMapping, Customer, Event, ImportKind, Order
from .privacy.admin import PrivacyAdminMixin
from .templatetags.rulecast_format import money


class RecentFormSet(BaseInlineFormSet):
    """Only the most recent rows (the inline's ordering), so a big customer page stays light."""

    limit = 20

    def get_queryset(self):
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[: self.limit]
        return self._recent


class ReadOnlyInline(admin.TabularInline):
    formset = RecentFormSet
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderInline(ReadOnlyInline):
    model = Order
    fields = ["external_id", "placed_at", "amount_display", "item_count", "category",
              "channel", "status"]
    readonly_fields = fields
    ordering = ["-placed_at", "-id"]
    verbose_name_plural = _("recent orders (the last 20)")

    @admin.display(description=_("amount"))
    def amount_display(self, order: Order) -> str:
        return money(order.amount, order.currency)


class EventInline(ReadOnlyInline):
    model = Event
    fields = ["event_type", "occurred_at", "properties"]
    readonly_fields = fields
    ordering = ["-occurred_at", "-id"]
    verbose_name_plural = _("recent events (the last 20)")


#: Attribute keys the customer page never shows: the demo generator's answer key
#: (crm.demo.DEMO_GROUP_KEY), which would give away what segmentation should find.
HIDDEN_ATTRIBUTES = frozenset({"demo_group"})


@admin.register(Customer)
class CustomerAdmin(PrivacyAdminMixin, CsvAdminMixin, admin.ModelAdmin):
    import_kind = ImportKind.CUSTOMERS
    export_rows = staticmethod(exporting.customer_rows)
    list_display = ["__str__", "name", "external_id", "country", "city", "gender",
                    "consent_status", "signed_up_at"]
    list_display_links = ["__str__"]
    search_fields = ["email", "name", "external_id"]
    list_filter = ["country", "gender", "consent_status", "signed_up_at"]
    readonly_fields = ["age", "all_orders", "attribute_list", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["external_id", "email", "name"]}),
        (_("Profile"), {"fields": ["gender", "birth_date", "age", "city", "country",
                                   "signed_up_at"]}),
        (_("Email consent"), {"fields": ["consent_status", "consent_source", "consent_at",
                                         "unsubscribed_at"]}),
        (_("More"), {"fields": ["attribute_list", "all_orders", "created_at", "updated_at"]}),
    ]
    inlines = [OrderInline, EventInline]
    show_full_result_count = False

    @admin.display(description=_("age"))
    def age(self, obj: Customer):
        return obj.age

    @admin.display(description=_("attributes"))
    def attribute_list(self, obj: Customer) -> str:
        """Imported extra columns as a table (never JSON, never the demo's hidden group)."""
        shown = [(key, value) for key, value in sorted((obj.attributes or {}).items())
                 if key not in HIDDEN_ATTRIBUTES]
        if not shown:
            return "—"
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", shown))

    @admin.display(description=_("orders"))
    def all_orders(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:crm_order_changelist") + f"?customer__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("All orders of this customer"))


@admin.register(Order)
class OrderAdmin(CsvAdminMixin, admin.ModelAdmin):
    import_kind = ImportKind.ORDERS
    export_rows = staticmethod(exporting.order_rows)
    list_display = ["__str__", "customer", "placed_at", "amount", "currency", "item_count",
                    "category", "channel", "status"]
    list_filter = ["status", "channel", "currency", "placed_at"]
    search_fields = ["external_id", "customer__email", "customer__external_id",
                     "customer__name"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "placed_at"
    readonly_fields = ["created_at"]
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["event_type", "customer", "occurred_at", "external_id"]
    list_filter = ["event_type", "occurred_at"]
    search_fields = ["external_id", "event_type", "customer__email", "customer__external_id"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(ColumnMapping)
class ColumnMappingAdmin(admin.ModelAdmin):
    """Saved column choices: made on the import page ("Remember these choices as"),
    listed, renamed and deleted here; never typed as JSON."""

    list_display = ["name", "kind", "date_format", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    fields = ["name", "kind", "column_choices", "date_format", "created_at"]
    readonly_fields = ["kind", "column_choices", "date_format", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # made by the import page

    @admin.display(description=_("columns"))
    def column_choices(self, obj: ColumnMapping) -> str:
        return format_html_join(
            "", "<div>{} → {}</div>",
            ((header, mapping_field_label(name, obj.kind))
             for name, header in (obj.columns or {}).items()),
        )
