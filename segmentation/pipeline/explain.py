"""The explain stage: from a clustering to one rule per segment.

Fits the threshold tree (:mod:`.treefit`) on a sample of at most
:data:`EXPLAIN_MAX_ROWS` rows, rounds thresholds (:mod:`.rulebuild`), turns
leaves into rules and assigns every customer by the rules. A segment whose
rule selects fewer than ``min_segment_share`` of customers is merged into
the nearest cluster and the tree refitted, so k may end lower (noted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..rules.ast import Rule
from ..rules.catalog import FeatureInfo
from .cluster import group_means
from .config import PipelineConfig
from .preprocess import Prepared
from .result import assign_segments
from .rulebuild import round_thresholds, tree_rules
from .treefit import fit_threshold_tree

__all__ = ["EXPLAIN_MAX_ROWS", "Explained", "explain_clusters"]

#: Rows the tree is fitted on; everybody else is assigned by the rules.
EXPLAIN_MAX_ROWS = 60_000


@dataclass
class Explained:
    """Rules, the rule-defined labels and the (possibly merged) clustering."""

    rules: list[Rule]
    labels: np.ndarray
    cluster_labels: np.ndarray
    centres: np.ndarray
    n_leaves: int
    max_leaves: int
    rows: int
    notes: list[str] = field(default_factory=list)


def explain_clusters(
    prepared: Prepared,
    clean: pd.DataFrame,
    cluster_labels: np.ndarray,
    centres: np.ndarray,
    catalog: Mapping[str, FeatureInfo],
    config: PipelineConfig,
    rng: np.random.Generator,
) -> Explained:
    """Explain a clustering with rules over raw features.

    Parameters
    ----------
    prepared : Prepared
        ``X`` (scaled) and ``Z`` (raw split columns) of every row.
    clean : pandas.DataFrame
        The raw features (NaN for missing) the rules are evaluated on.
    cluster_labels : ndarray of int
        Reference clusters ``0..k-1``.
    centres : ndarray of shape (k, m)
    catalog : mapping of str to FeatureInfo
    config : PipelineConfig
    rng : numpy.random.Generator

    Returns
    -------
    Explained
        Segments ordered by size, largest first; cluster labels renumbered to match.
    """
    X, Z = prepared.X, prepared.Z
    n = len(X)
    rows = np.sort(rng.choice(n, EXPLAIN_MAX_ROWS, replace=False)) if n > EXPLAIN_MAX_ROWS else None
    Xs, Zs = (X, Z) if rows is None else (X[rows], Z[rows])
    notes: list[str] = []
    while True:
        k = len(centres)
        max_leaves = config.max_leaves or 2 * k
        ys = cluster_labels if rows is None else cluster_labels[rows]
        fit = fit_threshold_tree(
            Xs,
            Zs,
            ys,
            centres,
            max_leaves=max_leaves,
            min_leaf=max(1, len(Xs) // 1000),
            min_size=int(config.min_segment_share * len(Xs)),
            random_state=config.random_state,
        )
        tree = round_thresholds(fit.tree, Zs, prepared.columns, catalog)
        rules = tree_rules(tree, prepared.columns, k)
        labels = assign_segments(rules, clean)
        sizes = np.bincount(labels[labels >= 0], minlength=k)
        small = np.flatnonzero(sizes < config.min_segment_share * n)
        if not small.size or k <= 2:
            break
        a = int(small[sizes[small].argmin()])
        dist = ((centres - centres[a]) ** 2).sum(1)
        dist[a] = np.inf
        remap = np.full(k, -1)
        remap[[b for b in range(k) if b != a]] = np.arange(k - 1)
        cluster_labels = remap[np.where(cluster_labels == a, int(dist.argmin()), cluster_labels)]
        centres = group_means(X, cluster_labels, k - 1)
        notes.append(
            f"the rule of one segment selected under {config.min_segment_share:.0%} of "
            f"customers; its cluster was merged into the nearest: k is {k - 1}"
        )
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty(k, dtype=np.intp)
    rank[order] = np.arange(k)
    labels = np.where(labels >= 0, rank[np.maximum(labels, 0)], -1)
    cluster_labels = rank[cluster_labels]
    return Explained(
        rules=[rules[a] for a in order],
        labels=labels,
        cluster_labels=cluster_labels,
        centres=group_means(X, cluster_labels, k),
        n_leaves=tree.n_leaves,
        max_leaves=max_leaves,
        rows=len(Xs),
        notes=notes,
    )
