"""Benchmark: how well the rules explain k-means, against a plain decision tree.

    .venv/bin/python bench/explain_quality.py [--rows 50000] [--big 1000000]

For each table and k = 3..8, the reference is an unconstrained k-means
(n_init=10) of the scaled features, after the explain stage merged clusters
whose rule selected under 2% of customers: both explanations are scored
against that same reference. "rules" is the pipeline's explain stage (IMM +
ExKMC expansion + tree alternating optimisation within the complexity budget,
<= 2k leaves, rules evaluated on the raw table); "cart" is
DecisionTreeClassifier(max_leaf_nodes=2k) fitted on the reference labels.
Printed per k: fidelity, price of
explainability, leaves, smallest segment share, explain time. Targets: price
<= 1.05, fidelity >= 0.92. Then one line timing the explain stage on a
``--big``-row table. No Django, no database.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from segmentation.pipeline.cluster import MiniBatchKMeansStrategy  # noqa: E402
from segmentation.pipeline.config import PipelineConfig  # noqa: E402
from segmentation.pipeline.explain import explain_clusters  # noqa: E402
from segmentation.pipeline.metrics import fidelity, price_of_explainability  # noqa: E402
from segmentation.pipeline.preprocess import clean_frame, prepare  # noqa: E402
from segmentation.pipeline.synthetic import (  # noqa: E402
    make_lognormal_groups,
    make_retail_customers,
    retail_catalog,
)

KS = range(3, 9)


def tables(rows: int):
    """Yield (name, k, frame, catalog) for every benchmark case."""
    retail = make_retail_customers(rows, random_state=0, missing=0.01)
    for k in KS:
        frame, _, catalog = make_lognormal_groups(rows, k, random_state=k, separation=4.0)
        yield "lognormal-separated", k, frame, catalog
    for k in KS:
        frame, _, catalog = make_lognormal_groups(rows, k, random_state=k, separation=2.5)
        yield "lognormal-overlapping", k, frame, catalog
    for k in KS:
        yield "retail", k, retail, retail_catalog()


def measure(name: str, k: int, frame, catalog) -> tuple[bool, bool]:
    prepared = prepare(frame, catalog)
    X, Z = prepared.X, prepared.Z
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
    config = PipelineConfig(n_clusters=k, random_state=0)
    clean = clean_frame(frame, catalog)
    start = time.perf_counter()
    explained = explain_clusters(
        prepared,
        clean,
        km.labels_,
        km.cluster_centers_,
        catalog,
        config,
        np.random.default_rng(0),
    )
    seconds = time.perf_counter() - start
    clusters, labels = explained.cluster_labels, explained.labels
    kk = len(explained.rules)  # k after merging: the reference both are scored against
    shares = np.bincount(labels[labels >= 0], minlength=kk) / len(labels)
    fid, price = fidelity(labels, clusters), price_of_explainability(X, labels, clusters)
    start = time.perf_counter()
    cart = DecisionTreeClassifier(max_leaf_nodes=2 * kk, random_state=0).fit(Z, clusters)
    cart_labels = cart.predict(Z)
    cart_seconds = time.perf_counter() - start
    cart_shares = np.bincount(cart_labels, minlength=kk) / len(cart_labels)
    ok = price <= 1.05 and fid >= 0.92 and kk == k
    print(
        f"{name:22s} k={k} | rules: fidelity {fid:.3f} price {price:.3f} "
        f"leaves {explained.n_leaves:2d} min share {shares.min():.3f} {seconds:5.2f}s"
        f"{'' if ok else '  (target missed)'} | cart: fidelity "
        f"{fidelity(cart_labels, clusters):.3f} price "
        f"{price_of_explainability(X, cart_labels, clusters):.3f} "
        f"leaves {cart.get_n_leaves():2d} "
        f"min share {cart_shares.min():.3f} {cart_seconds:5.2f}s",
        flush=True,
    )
    return ok, price <= price_of_explainability(X, cart_labels, clusters) + 1e-9


def big(rows: int, k: int = 8) -> None:
    frame = make_retail_customers(rows, random_state=1, missing=0.01)
    catalog = retail_catalog()
    prepared = prepare(frame, catalog)
    sample = np.arange(min(rows, 10_000))
    labels, centres = MiniBatchKMeansStrategy(0).fit(prepared.X, k, sample)
    clean = clean_frame(frame, catalog)
    start = time.perf_counter()
    explained = explain_clusters(
        prepared,
        clean,
        labels,
        centres,
        catalog,
        PipelineConfig(n_clusters=k),
        np.random.default_rng(0),
    )
    seconds = time.perf_counter() - start
    print(
        f"explain stage on {rows:,} rows x {frame.shape[1]} features, k={k}: {seconds:.1f}s "
        f"(tree on {explained.rows:,} rows, everyone assigned by rules); fidelity "
        f"{fidelity(explained.labels, explained.cluster_labels):.3f} price "
        f"{price_of_explainability(prepared.X, explained.labels, explained.cluster_labels):.3f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="0 skips the timing line")
    args = parser.parse_args()
    results = [measure(*case) for case in tables(args.rows)]
    met = sum(ok for ok, _ in results)
    better = sum(b for _, b in results)
    print(
        f"explain_quality: targets met in {met}/{len(results)} cases; "
        f"price at or below CART's in {better}/{len(results)}"
    )
    if args.big:
        big(args.big)


if __name__ == "__main__":
    main()
