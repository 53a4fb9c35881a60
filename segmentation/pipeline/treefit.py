"""The threshold tree that explains a clustering.

Algorithm (all on a sample of at most ``max_rows`` rows; everybody else is
assigned by the resulting rules):

1. **IMM** (Moshkovitz, Dasgupta, Rashtchian, Frost, ICML 2020): top-down from
   the cluster centres; each split is the single-column threshold separating
   the node's centres that sends the fewest rows away from their centre. This
   yields k leaves, one per centre, so every cluster is reachable.
2. **ExKMC expansion** (Frost, Moshkovitz, Rashtchian 2020): while the leaf
   budget allows and it pays, split the leaf whose best split most reduces
   the k-means cost (each child takes its cheapest centre).
3. **Tree alternating optimisation**: revisit every internal node with its
   subtrees fixed and move it to the exactly best column/threshold for the
   k-means cost; relabel leaves optimally (Hungarian, keeping every cluster
   covered); drop dead leaves and merge same-label siblings. Steps 2-3 repeat
   while the cost falls.

The cost of a row in a leaf labelled ``a`` is its squared distance to centre
``a`` in the scaled space, the surrogate of the price of explainability.
Thresholds are raw data values, so the rules (``<=`` / ``>`` on raw columns)
reproduce the tree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.tree import DecisionTreeClassifier

from .splits import SortedColumns, cost_split, imm_split, majority_split, tao_split
from .tree import ThresholdTree

__all__ = ["TreeFit", "fit_threshold_tree", "squared_distances"]


def squared_distances(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return ``(n, k)`` squared Euclidean distances, computed in float64."""
    sq = (X**2).sum(1)[:, None] - 2.0 * X @ centres.T + (centres**2).sum(1)[None, :]
    return np.maximum(sq, 0.0)


@dataclass
class TreeFit:
    """A fitted tree and how it did on the rows it was fitted on."""

    tree: ThresholdTree
    cost: float
    rounds: int
    start: str = "imm"


class _Fitter:
    def __init__(
        self,
        X: np.ndarray,
        Z: np.ndarray,
        labels: np.ndarray,
        centres: np.ndarray,
        min_leaf: int,
        min_size: int,
    ) -> None:
        self.X, self.Z, self.labels, self.centres = X, Z, labels, centres
        self.k = len(centres)
        self.losses = squared_distances(X, centres)
        self.cols = SortedColumns(Z, min_leaf)
        self.min_size = min_size
        self.max_attempts = 12

    # -- helpers ---------------------------------------------------------
    def leaf_costs(self, tree: ThresholdTree, leaf_of: np.ndarray) -> np.ndarray:
        """Return ``(n_nodes, k)`` summed losses per leaf and label."""
        out = np.zeros((len(tree.feature), self.k))
        for a in range(self.k):
            out[:, a] = np.bincount(leaf_of, self.losses[:, a], minlength=len(tree.feature))
        return out

    def cost(self, tree: ThresholdTree, leaf_of: np.ndarray) -> float:
        """Return the surrogate k-means cost of the tree."""
        return float(self.losses[np.arange(len(leaf_of)), np.asarray(tree.label)[leaf_of]].sum())

    def sizes_ok(self, tree: ThresholdTree, leaf_of: np.ndarray) -> bool:
        """Return whether every label keeps at least ``min_size`` rows."""
        sizes = np.bincount(np.asarray(tree.label)[leaf_of], minlength=self.k)
        return bool((sizes >= self.min_size).all())

    # -- step 1: IMM -----------------------------------------------------
    def imm(self) -> ThresholdTree:
        tree = ThresholdTree.leaf(0)
        n = len(self.labels)
        todo = [(0, np.ones(n, dtype=bool), np.arange(self.k))]
        while todo:
            node, mask, present = todo.pop()
            if len(present) == 1:
                tree.label[node] = int(present[0])
                continue
            found = imm_split(self.cols, self.X, self.labels, mask, self.centres, present)
            if found is None:
                found = majority_split(self.cols, self.labels, mask, present)
            if found is None:  # no row separates these centres: keep the largest
                counts = np.bincount(self.labels[mask], minlength=self.k)[present]
                tree.label[node] = int(present[counts.argmax()])
                continue
            split, goes_left = found
            left, right = tree.split(node, split.feature, split.threshold, 0, 0)
            go = self.Z[:, split.feature] <= split.threshold
            todo.append((left, mask & go, present[goes_left]))
            todo.append((right, mask & ~go, present[~goes_left]))
        return tree

    # -- step 2: expansion -----------------------------------------------
    def expand(
        self, tree: ThresholdTree, max_leaves: int, min_gain: float, cover: bool = True
    ) -> np.ndarray:
        leaf_of = tree.apply(self.Z)
        while tree.n_leaves < max_leaves:
            leaves = tree.leaves()
            label = np.asarray(tree.label)
            counts = np.bincount(leaf_of, minlength=len(tree.feature))
            per_label = np.bincount(label[leaves], weights=counts[leaves] > 0, minlength=self.k)
            costs = self.leaf_costs(tree, leaf_of)
            best = None
            for leaf in leaves:
                if counts[leaf] < 2 * self.cols.min_leaf:
                    continue
                keep = tree.label[leaf] if cover and per_label[tree.label[leaf]] <= 1 else None
                split = cost_split(self.cols, self.losses, leaf_of == leaf, keep)
                if split is None:
                    continue
                gain = costs[leaf, tree.label[leaf]] - split.cost
                if best is None or gain > best[0]:
                    best = (gain, leaf, split)
            if best is None or best[0] <= min_gain:
                break
            _, leaf, split = best
            left, right = tree.split(
                leaf, split.feature, split.threshold, split.left_label, split.right_label
            )
            rows = leaf_of == leaf
            go = self.Z[:, split.feature] <= split.threshold
            leaf_of[rows & go], leaf_of[rows & ~go] = left, right
        return leaf_of

    # -- step 3: alternating optimisation --------------------------------
    def relabel(self, tree: ThresholdTree, leaf_of: np.ndarray) -> None:
        """Give each leaf its cheapest label while every label keeps a leaf."""
        leaves = np.asarray(tree.leaves())
        counts = np.bincount(leaf_of, minlength=len(tree.feature))[leaves]
        costs = self.leaf_costs(tree, leaf_of)[leaves]
        best = costs.argmin(1)
        if len(leaves) >= self.k:
            extra = costs - costs.min(1, keepdims=True)
            extra[counts == 0] += 1e18
            cover_label, cover_leaf = linear_sum_assignment(extra.T)
            best[cover_leaf] = cover_label
        for leaf, lab in zip(leaves, best, strict=True):
            tree.label[leaf] = int(lab)

    def tao_pass(self, tree: ThresholdTree, leaf_of: np.ndarray) -> np.ndarray:
        label = np.asarray(tree.label)
        for node in reversed(tree.internal()):
            under = np.zeros(len(tree.feature), dtype=bool)
            under[tree.leaves(node)] = True
            mask = under[leaf_of]
            idx = np.flatnonzero(mask)
            if idx.size < 2:
                continue
            via_left = tree.apply(self.Z[idx], tree.left[node])
            via_right = tree.apply(self.Z[idx], tree.right[node])
            loss_left = np.zeros(len(leaf_of))
            loss_right = np.zeros(len(leaf_of))
            loss_left[idx] = self.losses[idx, label[via_left]]
            loss_right[idx] = self.losses[idx, label[via_right]]
            now = self.losses[idx, label[leaf_of[idx]]].sum()
            split = tao_split(self.cols, loss_left, loss_right, mask)
            if split is None or split.cost >= now - 1e-9 * max(now, 1.0):
                continue
            go = self.Z[idx, split.feature] <= split.threshold
            proposal = leaf_of.copy()
            proposal[idx] = np.where(go, via_left, via_right)
            if not self.sizes_ok(tree, proposal):
                continue
            tree.feature[node], tree.threshold[node] = split.feature, split.threshold
            leaf_of = proposal
        return leaf_of

    # -- other starting points -------------------------------------------
    def greedy(self, max_leaves: int) -> ThresholdTree:
        """Top-down cost splits from a single leaf (ExKMC without IMM)."""
        tree = ThresholdTree.leaf(int(self.losses.sum(0).argmin()))
        self.expand(tree, max_leaves, 0.0, cover=False)
        return tree

    def cart(self, max_leaves: int, random_state: int) -> ThresholdTree:
        """A CART tree on the reference labels, thresholds moved onto data values."""
        cart = DecisionTreeClassifier(max_leaf_nodes=max_leaves, random_state=random_state)
        t = cart.fit(self.Z, self.labels).tree_
        tree = ThresholdTree(feature=[], threshold=[], left=[], right=[], label=[])
        for i in range(t.node_count):
            leaf = t.children_left[i] == -1
            j = -1 if leaf else int(t.feature[i])
            threshold = np.nan
            if not leaf:
                column = self.Z[self.cols.order[j], j]
                below = np.searchsorted(column, t.threshold[i], side="right") - 1
                threshold = float(column[max(below, 0)])
            tree.feature.append(j)
            tree.threshold.append(threshold)
            tree.left.append(int(t.children_left[i]))
            tree.right.append(int(t.children_right[i]))
            tree.label.append(int(cart.classes_[t.value[i][0].argmax()]))
        return tree

    def refine(self, tree: ThresholdTree, max_leaves: int, min_gain: float) -> TreeFit:
        """Alternate expansion and tree alternating optimisation until stable."""
        best_cost = np.inf
        rounds = 0
        for rounds in range(1, 7):  # noqa: B007
            leaf_of = self.expand(tree, max_leaves, min_gain)
            self.relabel(tree, leaf_of)
            for _ in range(8):
                before = self.cost(tree, leaf_of)
                leaf_of = self.tao_pass(tree, leaf_of)
                self.relabel(tree, leaf_of)
                if self.cost(tree, leaf_of) >= before - 1e-7 * before:
                    break
            tree = tree.compact(np.bincount(leaf_of, minlength=len(tree.feature)))
            cost = self.cost(tree, tree.apply(self.Z))
            if cost >= best_cost - 1e-6 * best_cost:
                break
            best_cost = cost
        return TreeFit(tree, self.cost(tree, tree.apply(self.Z)), rounds)

    def restructure(self, fit: TreeFit, max_leaves: int, min_gain: float) -> TreeFit:
        """Local search over structures: collapse a subtree, regrow, keep if cheaper.

        At most ``max_attempts`` collapses are tried (deepest nodes first), so
        the time stays bounded and the result deterministic.
        """
        best = fit
        attempts = 0
        improved = True
        while improved and attempts < self.max_attempts:
            improved = False
            for node in reversed(best.tree.internal()[1:]):
                if attempts >= self.max_attempts:
                    break
                attempts += 1
                tree = best.tree.copy()
                tree.collapse(node)
                candidate = self.refine(tree.compact(), max_leaves, min_gain)
                if candidate.cost < best.cost * (1 - 1e-6) and self.covers(candidate.tree):
                    candidate.start = best.start
                    best, improved = candidate, True
                    break
        return best

    def covers(self, tree: ThresholdTree) -> bool:
        """Return whether every label has rows and at least ``min_size`` of them."""
        leaf_of = tree.apply(self.Z)
        sizes = np.bincount(np.asarray(tree.label)[leaf_of], minlength=self.k)
        return bool((sizes >= max(self.min_size, 1)).all())


def fit_threshold_tree(
    X: np.ndarray,
    Z: np.ndarray,
    labels: np.ndarray,
    centres: np.ndarray,
    *,
    max_leaves: int,
    min_leaf: int = 1,
    min_size: int = 1,
    min_gain_share: float = 0.002,
    inits: tuple[str, ...] = ("imm", "greedy", "cart"),
    random_state: int = 0,
    restructure: bool = True,
) -> TreeFit:
    """Fit a threshold tree on raw columns that reproduces a clustering.

    Parameters
    ----------
    X : ndarray of shape (n, m)
        Scaled data, where costs are measured.
    Z : ndarray of shape (n, m)
        The same columns in raw units (monotone in ``X`` column by column);
        thresholds are values of ``Z``.
    labels : ndarray of int, shape (n,)
        Reference cluster ``0..k-1`` of each row.
    centres : ndarray of shape (k, m)
        Reference centres in the scaled space.
    max_leaves : int
        Leaf budget (at least k).
    min_leaf : int
        Fewest rows a new leaf may hold.
    min_size : int
        Fewest rows each label must keep during refinement.
    min_gain_share : float
        Stop adding leaves when the best split lowers the cost by less than
        this share of the reference cost.
    inits : tuple of str
        Starting trees to refine, the cheapest result wins: ``"imm"`` (IMM),
        ``"greedy"`` (top-down cost splits), ``"cart"`` (CART on the labels).
    random_state : int
        Seed for the CART start.
    restructure : bool
        After refining the best start, try collapsing each subtree and
        regrowing the freed leaves elsewhere, keeping any cheaper tree.

    Returns
    -------
    TreeFit
    """
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    labels = np.asarray(labels, dtype=np.intp)
    fitter = _Fitter(X, Z, labels, np.asarray(centres, dtype=float), min_leaf, min_size)
    reference = float(fitter.losses[np.arange(len(labels)), labels].sum())
    budget = max(max_leaves, len(centres))
    min_gain = min_gain_share * reference
    starts = {
        "imm": fitter.imm,
        "greedy": lambda: fitter.greedy(budget),
        "cart": lambda: fitter.cart(budget, random_state),
    }
    best: TreeFit | None = None
    for name in inits:
        fit = fitter.refine(starts[name](), budget, min_gain)
        fit.start = name
        if fitter.covers(fit.tree) and (best is None or fit.cost < best.cost * (1 - 1e-9)):
            best = fit
    if best is not None and restructure:
        best = fitter.restructure(best, budget, min_gain)
    if best is None:  # only IMM guarantees coverage; return it even if sizes are short
        best = fitter.refine(fitter.imm(), budget, min_gain)
        best.start = "imm"
    return best
