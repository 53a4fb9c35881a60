"""How far the rules are from the clustering, and how good both are.

* **fidelity**: share of all rows the rules put in the same group as the
  reference clustering, after matching rule segments to clusters with the
  Hungarian algorithm; rows no rule selects (missing values) count as misses.
* **price of explainability**: k-means cost (sum of squared distances to the
  group's own mean, in the scaled space) of the rule-defined groups divided by
  that of the reference clustering, both over the rows the rules assign.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "fidelity", "json_safe", "kmeans_cost", "pair_counts", "price_of_explainability",
    "sample_scores",
]


def kmeans_cost(X: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of rows to their group's own mean (labels < 0 skipped).

    Parameters
    ----------
    X : ndarray of shape (n, m)
    labels : ndarray of int, shape (n,)

    Returns
    -------
    float
    """
    keep = labels >= 0
    X, labels = X[keep], labels[keep]
    if not len(labels):
        return 0.0
    k = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=k).astype(float)
    # One bincount per column: np.add.at is an order of magnitude slower.
    sums = np.column_stack([np.bincount(labels, X[:, j], minlength=k) for j in range(X.shape[1])])
    # sum ||x - mean||^2 = sum ||x||^2 - sum_g ||sum_g||^2 / n_g
    between = (sums**2).sum(1) / np.maximum(counts, 1.0)
    return float(max((X**2).sum() - between.sum(), 0.0))


def price_of_explainability(
    X: np.ndarray, rule_labels: np.ndarray, cluster_labels: np.ndarray
) -> float:
    """Cost of the rule groups over the cost of the clusters, on rows the rules assign.

    Parameters
    ----------
    X : ndarray
        Scaled data.
    rule_labels, cluster_labels : ndarray of int
        ``-1`` in ``rule_labels`` marks rows no rule selects; they are left out
        of both costs.

    Returns
    -------
    float
        1.0 means the rules cost nothing; lower than 1 is possible (k-means is
        a local optimum).
    """
    keep = rule_labels >= 0
    reference = kmeans_cost(X[keep], cluster_labels[keep])
    if reference <= 0.0:
        return 1.0
    return kmeans_cost(X[keep], rule_labels[keep]) / reference


def pair_counts(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """``[i][j]``: how many rows have ``a == i`` and ``b == j`` (labels ``0..k-1``)."""
    return np.bincount(a * k + b, minlength=k * k).reshape(k, k)


def matching(rule_labels: np.ndarray, cluster_labels: np.ndarray) -> dict[int, int]:
    """Hungarian matching ``{rule segment: cluster}`` maximising agreement."""
    # SciPy and scikit-learn are imported where used: json_safe alone, imported by the
    # web process, must not load them.
    from scipy.optimize import linear_sum_assignment

    keep = rule_labels >= 0
    k = int(max(rule_labels.max(initial=0), cluster_labels.max(initial=0))) + 1
    table = pair_counts(rule_labels[keep], cluster_labels[keep], k)
    rows, cols = linear_sum_assignment(-table)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True)}


def fidelity(rule_labels: np.ndarray, cluster_labels: np.ndarray) -> float:
    """Share of rows the rules put in the group matched to their cluster.

    Parameters
    ----------
    rule_labels, cluster_labels : ndarray of int, shape (n,)

    Returns
    -------
    float in [0, 1]
    """
    if not len(rule_labels):
        return 1.0
    match = matching(rule_labels, cluster_labels)
    lookup = np.full(max(match, default=0) + 2, -2)
    for r, c in match.items():
        lookup[r] = c
    agree = (rule_labels >= 0) & (lookup[np.maximum(rule_labels, 0)] == cluster_labels)
    return float(agree.mean())


# Silhouette is quadratic in rows: an estimate on this many is within ~0.01 and fast.
SILHOUETTE_ROWS = 3_000


def silhouette(X: np.ndarray, labels: np.ndarray, random_state: int) -> float:
    """Silhouette on at most SILHOUETTE_ROWS rows."""
    from sklearn.metrics import silhouette_score

    sample = min(len(X), SILHOUETTE_ROWS)
    return float(silhouette_score(X, labels, sample_size=sample, random_state=random_state))


def sample_scores(X: np.ndarray, labels: np.ndarray, random_state: int) -> dict[str, float | None]:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz (None when undefined)."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    keep = labels >= 0
    X, labels = X[keep], labels[keep]
    if not 2 <= len(np.unique(labels)) <= len(labels) - 1:
        return {"silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}
    return {
        "silhouette": silhouette(X, labels, random_state),
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
    }


def json_safe(value: Any) -> Any:
    """Convert numpy scalars/arrays to Python, non-finite floats to None, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if math.isfinite(value) else None
    return value
