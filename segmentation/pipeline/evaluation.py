"""Scores of a segmentation, apart from fitting it (as ``sklearn.metrics`` is).

:func:`rule_scores` measures rule-defined segments against the reference
clustering on a scaled matrix; :func:`evaluate` does it for a fitted
:class:`~segmentation.pipeline.estimator.RuleSegmenter` (or its
:class:`~segmentation.pipeline.result.SegmentModel`) on any customers, new
ones included: their rule segment, their nearest reference centre, both
compared in the space the clustering saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .metrics import fidelity, kmeans_cost, price_of_explainability, sample_scores

__all__ = ["evaluate", "rule_scores", "separation_scores"]


def separation_scores(
    X: np.ndarray,
    labels: np.ndarray,
    cluster_labels: np.ndarray,
    sample: np.ndarray,
    random_state: int = 0,
) -> dict[str, float | None]:
    """How well separated the rule segments and the clusters are, on the ``sample`` rows.

    ``silhouette_rules``, ``davies_bouldin_rules``, ``calinski_harabasz_rules`` and
    ``silhouette_clusters`` (the quadratic scores, so on a sample).
    """
    rules = sample_scores(X[sample], labels[sample], random_state)
    return {
        "silhouette_rules": rules["silhouette"],
        "davies_bouldin_rules": rules["davies_bouldin"],
        "calinski_harabasz_rules": rules["calinski_harabasz"],
        "silhouette_clusters": sample_scores(X[sample], cluster_labels[sample], random_state)[
            "silhouette"
        ],
    }


def rule_scores(
    X: np.ndarray,
    labels: np.ndarray,
    cluster_labels: np.ndarray,
    sample: np.ndarray | None = None,
    random_state: int = 0,
) -> dict[str, Any]:
    """Fidelity, price of explainability, silhouettes and sizes of rule segments.

    Parameters
    ----------
    X : ndarray of shape (n, m)
        Scaled features.
    labels : ndarray of int
        Rule segment of each row (``-1``: no rule selects it).
    cluster_labels : ndarray of int
        Reference cluster of each row.
    sample : ndarray of int, optional
        Rows for the quadratic scores (silhouette); default all.
    random_state : int

    Returns
    -------
    dict
        ``fidelity``, ``price_of_explainability``, ``silhouette_rules`` (with
        ``davies_bouldin_rules`` and ``calinski_harabasz_rules``),
        ``silhouette_clusters``, ``kmeans_cost_rules``, ``kmeans_cost_clusters``,
        ``sizes``, ``unassigned``.
    """
    sample = np.arange(len(labels)) if sample is None else sample
    k = int(max(labels.max(initial=-1), cluster_labels.max(initial=-1))) + 1
    keep = labels >= 0
    return {
        "fidelity": fidelity(labels, cluster_labels),
        "price_of_explainability": price_of_explainability(X, labels, cluster_labels),
        **separation_scores(X, labels, cluster_labels, sample, random_state),
        "kmeans_cost_rules": kmeans_cost(X[keep], labels[keep]),
        "kmeans_cost_clusters": kmeans_cost(X[keep], cluster_labels[keep]),
        "sizes": np.bincount(labels[keep], minlength=k).tolist(),
        "unassigned": int((~keep).sum()),
    }


def evaluate(model, frame: pd.DataFrame, random_state: int = 0) -> dict[str, Any]:
    """Score a fitted segmentation on customers (the fitted ones or new ones).

    Parameters
    ----------
    model : RuleSegmenter or SegmentModel
        Anything with ``predict`` (rule segments), ``predict_clusters``
        (nearest reference centre) and ``transform`` (scaled features).
    frame : pandas.DataFrame
        Raw features, one row per customer.
    random_state : int

    Returns
    -------
    dict
        See :func:`rule_scores`.
    """
    X = model.transform(frame)
    return rule_scores(X, model.predict(frame), model.predict_clusters(frame),
                       random_state=random_state)
