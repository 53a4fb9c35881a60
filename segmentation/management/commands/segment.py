"""Run a segmentation in the foreground, with a progress bar, and print its rules."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from segmentation.exports import render_rule
from segmentation.models import Algorithm, RunStatus, Segmentation, SegmentationRun
from segmentation.services import default_segmentation, execute_run, publish_run


class Command(BaseCommand):
    help = "Segment the customers now (no worker needed) and print each segment's rule."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--segmentation", help="Name of the segmentation (default: Default).")
        parser.add_argument("--k", type=int, help="Number of segments (default: choose).")
        parser.add_argument("--algorithm", choices=Algorithm.values)
        parser.add_argument("--seed", type=int, help="Random seed.")
        parser.add_argument("--publish", action="store_true",
                            help="Publish the run if it succeeds.")
        parser.add_argument("--lang", choices=["en", "zh", "both"], default="both")

    def handle(self, *args, **options) -> None:
        segmentation = self._segmentation(options)
        with transaction.atomic():
            run = SegmentationRun.objects.create(segmentation=segmentation)
        run = execute_run(run_id=run.pk, progress=self._progress_bar)
        sys.stderr.write("\n")
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} failed: {run.error}")
        if options["publish"]:
            publish_run(run=run)
        self._print_run(run, options["lang"])

    def _segmentation(self, options) -> Segmentation:
        if options["segmentation"]:
            try:
                segmentation = Segmentation.objects.get(name=options["segmentation"])
            except Segmentation.DoesNotExist:
                raise CommandError(f"No segmentation named {options['segmentation']!r}.") from None
        else:
            segmentation = default_segmentation()
        changed = {
            field: options[option]
            for option, field in (("k", "n_clusters"), ("algorithm", "algorithm"),
                                  ("seed", "random_seed"))
            if options[option] is not None
        }
        if changed:
            for field, value in changed.items():
                setattr(segmentation, field, value)
            segmentation.save(update_fields=list(changed))
        return segmentation

    def _progress_bar(self, stage: str, fraction: float) -> None:
        if not sys.stderr.isatty():  # a log, not a terminal: one line per stage
            if stage != getattr(self, "_last_stage", None):
                sys.stderr.write(f"{fraction:4.0%} {stage}\n")
                self._last_stage = stage
            return
        width = 30
        filled = int(width * fraction)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {stage:<12}")
        sys.stderr.flush()

    def _print_run(self, run: SegmentationRun, lang: str) -> None:
        metrics = run.metrics
        self.stdout.write(
            f"Run #{run.pk}: {run.customer_count} customers, {run.segments.count()} segments, "
            f"fidelity {metrics.get('fidelity', 0):.3f}, "
            f"price of explainability {metrics.get('price_of_explainability', 0):.3f}"
        )
        for segment in run.segments.order_by("index"):
            self.stdout.write("")
            if lang in ("en", "both"):
                self.stdout.write(
                    f"{segment.name} — {segment.size} customers ({segment.share:.0%})"
                )
                self.stdout.write(f"  {render_rule(segment, 'text', lang='en')}")
            if lang in ("zh", "both"):
                self.stdout.write(f"{segment.name_zh} — {segment.size} 位客户")
                self.stdout.write(f"  {render_rule(segment, 'text', lang='zh')}")
