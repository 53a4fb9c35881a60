"""``manage.py export_orders [-o FILE] [--bom]``: orders to CSV."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from crm import exporting
from crm.privacy.audit import log_csv_export


class ExportCommand(BaseCommand):
    """Stream rows to a file or standard output, in chunks (bounded memory)."""

    rows = staticmethod(exporting.order_rows)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")
        parser.add_argument("--bom", action="store_true",
                            help="start with a UTF-8 BOM, for Excel")
        parser.add_argument("--chunk-size", type=int, default=None,
                            help="rows read per query (default RULECAST_CRM EXPORT_CHUNK_SIZE)")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = self.rows(chunk_size=options["chunk_size"])
        log_csv_export(what=self.rows.__name__, actor_name="manage.py export")  # privacy audit
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                count = exporting.write_csv(rows, out, bom=options["bom"])
            self.stderr.write(f"{count} rows written to {options['output']}.")
        else:
            exporting.write_csv(rows, _Raw(self.stdout), bom=options["bom"])


class _Raw:
    """Write to a command's output as is (OutputWrapper would add line endings)."""

    def __init__(self, out) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")


class Command(ExportCommand):
    help = "Export orders to CSV (standard output unless --output is given)."
