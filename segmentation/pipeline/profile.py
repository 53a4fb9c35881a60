"""Segment profiles: how each segment's features compare with the whole."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["segment_profiles", "segment_zscores"]


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def segment_profiles(
    frame: pd.DataFrame, labels: np.ndarray, k: int
) -> list[dict[str, dict[str, float | None]]]:
    """Return, per segment, ``{feature: {mean, median, overall_mean, overall_median}}``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Numeric features in raw units (NaN ignored).
    labels : ndarray of int
        Segment per row, ``-1`` for none.
    k : int

    Returns
    -------
    list of dict
        One dict per segment ``0..k-1``; values are floats, None when undefined.
    """
    overall_mean = frame.mean()
    overall_median = frame.median()
    grouped = frame.groupby(labels)
    means, medians = grouped.mean(), grouped.median()
    out = []
    for a in range(k):
        profile = {}
        for col in frame.columns:
            has = a in means.index
            profile[col] = {
                "mean": _number(means.at[a, col]) if has else None,
                "median": _number(medians.at[a, col]) if has else None,
                "overall_mean": _number(overall_mean[col]),
                "overall_median": _number(overall_median[col]),
            }
        out.append(profile)
    return out


def segment_zscores(
    X: np.ndarray, columns: list[str], labels: np.ndarray, k: int
) -> list[dict[str, float]]:
    """Mean standardised value of each numeric feature per segment.

    ``X`` is the scaled matrix (log1p for skewed features, then standardised),
    so the mean of a segment is how many standard deviations it sits from the
    overall mean: a skew-robust z-score.
    """
    out = []
    for a in range(k):
        rows = X[labels == a]
        means = rows.mean(0) if len(rows) else np.zeros(X.shape[1])
        out.append({c: float(means[j]) for j, c in enumerate(columns)})
    return out
