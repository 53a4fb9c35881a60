"""Rule quality for k = 3..8 on the demo shop and on a real file a user brings.

    .venv/bin/python bench/quality.py --sales ../shared/data/electronic_sales.csv

For each k: fidelity and price of explainability against an unconstrained
k-means of the same scaled data, leaves used, the smallest segment's share,
and (demo shop, whose hidden groups are known) the adjusted Rand index of the
rule segments against the hidden groups. Runs on a throwaway SQLite database.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def setup(database: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rulecast.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def measure(label: str, now: datetime, hidden: dict | None) -> None:
    from sklearn.metrics import adjusted_rand_score

    from segmentation.models import Segmentation, SegmentationRun, SegmentMembership
    from segmentation.services import execute_run

    for k in range(3, 9):
        segmentation = Segmentation.objects.create(name=f"{label}-k{k}", n_clusters=k)
        run = SegmentationRun.objects.create(segmentation=segmentation)
        run = execute_run(run_id=run.pk, now=now)
        if run.status != "succeeded":
            print(f"{label:12} k={k}: failed: {run.error}")
            continue
        m = run.metrics
        line = (f"{label:12} k={k}: segments {m['k']}, fidelity {m['fidelity']:.3f}, "
                f"price {m['price_of_explainability']:.3f}, leaves {m['n_leaves']}, "
                f"smallest {min(s.share for s in run.segments.all()):.3f}")
        if hidden:
            found = dict(SegmentMembership.objects.filter(segment__run=run)
                         .values_list("customer_id", "segment__index"))
            ids = sorted(hidden)
            ari = adjusted_rand_score([hidden[i] for i in ids], [found.get(i, -1) for i in ids])
            line += f", ARI vs hidden groups {ari:.3f}"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--sales", type=Path, help="electronic_sales.csv to import and segment")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup(Path(folder) / "quality.sqlite3")
        from crm.demo import seed_demo_shop
        from crm.models import Customer

        seed_demo_shop(customers=args.customers, seed=7, now=NOW)
        hidden = dict(Customer.objects.values_list("pk", "attributes__demo_group"))
        measure("demo shop", NOW, hidden)
        if args.sales:
            measure_sales(args.sales)


def measure_sales(path: Path) -> None:
    from django.core.management import call_command

    from crm.models import Customer, Order

    Customer.objects.all().delete()
    mapping = ROOT / "crm" / "importing" / "mappings" / "electronic_sales.json"
    call_command("import_sales", str(path), mapping_file=str(mapping), verbosity=0)
    last = Order.objects.order_by("-placed_at").values_list("placed_at", flat=True).first()
    measure("sales file", last, None)


if __name__ == "__main__":
    main()
