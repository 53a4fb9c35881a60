"""The import commands' shared options: parse them, call ``import_csv``, print the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ..models import ColumnMapping, ImportKind
from .mapping import (
    ImportMapping,
    parse_map_options,
    read_mapping_file,
    save_column_mapping,
)
from .reading import WHITESPACE, ImportFileError
from .report import ImportReport
from .service import import_csv


class ImportCommand(BaseCommand):
    """``import_<kind> FILE [--map FIELD=HEADER ...] [--mapping NAME] [--dry-run] ...``

    Prints a summary and every bad row as ``line N: column: reason``. Exits non-zero
    only when nothing could be imported: the file cannot be read (no header, a mapped
    column missing...) or a batch failed (the import stopped; batches before it stay).
    """

    kind: ImportKind

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?",
                            help="CSV file to import, or - for standard input (without a "
                                 "file, --mapping-file only saves the mapping)")
        parser.add_argument(
            "--map", action="append", default=[], metavar="FIELD=HEADER",
            help='map a field to a header of the file, e.g. --map external_id="Customer ID" '
                 "(repeatable; on top of --mapping / --mapping-file)",
        )
        parser.add_argument(
            "--mapping-file", "--map-file", dest="mapping_file", metavar="JSON",
            help='a JSON mapping: {"columns": {field: header}, "values": {field: {from: to}},'
                 ' "date_format": ...}; one with a "name" is also saved as a column mapping',
        )
        parser.add_argument("--mapping", metavar="NAME",
                            help="a column mapping saved in the admin, by name")
        parser.add_argument("--date-format", default="",
                            help="strptime format for ambiguous dates, e.g. %%d/%%m/%%Y")
        parser.add_argument("--dry-run", action="store_true",
                            help="validate and count, write nothing")
        parser.add_argument("--batch-size", type=int, default=None,
                            help="rows per transaction (default RULECAST_CRM IMPORT_BATCH_SIZE)")
        parser.add_argument("--encoding", default=None,
                            help="the file's encoding (default: UTF-8 if valid, else detected "
                                 "among RULECAST_CRM IMPORT_ENCODINGS: GB18030, Windows-1252)")
        parser.add_argument(
            "--rate", action="append", default=[], metavar="CODE=RATE",
            help="exchange rate of a currency into the shop's (DEFAULT_CURRENCY), e.g. "
                 "--rate EUR=1.08 (repeatable; replaces RULECAST_CRM CURRENCY_RATES); rows in "
                 "a currency without a rate are refused",
        )
        parser.add_argument("--delimiter", default=None,
                            help="the field delimiter (default: sniffed; use \\t for tab, "
                                 "'space' for columns apart by runs of spaces)")
        parser.add_argument(
            "--columns", default=None, metavar="NAME,NAME,...",
            help="the file has no header line: these are its columns' names, in order "
                 "(field names or headers, e.g. customer_id,order_date,items,amount)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["file"] and not options["mapping_file"]:
            raise CommandError("give a CSV file to import (or --mapping-file to save a mapping)")
        try:
            mapping = self.build_mapping(options)
            if not options["file"]:
                return
            delimiter = options["delimiter"]
            if delimiter in ("\\t", "tab", "TAB"):
                delimiter = "\t"
            elif delimiter and delimiter.strip().lower() in ("", "space", "spaces", "whitespace"):
                delimiter = WHITESPACE
            header = None
            if options["columns"] is not None:
                header = [name.strip() for name in options["columns"].split(",")]
            report = import_csv(
                source=self.open_source(options["file"]),
                kind=self.kind,
                mapping=mapping,
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                encoding=options["encoding"],
                delimiter=delimiter,
                currency_rates=self.parse_rates(options["rate"]),
                header=header,
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        self.print_report(report)
        if report.failure is not None:
            raise CommandError("the import stopped at a failed batch (see above)")

    @staticmethod
    def parse_rates(pairs: list[str]) -> dict[str, str] | None:
        """``['EUR=1.08', ...]`` to a rate table; None (the setting) when none is given."""
        if not pairs:
            return None
        rates = {}
        for pair in pairs:
            code, sep, rate = pair.partition("=")
            if not sep or not code.strip() or not rate.strip():
                raise CommandError(f"--rate expects CODE=RATE, got {pair!r}")
            rates[code.strip()] = rate.strip()
        return rates

    def open_source(self, name: str):
        if name == "-":
            return sys.stdin.buffer
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"no such file: {name}")
        return path

    def build_mapping(self, options: dict[str, Any]) -> ImportMapping | None:
        """The saved mapping, then the mapping file, then --map and --date-format on top."""
        mapping = None
        if options["mapping"]:
            try:
                saved = ColumnMapping.objects.get(name=options["mapping"])
            except ColumnMapping.DoesNotExist:
                names = ", ".join(ColumnMapping.objects.values_list("name", flat=True))
                raise CommandError(
                    f"no saved column mapping {options['mapping']!r} (saved: {names or 'none'})"
                ) from None
            self.check_kind(saved.kind, f"the mapping {saved.name!r}")
            mapping = ImportMapping.from_column_mapping(saved)
        if options["mapping_file"]:
            shipped = read_mapping_file(options["mapping_file"])
            if shipped.kind:
                self.check_kind(shipped.kind, options["mapping_file"])
            mapping = (mapping or ImportMapping()).merged(shipped.mapping)
            if not shipped.name and not options["file"]:
                raise CommandError("the mapping file has no \"name\" to save it under")
            if shipped.name and not options["dry_run"]:
                save_column_mapping(name=shipped.name, kind=self.kind, mapping=shipped.mapping)
                self.stdout.write(f"Saved the column mapping {shipped.name!r}.")
        extra = ImportMapping(parse_map_options(options["map"]), {}, options["date_format"])
        if extra.columns or extra.date_format:
            mapping = (mapping or ImportMapping()).merged(extra)
        return mapping

    def check_kind(self, kind: str, what: str) -> None:
        if kind != self.kind:
            raise CommandError(
                f"{what} is for {kind}, not {self.kind.value}; "
                f"use the import command for {kind}"
            )

    def print_report(self, report: ImportReport) -> None:
        self.stdout.write(report.summary())
        for error in report.errors:
            self.stdout.write(str(error))
        if report.error_count > len(report.errors):
            self.stdout.write(f"... and {report.error_count - len(report.errors)} more errors.")
