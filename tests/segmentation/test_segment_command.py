"""``manage.py segment``: options for one run, --save to keep them, --as-of, --labels."""

import csv
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from segmentation.models import SegmentationRun
from segmentation.services import default_segmentation

pytestmark = pytest.mark.django_db


def segment(*args: str) -> tuple[SegmentationRun, str]:
    out = StringIO()
    call_command("segment", *args, "--lang", "en", stdout=out, stderr=StringIO())
    return SegmentationRun.objects.order_by("-pk").first(), out.getvalue()


def test_k_and_algorithm_apply_to_one_run_unless_saved(shop):
    run, output = segment("--k", "4", "--algorithm", "minibatch_kmeans", "--as-of", "2026-06-01")
    assert run.metrics["k"] == 4 and run.metrics["algorithm"] == "minibatch_kmeans"
    assert run.options == {"n_clusters": 4, "algorithm": "minibatch_kmeans"}
    segmentation = default_segmentation()
    assert segmentation.n_clusters is None and segmentation.algorithm == "kmeans"
    assert "as of 2026-06-01 00:00" in output and "k=4" in output

    run, _ = segment("--k", "3", "--save", "--as-of", "2026-06-01")
    segmentation.refresh_from_db()
    assert segmentation.n_clusters == 3 and run.options == {} and run.metrics["k"] == 3
    run, _ = segment("--as-of", "2026-06-01")
    assert run.metrics["k"] == 3

    run, _ = segment("--k", "auto", "--save", "--as-of", "2026-06-01")
    segmentation.refresh_from_db()
    assert segmentation.n_clusters is None and len(run.metrics["k_scores"]) > 1


def test_as_of_is_the_start_of_the_day_and_printed(shop):
    run, output = segment("--k", "3", "--as-of", "2026-05-20")
    expected = timezone.make_aware(datetime(2026, 5, 20))
    assert run.as_of == expected
    assert run.as_of.astimezone(UTC) != datetime(2026, 6, 1, tzinfo=UTC)
    assert f"as of {timezone.localtime(expected):%Y-%m-%d %H:%M}" in output


def test_labels_are_written_beside_the_clusters(shop, tmp_path):
    target = tmp_path / "labels.csv"
    run, _ = segment("--k", "3", "--as-of", "2026-06-01", "--labels", str(target))
    with target.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(shop)
    assert set(rows[0]) == {"customer_id", "segment", "segment_name", "cluster"}
    agree = sum(row["segment"] == row["cluster"] for row in rows) / len(rows)
    assert agree == pytest.approx(run.metrics["fidelity"], abs=1e-9)


def test_bad_options_are_refused(shop):
    with pytest.raises(CommandError):
        call_command("segment", "--k", "many", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError):
        call_command("segment", "--as-of", "June", stdout=StringIO(), stderr=StringIO())
