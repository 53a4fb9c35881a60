"""Vectorised searches for the best single-column threshold at a tree node.

Each search sorts the node's rows once per column (by slicing a global
argsort) and scores every threshold with cumulative sums, so a node costs
O(rows x columns x k). A threshold is always a data value ``z`` of a row at the
node (the largest value sent left), so ``Z <= z`` reproduces the split exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SortedColumns", "Split", "cost_split", "imm_split", "tao_split"]


@dataclass(frozen=True)
class Split:
    """A candidate split: column, raw threshold, its cost and the child labels."""

    feature: int
    threshold: float
    cost: float
    left_label: int = -1
    right_label: int = -1


class SortedColumns:
    """Global per-column argsorts of the raw split matrix ``Z``."""

    def __init__(self, Z: np.ndarray, min_leaf: int = 1) -> None:
        self.Z = Z
        self.min_leaf = max(1, int(min_leaf))
        self.order = [np.argsort(Z[:, j], kind="stable") for j in range(Z.shape[1])]

    @property
    def n_columns(self) -> int:
        """Number of split columns."""
        return self.Z.shape[1]

    def sorted_rows(self, j: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the rows in ``mask`` sorted by column ``j`` and the valid cut positions.

        A cut at position ``p`` sends sorted rows ``0..p`` left; it is valid when
        the value changes after ``p`` and both sides keep ``min_leaf`` rows.
        """
        order = self.order[j]
        rows = order[mask[order]]
        z = self.Z[rows, j]
        cuts = np.flatnonzero(z[:-1] < z[1:])
        n = len(rows)
        cuts = cuts[(cuts + 1 >= self.min_leaf) & (n - cuts - 1 >= self.min_leaf)]
        return rows, cuts


def cost_split(
    cols: SortedColumns, losses: np.ndarray, mask: np.ndarray, keep: int | None = None
) -> Split | None:
    """Best split of a leaf whose children each take their cheapest label.

    Parameters
    ----------
    cols : SortedColumns
    losses : ndarray of shape (n, k)
        ``losses[i, a]``: cost of giving row ``i`` label ``a`` (squared distance
        to centre ``a``).
    mask : ndarray of bool, shape (n,)
        Rows in the leaf.
    keep : int or None
        A label one of the children must keep (the leaf is its only leaf).

    Returns
    -------
    Split or None
        The split minimising the summed child costs (ExKMC's expansion step).
    """
    best: Split | None = None
    for j in range(cols.n_columns):
        rows, cuts = cols.sorted_rows(j, mask)
        if not cuts.size:
            continue
        cum = np.cumsum(losses[rows], axis=0)
        left = cum[cuts]
        right = cum[-1] - left
        if keep is None:
            ll, rl = left.argmin(1), right.argmin(1)
        else:
            a = np.full(len(cuts), keep)
            l_best, r_best = left.argmin(1), right.argmin(1)
            keep_left = left[:, keep] + right.min(1) <= left.min(1) + right[:, keep]
            ll = np.where(keep_left, a, l_best)
            rl = np.where(keep_left, r_best, a)
        idx = np.arange(len(cuts))
        costs = left[idx, ll] + right[idx, rl]
        p = int(costs.argmin())
        if best is None or costs[p] < best.cost:
            threshold = cols.Z[rows[cuts[p]], j]
            best = Split(j, float(threshold), float(costs[p]), int(ll[p]), int(rl[p]))
    return best


def tao_split(
    cols: SortedColumns, loss_left: np.ndarray, loss_right: np.ndarray, mask: np.ndarray
) -> Split | None:
    """Best split of an internal node with its two subtrees held fixed.

    Parameters
    ----------
    cols : SortedColumns
    loss_left, loss_right : ndarray of shape (n,)
        Cost of each row if it goes down the left (right) subtree.
    mask : ndarray of bool
        Rows reaching the node.

    Returns
    -------
    Split or None
        The split minimising the summed cost (one step of tree alternating
        optimisation, exact for an axis-aligned node).
    """
    diff = loss_left - loss_right
    base = float(loss_right[mask].sum())
    best: Split | None = None
    for j in range(cols.n_columns):
        rows, cuts = cols.sorted_rows(j, mask)
        if not cuts.size:
            continue
        cum = np.cumsum(diff[rows])[cuts]
        p = int(cum.argmin())
        cost = base + float(cum[p])
        if best is None or cost < best.cost:
            best = Split(j, float(cols.Z[rows[cuts[p]], j]), cost)
    return best


def imm_split(
    cols: SortedColumns,
    X: np.ndarray,
    labels: np.ndarray,
    mask: np.ndarray,
    centres: np.ndarray,
    present: np.ndarray,
) -> tuple[Split, np.ndarray] | None:
    """IMM step: the threshold separating the node's centres with fewest mistakes.

    A mistake is a row at the node whose own centre goes to the other side
    (Moshkovitz et al., ICML 2020). Rows whose centre already left the node
    are ignored.

    Parameters
    ----------
    cols : SortedColumns
    X : ndarray of shape (n, m)
        Scaled data (the same column order as ``cols.Z``).
    labels : ndarray of int, shape (n,)
        Reference cluster of each row.
    mask : ndarray of bool
        Rows at the node.
    centres : ndarray of shape (k, m)
        Cluster centres in the scaled space.
    present : ndarray of int
        Clusters whose centre is at the node (at least two).

    Returns
    -------
    (Split, goes_left) or None
        ``goes_left[i]`` tells whether centre ``present[i]`` goes left.
    """
    rank_of = np.full(len(centres), -1)
    best: tuple[Split, np.ndarray] | None = None
    for j in range(cols.n_columns):
        rows, cuts = cols.sorted_rows(j, mask)
        if not cuts.size:
            continue
        coords = centres[present, j]
        order = np.argsort(coords, kind="stable")
        sorted_coords = coords[order]
        rank_of[:] = -1
        rank_of[present[order]] = np.arange(len(present))
        ranks = rank_of[labels[rows]]
        hits = np.zeros((len(rows), len(present)))
        ours = ranks >= 0
        hits[np.flatnonzero(ours), ranks[ours]] = 1.0
        cum_rank = np.cumsum(np.cumsum(hits, axis=0), axis=1)  # rows<=p with rank<=g
        xs = X[rows, j]
        mids = (xs[cuts] + xs[cuts + 1]) / 2.0
        gap = np.searchsorted(sorted_coords, mids, side="right") - 1
        ok = (gap >= 0) & (gap < len(present) - 1)
        if not ok.any():
            continue
        cuts, gap = cuts[ok], gap[ok]
        seen = cum_rank[cuts, -1]
        left_ok = cum_rank[cuts, gap]
        total_left = cum_rank[-1, gap]
        mistakes = (seen - left_ok) + (total_left - left_ok)
        p = int(mistakes.argmin())
        if best is None or mistakes[p] < best[0].cost:
            goes_left = np.empty(len(present), dtype=bool)
            goes_left[order] = np.arange(len(present)) <= gap[p]
            split = Split(j, float(cols.Z[rows[cuts[p]], j]), float(mistakes[p]))
            best = (split, goes_left)
    return best


def majority_split(
    cols: SortedColumns, labels: np.ndarray, mask: np.ndarray, present: np.ndarray
) -> tuple[Split, np.ndarray] | None:
    """Fallback when no threshold separates the centres themselves.

    Each centre goes to the side holding most of its rows; the split minimises
    the rows sent away from their centre, with centres on both sides.
    """
    best: tuple[Split, np.ndarray] | None = None
    index = np.full(labels.max() + 1, -1)
    index[present] = np.arange(len(present))
    for j in range(cols.n_columns):
        rows, cuts = cols.sorted_rows(j, mask)
        if not cuts.size:
            continue
        pos = index[labels[rows]]
        hits = np.zeros((len(rows), len(present)))
        ours = pos >= 0
        hits[np.flatnonzero(ours), pos[ours]] = 1.0
        cum = np.cumsum(hits, axis=0)
        left = cum[cuts]
        right = cum[-1] - left
        goes_left = left > right
        ok = goes_left.any(1) & ~goes_left.all(1)
        if not ok.any():
            continue
        mistakes = np.where(goes_left, right, left).sum(1)
        mistakes[~ok] = np.inf
        p = int(mistakes.argmin())
        if best is None or mistakes[p] < best[0].cost:
            split = Split(j, float(cols.Z[rows[cuts[p]], j]), float(mistakes[p]))
            best = (split, goes_left[p].copy())
    return best
