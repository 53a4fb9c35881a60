"""The admin's CSV pages: an import that maps columns for you, and CSV exports.

``CsvAdminMixin`` adds them to a ModelAdmin: ``<changelist>/import/`` (upload),
``<changelist>/import/<job>/`` (the first rows with a dropdown per column, prefilled
from the headers and saved mappings; a dry run with row errors; the import, with a
progress bar when a worker runs it; the report), ``<changelist>/export/`` (the
changelist's current filters), an "Export selected as CSV" action and the buttons in
``admin/crm/change_list_csv.html``. The views only validate, call
:mod:`crm.importing.jobs` and render. Nobody types JSON or field names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import exporting
from ..models import ColumnMapping, ImportJob, ImportKind, ImportStatus
from ..privacy.audit import log_csv_export
from . import jobs
from .labels import CUSTOMER_EXTRA, ORDER_EXTRA, column_choices, label
from .mapping import REQUIRED, ImportMapping, Target, resolve_field, save_column_mapping
from .reading import ImportFileError
from .report import ImportReport


class UploadForm(forms.Form):
    """Step 1: the file, what it holds, and optionally a saved mapping to start from."""

    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Any spreadsheet's CSV: UTF-8, GBK or Windows (Latin-1) text; comma, "
                    "semicolon or tab separated."),
    )
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportKind.choices)
    mapping = forms.ModelChoiceField(
        queryset=ColumnMapping.objects.all(), required=False, label=_("Saved columns"),
        empty_label=_("Recognise the columns for me"),
        help_text=_("The column choices saved from an earlier import of a similar file."),
    )

    def clean(self) -> dict:
        data = super().clean()
        mapping = data.get("mapping")
        if mapping and data.get("kind") and mapping.kind != data["kind"]:
            self.add_error("mapping", _("These columns were saved for another kind of file "
                                        "(%(kind)s).") % {"kind": mapping.get_kind_display()})
        return data


DATE_FORMATS = [
    ("", _("Recognise them (ask me when a date such as 03/04/2024 is ambiguous)")),
    ("%d/%m/%Y", _("Day first: 31/12/2024")),
    ("%m/%d/%Y", _("Month first: 12/31/2024")),
    ("%Y-%m-%d", _("Year first: 2024-12-31")),
]


class ColumnsForm(forms.Form):
    """Step 2: what each column holds, chosen from labels (one dropdown per column)."""

    date_format = forms.ChoiceField(label=_("Dates in the file"), choices=DATE_FORMATS,
                                    required=False)
    save_as = forms.CharField(
        label=_("Remember these choices as"), required=False, max_length=100,
        help_text=_("A name, to preselect them for the next file like this one."),
    )

    def __init__(self, *args, header: list[str], kind: str, choices: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        self.kind = kind
        options = column_choices(kind)
        for index, (name, choice) in enumerate(zip(header, choices, strict=True)):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=name or _("column %(number)s") % {"number": index + 1},
                choices=options, initial=choice,
            )

    def column_fields(self) -> list:
        return [self[f"column_{index}"] for index in range(len(self.header))]

    def clean(self) -> dict:
        data = super().clean()
        chosen = [data.get(f"column_{index}") for index in range(len(self.header))]
        if None in chosen:
            return data
        labels = dict(option for _, group in column_choices(self.kind) for option in group)
        for name in {c for c in chosen if c not in (CUSTOMER_EXTRA, ORDER_EXTRA)}:
            if chosen.count(name) > 1:
                self.add_error(None, _("“%(field)s” is chosen for more than one column.")
                               % {"field": labels[name]})
        present = {(t.entity, t.field) for t in
                   (resolve_field(c, self.kind) for c in chosen
                    if c not in (CUSTOMER_EXTRA, ORDER_EXTRA)) if t}
        for alternatives in REQUIRED[self.kind]:
            if not present.intersection(alternatives):
                names = _(" or ").join(str(label(Target(*target))) for target in alternatives)
                self.add_error(None, _("Choose the column that holds: %(what)s.")
                               % {"what": names})
        data["choices"] = chosen
        return data


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
            path("import/<int:job_id>/", view(self.import_job_view), name=f"{prefix}_import_job"),
            path("import/<int:job_id>/status/", view(self.import_status_view),
                 name=f"{prefix}_import_status"),
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
        """Step 1: upload; then on to the file's page."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None,
                          initial={"kind": self.import_kind})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            saved = data["mapping"]
            try:
                job = jobs.create_job(
                    file_name=data["file"].name, data=data["file"].read(), kind=data["kind"],
                    mapping=ImportMapping.from_column_mapping(saved) if saved else None,
                    user=request.user,
                )
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect(self._job_url("import_job", job))
        return self._render(request, "admin/crm/import_form.html",
                            {"title": _("Import CSV"), "form": form})

    def import_job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """Step 2: the first rows with a dropdown per column; check (dry run) or import.
        Then the progress, then the report."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ImportJob, pk=job_id)
        context = {"title": _("Import %(file)s") % {"file": job.file_name}, "job": job,
                   "status_url": self._job_url("import_status", job)}
        if job.status != ImportStatus.UPLOADED:
            report = job.report or {}
            context["report"] = (ImportReport.from_dict(report)
                                 if report and "file_error" not in report else None)
            context["file_error"] = report.get("file_error")
            return self._render(request, "admin/crm/import_job.html", context)

        try:
            shown = jobs.preview(job=job)
        except ImportFileError as exc:
            context["file_error"] = str(exc)
            return self._render(request, "admin/crm/import_job.html", context)
        base = jobs.job_mapping(job)
        saved = None
        if not base.columns:
            saved = jobs.best_saved_mapping(shown.header, job.kind)
            if saved is not None:
                base = ImportMapping.from_column_mapping(saved)
        form = ColumnsForm(
            request.POST or None, header=shown.header, kind=job.kind,
            # A file without header line: unless a mapping takes its columns by place,
            # the dropdowns say what its values name them.
            choices=jobs.suggest_choices(
                shown.header if base.columns else shown.named or shown.header, job.kind, base),
            initial={"date_format": base.date_format
                     if base.date_format in dict(DATE_FORMATS) else ""},
        )
        if request.method == "POST" and form.is_valid():
            mapping = jobs.mapping_from_choices(
                shown.header, job.kind, form.cleaned_data["choices"], base,
                form.cleaned_data["date_format"] or base.date_format,
            )
            job.mapping = mapping.as_dict()
            job.save(update_fields=["mapping", "updated_at"])
            if form.cleaned_data["save_as"]:
                save_column_mapping(name=form.cleaned_data["save_as"], kind=job.kind,
                                    mapping=mapping)
            if "_import" in request.POST:
                jobs.start(job=job)
                return redirect(self._job_url("import_job", job))
            try:
                context["report"], context["checked_rows"] = jobs.check(job=job)
            except ImportFileError as exc:
                form.add_error(None, str(exc))
        context.update({"form": form, "preview": shown, "saved_mapping": saved})
        return self._render(request, "admin/crm/import_job.html", context)

    def import_status_view(self, request: HttpRequest, job_id: int) -> JsonResponse:
        """The job's progress, for the progress bar."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ImportJob.objects.defer("data"), pk=job_id)
        return JsonResponse({
            "status": job.status, "status_display": str(job.get_status_display()),
            "rows_done": job.rows_done, "rows_total": job.rows_total,
            "finished": job.status in (ImportStatus.DONE, ImportStatus.FAILED),
        })

    def _job_url(self, name: str, job: ImportJob) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}",
                       args=[job.pk])

    def _render(self, request: HttpRequest, template: str, context: dict) -> HttpResponse:
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": self.opts,
            "has_view_permission": self.has_view_permission(request), **context,
        })
