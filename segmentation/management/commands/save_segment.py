"""Save a hand-written segment from a JSON or JsonLogic rule file."""

import json

from django.core.management.base import BaseCommand, CommandError

from segmentation.models import Segment, SegmentKind
from segmentation.rules import RuleError
from segmentation.services import parse_rule_document, save_manual_segment


class Command(BaseCommand):
    help = "Create or update a hand-written segment whose rule is in FILE (JSON or JsonLogic)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("file", help="The rule document ('-' for stdin).")
        parser.add_argument("--format", choices=["json", "jsonlogic"], default="json")
        parser.add_argument("--name-zh", default="")
        parser.add_argument("--everyone", action="store_true",
                            help="Allow a clause without conditions (every customer).")

    def handle(self, *args, name: str, file: str, format: str, name_zh: str,
               everyone: bool = False, **options) -> None:
        import sys

        try:
            text = sys.stdin.read() if file == "-" else open(file, encoding="utf-8").read()
            rule = parse_rule_document(json.loads(text), format, everyone=everyone)
        except (OSError, json.JSONDecodeError) as error:
            raise CommandError(f"Cannot read the rule: {error}") from None
        except RuleError as error:
            raise CommandError(f"Invalid rule: {error}") from None
        existing = Segment.objects.filter(kind=SegmentKind.MANUAL, name=name).first()
        segment = save_manual_segment(name=name, name_zh=name_zh, rule=rule, segment=existing)
        self.stdout.write(f"Segment #{segment.pk} {segment.name}: {segment.size} customers")
