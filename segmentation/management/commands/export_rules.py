"""Export the rules of one segment or of a whole run."""

from django.core.management.base import BaseCommand, CommandError

from segmentation.exports import FILE_FORMATS, LANGUAGES, export_run, export_segments
from segmentation.models import Segment, SegmentationRun


class Command(BaseCommand):
    help = "Print a segment's or a run's rules as text, JSON, JsonLogic or SQL."

    def add_arguments(self, parser) -> None:
        parser.add_argument("target", help="segment:ID or run:ID (a bare number is a segment)")
        parser.add_argument("--format", choices=FILE_FORMATS, default="text")
        parser.add_argument("--lang", choices=LANGUAGES, default="en")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args, target: str, format: str, lang: str, output: str | None,
               **options) -> None:
        kind, _, ident = target.rpartition(":")
        kind = kind or "segment"
        if not ident.isdigit() or kind not in ("segment", "run"):
            raise CommandError(f"Expected segment:ID or run:ID, got {target!r}.")
        try:
            if kind == "run":
                exported = export_run(SegmentationRun.objects.get(pk=ident), format, lang=lang)
            else:
                exported = export_segments([Segment.objects.get(pk=ident)], format, lang=lang)
        except (Segment.DoesNotExist, SegmentationRun.DoesNotExist):
            raise CommandError(f"No {kind} with id {ident}.") from None
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(exported.content)
        else:
            self.stdout.write(exported.content, ending="")
