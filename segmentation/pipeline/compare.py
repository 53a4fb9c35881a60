"""Comparison models: how well simple classifiers reproduce the reference clusters.

Five-fold cross-validated accuracy, on a sample of at most 5,000 rows, of

* ``tree``: the explanation's own threshold tree (refitted on each fold),
* ``logistic_regression`` on the scaled features,
* ``random_forest`` (50 trees of bounded depth) on the raw features.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from .cluster import group_means
from .treefit import fit_threshold_tree

__all__ = ["ThresholdTreeClassifier", "compare_models"]

# Accuracy estimates settle well below this; more rows only cost time.
CV_MAX_ROWS = 3_000


class ThresholdTreeClassifier(ClassifierMixin, BaseEstimator):
    """The explanation tree as a scikit-learn classifier over scaled columns.

    Parameters
    ----------
    max_leaves : int
        Leaf budget.
    random_state : int
    """

    def __init__(self, max_leaves: int = 16, random_state: int = 0) -> None:
        self.max_leaves = max_leaves
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> ThresholdTreeClassifier:
        """Fit on scaled rows ``X`` and cluster labels ``y`` (centres = class means)."""
        X = np.asarray(X, dtype=float)
        self.classes_, codes = np.unique(y, return_inverse=True)
        centres = group_means(X, codes, len(self.classes_))
        self.tree_ = fit_threshold_tree(
            X,
            X,
            codes,
            centres,
            max_leaves=self.max_leaves,
            inits=("imm", "cart"),
            random_state=self.random_state,
            restructure=False,
        ).tree
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the predicted class of each row."""
        return self.classes_[self.tree_.predict(np.asarray(X, dtype=float))]


def compare_models(
    X: np.ndarray,
    Z: np.ndarray,
    labels: np.ndarray,
    *,
    max_leaves: int,
    random_state: int,
) -> dict[str, float | None]:
    """Cross-validated accuracy of three models reproducing ``labels``.

    Parameters
    ----------
    X : ndarray
        Scaled features (for logistic regression and the threshold tree, whose
        splits are monotone in the raw columns).
    Z : ndarray
        Raw features (for the random forest).
    labels : ndarray of int
        Reference clusters.
    max_leaves : int
    random_state : int

    Returns
    -------
    dict
        ``{"tree", "logistic_regression", "random_forest"}`` -> mean accuracy,
        None when a cluster has too few rows to cross-validate.
    """
    rng = np.random.default_rng(random_state)
    n = len(labels)
    rows = np.sort(rng.choice(n, CV_MAX_ROWS, replace=False)) if n > CV_MAX_ROWS else np.arange(n)
    y = labels[rows]
    smallest = np.bincount(y).min() if len(y) else 0
    names = ("tree", "logistic_regression", "random_forest")
    if len(np.unique(y)) < 2 or smallest < 2:
        return dict.fromkeys(names)
    cv = StratifiedKFold(n_splits=int(min(3, smallest)), shuffle=True, random_state=random_state)
    models = {
        "tree": (ThresholdTreeClassifier(max_leaves, random_state), X),
        "logistic_regression": (LogisticRegression(max_iter=500), X),
        "random_forest": (
            RandomForestClassifier(
                n_estimators=50, max_depth=8, n_jobs=1, random_state=random_state
            ),
            Z,
        ),
    }
    return {
        name: float(cross_val_score(model, data[rows], y, cv=cv, n_jobs=1).mean())
        for name, (model, data) in models.items()
    }
