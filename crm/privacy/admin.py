"""The customer admin's privacy parts, and read-only admin pages for the privacy records.

``PrivacyAdminMixin`` (on ``CustomerAdmin``) adds: the consent history; consent
changes recorded on save; "Export personal data (JSON)" and "Erase personal data"
(buttons on the customer page and changelist actions, each with the service behind it);
and refuses deleting a customer, pointing to erasure instead, so that no address is
ever left behind unsuppressed.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import Customer
from .access import export_customer
from .consent import address_digest, record_consent_change
from .erasure import erase_customer
from .models import (
    ConsentRecord,
    ConsentSource,
    ErasedAddress,
    PrivacyAuditEntry,
)


def json_download(data: dict, name: str) -> HttpResponse:
    response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False,
                                       indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


class PrivacyAdminMixin:
    """Consent history, access export and erasure on the customer admin; no deleting."""

    change_form_template = "admin/crm/customer/privacy_change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "consent_history"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((_("Consent history"), {"fields": ["consent_history"]}))
        return fieldsets

    @admin.display(description=_("consent history"))
    def consent_history(self, obj: Customer) -> str:
        records = ConsentRecord.objects.filter(customer=obj).select_related("actor")[:50]
        if not records:
            return _("No change recorded.")
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((date_format(timezone.localtime(r.occurred_at), "SHORT_DATETIME_FORMAT"),
              r.get_status_display(), r.get_source_display(),
              r.actor.get_username() if r.actor else "", r.note) for r in records),
        )
        head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                           _("time"), _("consent"), _("source"), _("by"), _("note"))
        return format_html("<table>{}{}</table>", head, rows)

    def save_model(self, request, obj, form, change) -> None:
        previous = form.initial.get("consent_status") if change else None
        super().save_model(request, obj, form, change)
        record_consent_change(customer=obj, previous=previous, source=ConsentSource.ADMIN,
                              actor=request.user)

    # --- deleting is erasing -----------------------------------------------------------

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # erase instead (keeps aggregates, suppresses the address)

    def has_erase_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")

    def delete_view(self, request, object_id, extra_context=None):
        """Customers are never deleted: point to erasure."""
        self.message_user(request, _("Customers are not deleted: erase their personal data "
                                     "instead (orders and statistics stay, anonymous)."),
                          messages.WARNING)
        return HttpResponseRedirect(reverse("admin:crm_customer_erase", args=[object_id]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/erase/", view(self.erase_view), name="crm_customer_erase"),
            path("<path:object_id>/personal-data/", view(self.access_view),
                 name="crm_customer_access"),
            *super().get_urls(),
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        for name in ("erase_selected", "export_personal_data"):
            func = getattr(type(self), name)
            actions[name] = (func, name, func.short_description)
        if not self.has_erase_permission(request):
            actions.pop("erase_selected")
        return actions

    def erase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_erase_permission(request):
            raise PermissionDenied
        if not object_id.isdigit():
            raise Http404
        customer = get_object_or_404(Customer, pk=object_id)
        return self._confirm_erasure(request, Customer.objects.filter(pk=customer.pk))

    def access_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not object_id.isdigit():
            raise Http404
        customer = get_object_or_404(Customer, pk=object_id)
        data = export_customer(customer=customer, actor=request.user)
        return json_download(data, f"customer-{customer.pk}-personal-data")

    @admin.action(description=_("Erase personal data of selected customers"))
    def erase_selected(self, request: HttpRequest, queryset: QuerySet):
        return self._confirm_erasure(request, queryset)

    @admin.action(description=_("Export personal data (access request, JSON)"),
                  permissions=["view"])
    def export_personal_data(self, request: HttpRequest, queryset: QuerySet):
        customers = list(queryset[:101])
        if len(customers) > 100:
            self.message_user(request, _("Choose at most 100 customers."), messages.ERROR)
            return None
        data = {"customers": [export_customer(customer=c, actor=request.user)
                              for c in customers]}
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return json_download(data, f"personal-data-{stamp}")

    def _confirm_erasure(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        if not self.has_erase_permission(request):
            raise PermissionDenied
        if request.POST.get("confirm_erasure") == "yes":
            count = 0
            for customer in queryset:
                count += not erase_customer(customer=customer, actor=request.user).already_erased
            self.message_user(request, ngettext(
                "Erased the personal data of %(count)d customer.",
                "Erased the personal data of %(count)d customers.", count) % {"count": count},
                messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:crm_customer_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase personal data"), "opts": self.opts,
            "customers": queryset[:200], "count": queryset.count(),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action": request.POST.get("action", ""),
        }
        return TemplateResponse(request, "admin/crm/customer/erase_confirmation.html", context)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PrivacyAuditEntry)
class PrivacyAuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "action", "actor_name", "customer_id"]
    list_filter = ["action", "occurred_at"]
    search_fields = ["actor_name"]
    date_hierarchy = "occurred_at"
    fields = ["occurred_at", "action", "actor", "actor_name", "customer", "detail"]
    readonly_fields = fields


@admin.register(ErasedAddress)
class ErasedAddressAdmin(ReadOnlyAdmin):
    list_display = ["digest", "created_at"]
    fields = ["digest", "created_at"]
    readonly_fields = fields
    search_fields = ["digest"]
    search_help_text = _("Type an address to check whether it was erased (it is hashed first).")

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(digest=address_digest(search_term)), False
