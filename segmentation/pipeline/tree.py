"""A small axis-aligned threshold tree over raw split columns.

Internal nodes send a row left when ``Z[row, feature] <= threshold`` (as
scikit-learn does), right otherwise; leaves carry a segment label. The arrays
are plain Python lists while the tree grows and numpy arrays when it is applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ThresholdTree"]

LEAF = -1


@dataclass
class ThresholdTree:
    """Binary tree with single-column thresholds; node 0 is the root."""

    feature: list[int] = field(default_factory=lambda: [LEAF])
    threshold: list[float] = field(default_factory=lambda: [np.nan])
    left: list[int] = field(default_factory=lambda: [LEAF])
    right: list[int] = field(default_factory=lambda: [LEAF])
    label: list[int] = field(default_factory=lambda: [0])

    @classmethod
    def leaf(cls, label: int) -> ThresholdTree:
        """Return a one-leaf tree."""
        return cls(label=[int(label)])

    def copy(self) -> ThresholdTree:
        """Return an independent copy."""
        return ThresholdTree(
            list(self.feature),
            list(self.threshold),
            list(self.left),
            list(self.right),
            list(self.label),
        )

    def collapse(self, node: int) -> None:
        """Turn ``node`` into a leaf (its subtree becomes unreachable)."""
        self.feature[node] = LEAF
        self.threshold[node] = np.nan
        self.left[node] = self.right[node] = LEAF

    def hoist(self, node: int, keep_left: bool) -> ThresholdTree:
        """Return a copy where ``node`` is replaced by one of its children's subtrees.

        The split at ``node`` disappears from every path below it and the other
        subtree's leaves are dropped: the rows that reached them now go down
        the kept subtree. The result is still a partition of every row.
        """
        new = self.copy()
        child = self.left[node] if keep_left else self.right[node]
        new.feature[node], new.threshold[node] = self.feature[child], self.threshold[child]
        new.left[node], new.right[node] = self.left[child], self.right[child]
        new.label[node] = self.label[child]
        return new._reindex(0)

    def is_leaf(self, node: int) -> bool:
        """Return whether ``node`` is a leaf."""
        return self.feature[node] == LEAF

    def _add(self, label: int) -> int:
        self.feature.append(LEAF)
        self.threshold.append(np.nan)
        self.left.append(LEAF)
        self.right.append(LEAF)
        self.label.append(int(label))
        return len(self.feature) - 1

    def split(
        self, node: int, feature: int, threshold: float, left_label: int, right_label: int
    ) -> tuple[int, int]:
        """Turn leaf ``node`` into a split with two new leaves; return their ids."""
        left, right = self._add(left_label), self._add(right_label)
        self.feature[node] = int(feature)
        self.threshold[node] = float(threshold)
        self.left[node], self.right[node] = left, right
        return left, right

    def nodes(self, start: int = 0) -> list[int]:
        """Return the nodes under ``start`` in breadth-first order."""
        out, queue = [], [start]
        while queue:
            node = queue.pop(0)
            out.append(node)
            if not self.is_leaf(node):
                queue += [self.left[node], self.right[node]]
        return out

    def leaves(self, start: int = 0) -> list[int]:
        """Return the leaves under ``start``."""
        return [n for n in self.nodes(start) if self.is_leaf(n)]

    def internal(self) -> list[int]:
        """Return the internal nodes, breadth-first."""
        return [n for n in self.nodes() if not self.is_leaf(n)]

    @property
    def n_leaves(self) -> int:
        """Number of reachable leaves."""
        return len(self.leaves())

    def apply(self, Z: np.ndarray, start: int = 0) -> np.ndarray:
        """Return the leaf id each row of ``Z`` reaches from node ``start``."""
        feature = np.asarray(self.feature)
        threshold = np.asarray(self.threshold, dtype=float)
        left, right = np.asarray(self.left), np.asarray(self.right)
        node = np.full(len(Z), start, dtype=np.intp)
        active = np.flatnonzero(feature[node] != LEAF)
        while active.size:
            at = node[active]
            go_left = Z[active, feature[at]] <= threshold[at]
            node[active] = np.where(go_left, left[at], right[at])
            active = active[feature[node[active]] != LEAF]
        return node

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """Return the label of the leaf each row reaches."""
        return np.asarray(self.label)[self.apply(Z)]

    def paths(self) -> dict[int, list[tuple[int, float, bool]]]:
        """Return ``{leaf: [(feature, threshold, goes_left), ...]}`` from the root."""
        out: dict[int, list[tuple[int, float, bool]]] = {}
        stack: list[tuple[int, list[tuple[int, float, bool]]]] = [(0, [])]
        while stack:
            node, path = stack.pop()
            if self.is_leaf(node):
                out[node] = path
                continue
            f, t = self.feature[node], self.threshold[node]
            stack.append((self.right[node], [*path, (f, t, False)]))
            stack.append((self.left[node], [*path, (f, t, True)]))
        return dict(sorted(out.items()))

    def compact(self, counts: np.ndarray | None = None) -> ThresholdTree:
        """Return an equivalent smaller tree.

        Leaves with a zero count (dead on the training rows) are dropped, their
        parent replaced by the sibling; a split whose two leaves share a label
        becomes one leaf. ``counts`` is indexed by node id (None keeps all).
        """
        new = ThresholdTree(feature=[], threshold=[], left=[], right=[], label=[])

        def copy(node: int) -> int | None:
            if self.is_leaf(node):
                if counts is not None and counts[node] == 0:
                    return None
                return new._add(self.label[node])
            left, right = copy(self.left[node]), copy(self.right[node])
            if left is None or right is None:
                return right if left is None else left
            if new.is_leaf(left) and new.is_leaf(right) and new.label[left] == new.label[right]:
                return left  # right stays as an unreachable orphan
            idx = new._add(0)
            new.feature[idx], new.threshold[idx] = self.feature[node], self.threshold[node]
            new.left[idx], new.right[idx] = left, right
            return idx

        root = copy(0)
        if root is None:
            return ThresholdTree.leaf(self.label[self.leaves()[0]])
        return new._reindex(root)

    def _reindex(self, root: int) -> ThresholdTree:
        """Return a copy with only the nodes reachable from ``root``, root first."""
        order = self.nodes(root)
        pos = {old: i for i, old in enumerate(order)}
        new = ThresholdTree(feature=[], threshold=[], left=[], right=[], label=[])
        for old in order:
            new.feature.append(self.feature[old])
            new.threshold.append(self.threshold[old])
            new.left.append(pos.get(self.left[old], LEAF))
            new.right.append(pos.get(self.right[old], LEAF))
            new.label.append(self.label[old])
        return new
