"""Benchmark: the whole segmentation job against the seed notebook's way, same orders.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rulecast_bench \
        .venv/bin/python bench/segment.py --customers 100000

Product: features from orders in PostgreSQL, clustering, the rule tree, rules,
membership written (one `execute_run`), timed until the run is usable (segments
and members saved, status succeeded); the diagnostics it computes after that
(comparison models, silhouettes, map) are printed apart. Baseline, on the same rows exported to
CSV (export not timed): pandas.read_csv, groupby to the same per-customer
features, KMeans.fit_predict, a DecisionTreeClassifier fit on the labels.
Prints: segment: N customers, X s (baseline Y s, ratio R), fidelity F, price P, peak RSS M MB,
diagnostics after D s
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from _setup import PeakRSS, setup_django

NOW = datetime(2026, 6, 1, tzinfo=UTC)
K = 5
# Hidden groups: share, mean orders, median amount, days since last order, tenure, sessions/30d
GROUPS = [
    (0.15, 20, 900.0, 7, 900, 8),
    (0.25, 12, 80.0, 20, 600, 4),
    (0.25, 6, 300.0, 300, 800, 0.3),
    (0.15, 2, 250.0, 15, 40, 3),
    (0.20, 1, 150.0, 120, 300, 12),
]


#: Customers generated at a time: bounds the generator's memory for 3M and more.
GENERATE_BLOCK = 1_000_000


def generate(customers: int, seed: int = 0) -> None:
    """Fill the crm tables with COPY: ~10 orders and ~5 sessions per customer.

    Up to GENERATE_BLOCK customers come from one random stream (the same shop as
    before for 100k and 1M); a larger shop is made of blocks of that many.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE crm_customer, crm_order, crm_event, "
            "segmentation_customerfeatures, segmentation_segmentmembership, "
            "segmentation_segment, segmentation_segmentationrun, "
            "segmentation_segmentation RESTART IDENTITY CASCADE"
        )
        for block, first in enumerate(range(1, customers + 1, GENERATE_BLOCK)):
            count = min(GENERATE_BLOCK, customers + 1 - first)
            rng = np.random.default_rng(seed if block == 0 else (seed, block))
            _generate_block(cursor.cursor, np.arange(first, first + count), rng)
        cursor.execute("SELECT setval('crm_customer_id_seq', %s)", [customers])
        # As a shop's tables are once autovacuum has been by: the product's first read of
        # freshly copied rows would otherwise pay for setting their hint bits.
        for table in ("crm_customer", "crm_order", "crm_event"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def _generate_block(raw, ids: np.ndarray, rng: np.random.Generator) -> None:
    customers = len(ids)
    shares = np.array([g[0] for g in GROUPS])
    group = rng.choice(len(GROUPS), size=customers, p=shares / shares.sum())
    table = np.array(GROUPS)[group]
    tenure = table[:, 4] * rng.uniform(0.7, 1.3, customers)
    n_orders = np.maximum(1, rng.poisson(table[:, 1]))
    n_sessions = rng.poisson(table[:, 5])
    now_ts = NOW.timestamp()
    signup = pd.to_datetime(now_ts - tenure * 86400, unit="s", utc=True)
    frame = pd.DataFrame(
        {
            "id": ids,
            "email": [f"c{i}@example.com" for i in ids],
            "name": "",
            "gender": "",
            "city": "",
            "country": "CN",
            "signed_up_at": signup,
            "consent_status": "granted",
            "consent_source": "",
            "attributes": "{}",
            "created_at": signup,
            "updated_at": signup,
        }
    )
    _copy(raw, "crm_customer", frame)
    owner = np.repeat(ids, n_orders)
    position = np.concatenate([np.arange(n) for n in n_orders])
    last = np.repeat(table[:, 3], n_orders) * rng.uniform(0.5, 1.5, len(owner))
    span = np.repeat(tenure, n_orders)
    days = np.minimum(
        last + position * (span - last).clip(0) / np.repeat(n_orders, n_orders), span
    )
    amount = np.repeat(table[:, 2], n_orders) * rng.lognormal(0, 0.4, len(owner))
    orders = pd.DataFrame(
        {
            "customer_id": owner,
            "placed_at": pd.to_datetime(now_ts - days * 86400, unit="s", utc=True),
            "amount": amount.round(2),
            "currency": "CNY",
            "item_count": rng.integers(1, 4, len(owner)),
            "category": rng.choice(["phones", "laptops", "audio", "home", "games"], len(owner)),
            "channel": "web",
            "status": "completed",
            "attributes": "{}",
            "created_at": pd.Timestamp(NOW),
        }
    )
    _copy(raw, "crm_order", orders)
    visitor = np.repeat(ids, n_sessions)
    events = pd.DataFrame(
        {
            "customer_id": visitor,
            "event_type": "session",
            "occurred_at": pd.to_datetime(
                now_ts - rng.uniform(0, 45, len(visitor)) * 86400, unit="s", utc=True
            ),
            "properties": "{}",
        }
    )
    _copy(raw, "crm_event", events)


def _copy(raw_cursor, table: str, frame: pd.DataFrame, chunk: int = 500_000) -> None:
    columns = ", ".join(frame.columns)
    with raw_cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        for start in range(0, len(frame), chunk):
            buffer = io.StringIO()
            # Quoted strings: an unquoted empty field would be NULL to COPY.
            frame.iloc[start : start + chunk].to_csv(
                buffer, header=False, index=False, quoting=csv.QUOTE_NONNUMERIC
            )
            copy.write(buffer.getvalue())


def run_product() -> tuple[float, float, dict, float]:
    """Time to a usable run (segments and members saved), then the diagnostics after it."""
    # scikit-learn and SciPy loaded before the clock, as the baseline imports them before
    # its own and as a worker has them after its first run (a process that never segments
    # does not load them: see segmentation.pipeline).
    import segmentation.pipeline.run  # noqa: F401
    from segmentation.models import Segmentation, SegmentationRun
    from segmentation.services import execute_run

    segmentation = Segmentation.objects.create(name=f"bench-{time.time()}", n_clusters=K)
    run = SegmentationRun.objects.create(segmentation=segmentation)
    reached: dict[str, float] = {}
    rss = PeakRSS()

    def note_stage(stage: str, fraction: float) -> None:
        if stage not in reached:
            reached[stage] = time.perf_counter()
            rss.stage(stage)

    with rss:
        started = time.perf_counter()
        run = execute_run(run_id=run.pk, now=NOW, progress=note_stage)
        elapsed = time.perf_counter() - started
    if run.status != "succeeded":
        raise SystemExit(f"run failed: {run.error}")
    print(f"  stages: { {k: round(v, 2) for k, v in run.timings.items()} }", file=sys.stderr)
    print(f"  peak RSS MB by stage: { {k: round(v) for k, v in rss.stage_peaks_mb.items()} }",
          file=sys.stderr)
    # Usable when the diagnostics start: segments and memberships are saved, run succeeded.
    usable = reached.get("diagnostics", started + elapsed) - started
    return usable, elapsed - usable, run.metrics, rss.peak_mb


def export_csv(folder: Path) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name, sql in {
            "orders": "SELECT customer_id, placed_at, amount FROM crm_order "
            "WHERE status = 'completed'",
            "customers": "SELECT id, signed_up_at FROM crm_customer",
            "events": "SELECT customer_id, occurred_at FROM crm_event WHERE event_type = 'session'",
        }.items():
            with (
                open(folder / f"{name}.csv", "wb") as out,
                cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy,
            ):
                for block in copy:
                    out.write(block)


def run_baseline(folder: Path) -> float:
    """The seed article's notebook: read_csv, groupby, KMeans, a decision tree."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    started = time.perf_counter()
    orders = pd.read_csv(folder / "orders.csv")
    customers = pd.read_csv(folder / "customers.csv")
    events = pd.read_csv(folder / "events.csv")
    for table, column in (
        (orders, "placed_at"),
        (customers, "signed_up_at"),
        (events, "occurred_at"),
    ):
        table[column] = pd.to_datetime(table[column], format="ISO8601", utc=True)
    now = pd.Timestamp(NOW)
    orders["recent"] = orders["placed_at"] >= now - timedelta(days=90)
    per_customer = orders.groupby("customer_id").agg(
        last=("placed_at", "max"),
        frequency=("amount", "size"),
        orders_90d=("recent", "sum"),
        total_spend=("amount", "sum"),
    )
    features = customers.set_index("id").join(per_customer)
    features["tenure_days"] = (now - features["signed_up_at"]).dt.total_seconds() / 86400
    features["recency_days"] = ((now - features["last"]).dt.total_seconds() / 86400).fillna(
        features["tenure_days"]
    )
    features["avg_order_value"] = features["total_spend"] / features["frequency"]
    sessions = (
        events[events["occurred_at"] >= now - timedelta(days=30)].groupby("customer_id").size()
    )
    features["sessions_30d"] = sessions
    table = features[
        [
            "recency_days",
            "frequency",
            "orders_90d",
            "total_spend",
            "avg_order_value",
            "tenure_days",
            "sessions_30d",
        ]
    ].fillna(0)
    scaled = StandardScaler().fit_transform(table)
    labels = KMeans(n_clusters=K, random_state=0, n_init="auto").fit_predict(scaled)
    DecisionTreeClassifier(max_leaf_nodes=2 * K, random_state=0).fit(table, labels)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data already loaded")
    parser.add_argument("--product-only", action="store_true",
                        help="skip the notebook baseline (memory per stage at 3M and more)")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        setup_django()
        generate(args.customers)
        return
    if not args.reuse:
        # In a process of its own: the generator's arrays would otherwise stay in this
        # process's heap and count in the product's peak RSS (1,006 MB against 777 MB
        # at a million customers).
        subprocess.run([sys.executable, __file__, "--customers", str(args.customers),
                        "--generate-only"], check=True)
    setup_django()
    product, diagnostics, metrics, peak = run_product()
    if args.product_only:
        print(f"segment: {args.customers} customers, {product:.1f} s (no baseline), "
              f"peak RSS {peak:.0f} MB, diagnostics after {diagnostics:.1f} s")
        return
    with tempfile.TemporaryDirectory() as folder:
        export_csv(Path(folder))
        baseline = run_baseline(Path(folder))
    print(
        f"segment: {args.customers} customers, {product:.1f} s (baseline {baseline:.1f} s, "
        f"ratio {product / baseline:.2f}), fidelity {metrics.get('fidelity', float('nan')):.3f}, "
        f"price {metrics.get('price_of_explainability', float('nan')):.3f}, peak RSS {peak:.0f} MB"
        f", diagnostics after {diagnostics:.1f} s"
    )


if __name__ == "__main__":
    main()
