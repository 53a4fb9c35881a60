"""Run a segmentation in the foreground, with a progress bar, and print its rules."""

import sys
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from segmentation.exports import render_rule
from segmentation.membership import write_run_labels
from segmentation.models import Algorithm, RunStatus, Segmentation, SegmentationRun
from segmentation.services import create_run, default_segmentation, execute_run, publish_run


def k_option(value: str) -> int | None:
    """``--k``: a number of segments, or ``auto`` to choose."""
    if value.strip().lower() == "auto":
        return None
    try:
        k = int(value)
    except ValueError:
        raise ValueError(f"not a number of segments or 'auto': {value!r}") from None
    if k < 2:
        raise ValueError("at least 2 segments")
    return k


def as_of_option(value: str) -> datetime:
    """``--as-of YYYY-MM-DD``: the start of that day in the current time zone."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"not a date YYYY-MM-DD: {value!r}") from None
    return timezone.make_aware(datetime.combine(day, time.min))


class Command(BaseCommand):
    help = "Segment the customers now (no worker needed) and print each segment's rule."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--segmentation", help="Name of the segmentation (default: Default).")
        parser.add_argument("--k", type=k_option, default=False, metavar="N|auto",
                            help="Number of segments of customers with orders, or 'auto' to "
                                 "choose (default: the segmentation's setting). This run only, "
                                 "unless --save.")
        parser.add_argument("--algorithm", choices=Algorithm.values,
                            help="Clustering algorithm for this run only, unless --save.")
        parser.add_argument("--seed", type=int,
                            help="Random seed for this run only, unless --save.")
        parser.add_argument("--save", action="store_true",
                            help="Keep --k, --algorithm and --seed on the segmentation.")
        parser.add_argument("--as-of", type=as_of_option, metavar="YYYY-MM-DD",
                            help="Measure every time feature as of the start of this day "
                                 "(default: now, or the day after the latest order or event "
                                 "when the data ended more than 30 days ago).")
        parser.add_argument("--labels", metavar="FILE",
                            help="Write each customer's segment and k-means cluster as CSV.")
        parser.add_argument("--publish", action="store_true",
                            help="Publish the run if it succeeds.")
        parser.add_argument("--lang", choices=["en", "zh", "both"], default="both")

    def handle(self, *args, **options) -> None:
        segmentation = self._segmentation(options)
        overrides = self._overrides(options)
        if options["save"] and overrides:
            for field, value in overrides.items():
                setattr(segmentation, field, value)
            segmentation.save(update_fields=list(overrides))
            overrides = {}
        try:
            with transaction.atomic():
                run = create_run(segmentation=segmentation, as_of=options["as_of"],
                                 options=overrides)
        except ValueError as error:
            raise CommandError(str(error)) from None
        run = execute_run(run_id=run.pk, progress=self._progress_bar)
        sys.stderr.write("\n")
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} failed: {run.error}")
        if options["publish"]:
            publish_run(run=run)
        self._print_run(run, options["lang"])
        if options["labels"]:
            with open(options["labels"], "w", encoding="utf-8", newline="") as stream:
                count = write_run_labels(run, stream)
            self.stderr.write(f"{count} customers' segment and cluster written to "
                              f"{options['labels']}")

    def _segmentation(self, options) -> Segmentation:
        if not options["segmentation"]:
            return default_segmentation()
        try:
            return Segmentation.objects.get(name=options["segmentation"])
        except Segmentation.DoesNotExist:
            raise CommandError(f"No segmentation named {options['segmentation']!r}.") from None

    @staticmethod
    def _overrides(options) -> dict:
        """Options given on the command line, as segmentation fields (``--k auto`` is None)."""
        given = {}
        if options["k"] is not False:
            given["n_clusters"] = options["k"]
        if options["algorithm"] is not None:
            given["algorithm"] = options["algorithm"]
        if options["seed"] is not None:
            given["random_seed"] = options["seed"]
        return given

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
        as_of = timezone.localtime(run.as_of).strftime("%Y-%m-%d %H:%M") if run.as_of else "?"
        added = metrics.get("nonbuyer_segments", 0)
        self.stdout.write(
            f"Run #{run.pk}: {run.customer_count} customers as of {as_of}, "
            f"{run.segments.count()} segments (k={metrics.get('k')}"
            f"{f' + {added} for customers who never ordered' if added else ''}), "
            f"fidelity {metrics.get('fidelity', 0):.3f}, "
            f"price of explainability {metrics.get('price_of_explainability', 0):.3f}"
        )
        for note in metrics.get("notes", []):
            self.stdout.write(f"  note: {note}")
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
