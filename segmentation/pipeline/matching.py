"""Matching a new run's segments to the published run's, by shared members."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SegmentMatching", "match_segments"]


@dataclass(frozen=True)
class SegmentMatching:
    """How the old segments map to the new ones.

    ``pairs`` maps a new segment index to the old one it continues (only pairs
    that share members); ``movement[i, j]`` counts customers moving from old
    segment ``i`` to new segment ``j`` (the last row and column: in no segment).
    """

    pairs: dict[int, int]
    movement: np.ndarray
    adjusted_rand_index: float


def match_segments(
    old_labels: np.ndarray, new_labels: np.ndarray, n_old: int, n_new: int
) -> SegmentMatching:
    """Optimal one-to-one matching of segments by member overlap (Hungarian).

    Parameters
    ----------
    old_labels, new_labels : ndarray of int
        Each customer's old and new segment index, ``-1`` for none, aligned.
    n_old, n_new : int
        Number of old and new segments.

    Returns
    -------
    SegmentMatching
    """
    # Imported here: the web process loads this module (publishing), not a run's libraries.
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import adjusted_rand_score

    old = np.where(old_labels >= 0, old_labels, n_old)
    new = np.where(new_labels >= 0, new_labels, n_new)
    movement = np.bincount(old * (n_new + 1) + new, minlength=(n_old + 1) * (n_new + 1))
    movement = movement.reshape(n_old + 1, n_new + 1).astype(np.int64)
    overlap = movement[:n_old, :n_new]
    pairs: dict[int, int] = {}
    if overlap.size:
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        pairs = {int(c): int(r) for r, c in zip(rows, cols, strict=True) if overlap[r, c] > 0}
    ari = float(adjusted_rand_score(old, new)) if len(old) else 1.0
    return SegmentMatching(pairs=pairs, movement=movement, adjusted_rand_index=ari)
