"""The admin's import of an uploaded file: store it, preview it, check it, import it.

A job keeps the file's bytes in the database, so the import can run in a Celery
worker on another machine; files up to ``IMPORT_INLINE_MAX_ROWS`` rows are imported in
the request instead. The worker reports its progress on the job after each batch.
"""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass

from django.db import transaction

from ..conf import crm_settings
from ..models import ColumnMapping, ImportJob, ImportKind, ImportStatus
from .labels import CUSTOMER_EXTRA, ORDER_EXTRA
from .mapping import (
    ATTRIBUTES,
    ImportMapping,
    assign_columns,
    attribute_key,
    field_name,
    headerless_names,
)
from .reading import ImportFileError, open_csv
from .report import ImportReport
from .service import import_csv

PREVIEW_ROWS = 5


@dataclass(frozen=True)
class Preview:
    """The first rows of a file as it will be read."""

    header: list[str]
    rows: list[list[str]]
    encoding: str
    delimiter: str
    #: A file without header line: its columns as named from their values (``header``
    #: holds column_1...), to prefill the dropdowns; None when the values do not tell.
    named: list[str] | None = None


def create_job(*, file_name: str, data: bytes, kind: str,
               mapping: ImportMapping | None = None, user=None) -> ImportJob:
    """Store an uploaded file for mapping and import; raise ImportFileError if it has no
    readable header."""
    opened = open_csv(io.BytesIO(data))  # fail now rather than on the next page
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    return ImportJob.objects.create(
        file_name=file_name[:255], data=data, kind=kind, created_by=user,
        mapping=mapping.as_dict() if mapping else {},
        rows_total=max(lines - opened.header_line, 0),
    )


def job_mapping(job: ImportJob) -> ImportMapping:
    return ImportMapping.from_dict(job.mapping) if job.mapping else ImportMapping()


def preview(*, job: ImportJob, rows: int = PREVIEW_ROWS) -> Preview:
    """The header and first ``rows`` records of the job's file, padded to the header."""
    opened = open_csv(io.BytesIO(bytes(job.data)))
    width = len(opened.header)
    first = []
    try:
        for _, cells, _ in opened.rows:
            first.append((cells + [""] * width)[:width])
            if len(first) >= rows:
                break
    except csv.Error:
        pass  # shown as a row error by the check
    named = None
    if not opened.header_line:
        with contextlib.suppress(ImportFileError):
            named = headerless_names(opened.sample, job.kind)
    return Preview(opened.header, first, opened.encoding, opened.delimiter, named)


def best_saved_mapping(header: list[str], kind: str) -> ColumnMapping | None:
    """The saved mapping of this kind whose columns are all in the file (the one
    covering the most columns), if any."""
    present = {name.strip().casefold() for name in header}
    best, best_count = None, 0
    for saved in ColumnMapping.objects.filter(kind=kind):
        wanted = {str(h).strip().casefold() for h in (saved.columns or {}).values()}
        if wanted and wanted <= present and len(wanted) > best_count:
            best, best_count = saved, len(wanted)
    return best


def suggest_choices(header: list[str], kind: str, mapping: ImportMapping) -> list[str]:
    """Each column's choice for the dropdowns: what the mapping says, else what the header
    names (as an import without a mapping would read it)."""
    try:
        columns = assign_columns(header, kind, mapping)
    except ImportFileError:  # a saved mapping naming a column the file lacks
        columns = assign_columns(header, kind, ImportMapping())
    choices = [CUSTOMER_EXTRA if kind == ImportKind.CUSTOMERS else ORDER_EXTRA] * len(header)
    for column in columns:
        target = column.target
        if target.field == ATTRIBUTES:
            choices[column.index] = CUSTOMER_EXTRA if target.entity == "customer" else ORDER_EXTRA
        else:
            choices[column.index] = field_name(target, kind)
    return choices


def mapping_from_choices(header: list[str], kind: str, choices: list[str],
                         base: ImportMapping, date_format: str) -> ImportMapping:
    """The mapping the dropdowns describe, keeping ``base``'s value translations."""
    columns: dict[str, str] = {}
    keys: set[str] = set()
    for name, choice in zip(header, choices, strict=True):
        if not name:
            continue
        if choice in (CUSTOMER_EXTRA, ORDER_EXTRA):
            key = base_key = attribute_key(name)
            suffix = 1
            while key in keys:
                suffix += 1
                key = f"{base_key}_{suffix}"
            keys.add(key)
            prefix = "order_attributes." if (
                choice == ORDER_EXTRA and kind == ImportKind.CUSTOMERS_AND_ORDERS
            ) else "attributes."
            columns[prefix + key] = name
        else:
            columns[choice] = name
    values = {field: table for field, table in base.values.items() if field in columns}
    return ImportMapping(columns, values, date_format)


def _first_rows(data: bytes, rows: int) -> bytes:
    """The header and about ``rows`` records (cut at a line end)."""
    end = -1
    for _ in range(rows + 1):
        end = data.find(b"\n", end + 1)
        if end == -1:
            return data
    return data[: end + 1]


def check(*, job: ImportJob) -> tuple[ImportReport, int | None]:
    """A dry run of the job's file with its mapping; for a large file, of its first
    ``IMPORT_INLINE_MAX_ROWS`` rows (the number checked is returned, else None)."""
    limit = crm_settings.IMPORT_INLINE_MAX_ROWS
    data = bytes(job.data)
    partial = job.rows_total > limit
    source = io.BytesIO(_first_rows(data, limit) if partial else data)
    report = import_csv(source=source, kind=job.kind, mapping=job_mapping(job), dry_run=True)
    return report, (report.rows_read if partial else None)


def start(*, job: ImportJob) -> ImportJob:
    """Import a small file now, or queue a large one for a worker (after the commit)."""
    if job.rows_total <= crm_settings.IMPORT_INLINE_MAX_ROWS:
        run(job_id=job.pk)
    else:
        from ..tasks import import_csv_job

        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
        transaction.on_commit(lambda: import_csv_job.delay(job.pk))
    job.refresh_from_db()
    return job


def run(*, job_id: int) -> None:
    """Import a job's file, recording progress and the report on the job."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return  # a task delivered twice
    ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.RUNNING, rows_done=0)

    def progress(rows: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(rows_done=rows)

    try:
        report = import_csv(source=io.BytesIO(bytes(job.data)), kind=job.kind,
                            mapping=job_mapping(job), on_progress=progress)
    except ImportFileError as exc:
        ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.FAILED,
                                                   report={"file_error": str(exc)})
        return
    except Exception as exc:
        # Never "importing" forever: the page says what went wrong; the error goes on up.
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.FAILED, report={"file_error": f"{type(exc).__name__}: {exc}"})
        raise
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportStatus.DONE if report.completed else ImportStatus.FAILED,
        rows_done=report.rows_read, report=report.as_dict(),
        data=b"" if report.completed else job.data,  # the report is what is kept
    )
