"""The admin's CSV pages: an import form that shows the report, and CSV exports.

``CsvAdminMixin`` adds them to a ModelAdmin: ``<changelist>/import/`` and
``<changelist>/export/`` (the changelist's current filters), an "Export selected as
CSV" action and the buttons in ``admin/crm/change_list_csv.html``. The views only
validate, call the service and render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import exporting
from ..models import ColumnMapping, ImportKind
from ..privacy.audit import log_csv_export
from .mapping import ImportMapping
from .reading import ImportFileError
from .service import import_csv


class ImportCsvForm(forms.Form):
    file = forms.FileField(label=_("CSV file"),
                           help_text=_("UTF-8 (with or without BOM) or GBK; comma, semicolon "
                                       "or tab separated."))
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportKind.choices)
    mapping = forms.ModelChoiceField(
        queryset=ColumnMapping.objects.all(), required=False, label=_("Column mapping"),
        empty_label=_("None: the headers are Rulecast's field names"),
    )
    date_format = forms.CharField(
        label=_("Date format"), required=False, max_length=50,
        help_text=_("Only for ambiguous dates such as 03/04/2024, e.g. %d/%m/%Y."),
    )
    dry_run = forms.BooleanField(label=_("Dry run: check the file, write nothing"),
                                 required=False)

    def clean(self) -> dict:
        data = super().clean()
        mapping = data.get("mapping")
        if mapping and data.get("kind") and mapping.kind != data["kind"]:
            self.add_error("mapping", _("This mapping is for another kind of file (%(kind)s).")
                           % {"kind": mapping.get_kind_display()})
        return data

    def import_mapping(self) -> ImportMapping | None:
        """The saved mapping chosen, with the date format typed in on top."""
        data = self.cleaned_data
        mapping = ImportMapping.from_column_mapping(data["mapping"]) if data["mapping"] else None
        if data["date_format"]:
            mapping = (mapping or ImportMapping()).merged(
                ImportMapping(date_format=data["date_format"])
            )
        return mapping


def csv_response(rows: Iterator[list[str]], name: str) -> StreamingHttpResponse:
    """Stream rows as a CSV download (with a BOM, so Excel reads UTF-8)."""
    response = StreamingHttpResponse(exporting.csv_lines(rows, bom=True),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


class CsvAdminMixin:
    """CSV import and export for a ModelAdmin (customers or orders)."""

    change_list_template = "admin/crm/change_list_csv.html"
    import_kind: ImportKind
    export_rows: Callable[..., Iterator[list[str]]]  # a staticmethod
    actions = ["export_selected_csv"]

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name=f"{prefix}_import"),
            path("export/", view(self.export_view), name=f"{prefix}_export"),
            *super().get_urls(),
        ]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {**(extra_context or {}),
                         "has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Export selected as CSV"), permissions=["view"])
    def export_selected_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        log_csv_export(request=request, what=self.opts.label_lower)  # privacy audit
        return csv_response(self.export_rows(queryset), self.opts.model_name + "s")

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """All rows the changelist shows with its current filters and search."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            queryset = self.get_queryset(request)
        log_csv_export(request=request, what=self.opts.label_lower)  # privacy audit
        return csv_response(self.export_rows(queryset), self.opts.model_name + "s")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportCsvForm(request.POST or None, request.FILES or None,
                             initial={"kind": self.import_kind})
        report = None
        if request.method == "POST" and form.is_valid():
            try:
                report = import_csv(
                    source=form.cleaned_data["file"],
                    kind=form.cleaned_data["kind"],
                    mapping=form.import_mapping(),
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ImportFileError as exc:
                form.add_error("file", str(exc))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import CSV"),
            "opts": self.opts,
            "form": form,
            "report": report,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/crm/import_form.html", context)
