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
4. **Complexity budget** (optional ``complexity(tree) -> excess``, 0 when the
   rules the tree states are short enough): expansion, relabelling and node
   moves that would raise the excess are refused, and a tree still over
   budget is pruned by hoisting (a split replaced by one of its subtrees,
   which keeps a partition) the cheapest way per unit of excess removed.
   Trees are ranked by (excess, cost), so at equal cost the shorter rules win.

The cost of a row in a leaf labelled ``a`` is its squared distance to centre
``a`` in the scaled space (the surrogate of the price of explainability), plus,
when ``a`` is not the row's own cluster, a fixed penalty of
``mismatch_penalty`` times the median margin (a row's distance to its
second-nearest centre minus its distance to its own). With the default
:data:`MISMATCH_PENALTY` the search first keeps rows in their own cluster
(fidelity) and then keeps the misplaced rows near their centre (price): a
pure distance cost trades many rows just across a boundary for a few far
ones, which costs fidelity that a decision tree on the labels keeps.
Thresholds are raw data values, so the rules (``<=`` / ``>`` on raw columns)
reproduce the tree exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.tree import DecisionTreeClassifier

from .splits import SortedColumns, cost_split, imm_split, majority_split, tao_split
from .tree import ThresholdTree

__all__ = [
    "MISMATCH_PENALTY",
    "Complexity",
    "TreeFit",
    "fit_threshold_tree",
    "imm_tree",
    "squared_distances",
]

#: Penalty, in median margins, for a row put in a leaf of another cluster.
MISMATCH_PENALTY = 4.0

#: ``complexity(tree) -> excess``: how far the tree's rules are over budget (0: within).
Complexity = Callable[[ThresholdTree], int]


def squared_distances(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return ``(n, k)`` squared Euclidean distances, computed in float64."""
    sq = (X**2).sum(1)[:, None] - 2.0 * X @ centres.T + (centres**2).sum(1)[None, :]
    return np.maximum(sq, 0.0)


def row_losses(
    X: np.ndarray, labels: np.ndarray, centres: np.ndarray, mismatch_penalty: float
) -> np.ndarray:
    """Return ``(n, k)``: the cost of putting each row in each cluster's leaf.

    The squared distance to that cluster's centre, plus ``mismatch_penalty``
    median margins when it is not the row's own cluster.
    """
    losses = squared_distances(X, centres)
    k = losses.shape[1]
    if mismatch_penalty <= 0 or k < 2:
        return losses
    rows = np.arange(len(labels))
    own = losses[rows, labels]
    others = losses.copy()
    others[rows, labels] = np.inf
    margin = float(np.median(others.min(1) - own)) if len(labels) else 0.0
    penalty = mismatch_penalty * max(margin, 1e-12)
    losses += penalty
    losses[rows, labels] -= penalty
    return losses


@dataclass
class TreeFit:
    """A fitted tree and how it did on the rows it was fitted on."""

    tree: ThresholdTree
    cost: float
    rounds: int
    start: str = "imm"
    excess: int = 0
    free_cost: float | None = None
    free_tree: ThresholdTree | None = None

    def key(self) -> tuple[int, float]:
        """Ranking: fewer conditions over budget first, then lower cost."""
        return (self.excess, self.cost)


class _Fitter:
    def __init__(
        self,
        X: np.ndarray,
        Z: np.ndarray,
        labels: np.ndarray,
        centres: np.ndarray,
        min_leaf: int,
        min_size: int,
        complexity: Complexity | None = None,
        mismatch_penalty: float = MISMATCH_PENALTY,
    ) -> None:
        self.X, self.Z, self.labels, self.centres = X, Z, labels, centres
        self.complexity = complexity
        self.k = len(centres)
        self.losses = row_losses(X, labels, centres, mismatch_penalty)
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

    def excess(self, tree: ThresholdTree) -> int:
        """Return how far the tree's rules are over the complexity budget."""
        return 0 if self.complexity is None else int(self.complexity(tree))

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
        refused: set[int] = set()
        excess = self.excess(tree)
        while tree.n_leaves < max_leaves:
            leaves = tree.leaves()
            label = np.asarray(tree.label)
            counts = np.bincount(leaf_of, minlength=len(tree.feature))
            per_label = np.bincount(label[leaves], weights=counts[leaves] > 0, minlength=self.k)
            costs = self.leaf_costs(tree, leaf_of)
            candidates = []
            for leaf in leaves:
                if counts[leaf] < 2 * self.cols.min_leaf or leaf in refused:
                    continue
                keep = tree.label[leaf] if cover and per_label[tree.label[leaf]] <= 1 else None
                split = cost_split(self.cols, self.losses, leaf_of == leaf, keep)
                if split is None:
                    continue
                gain = costs[leaf, tree.label[leaf]] - split.cost
                if gain > min_gain:
                    candidates.append((gain, leaf, split))
            # best gain first; at equal gain the shallower (earlier, breadth-first) leaf
            candidates.sort(key=lambda c: -c[0])
            chosen = None
            for _, leaf, split in candidates:
                grown = tree.copy()
                grown.split(leaf, split.feature, split.threshold, split.left_label,
                            split.right_label)
                if self.complexity is None or self.excess(grown) <= excess:
                    chosen = (leaf, split)
                    break
                refused.add(leaf)
            if chosen is None:
                break
            leaf, split = chosen
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
        before, excess = list(tree.label), self.excess(tree)
        for leaf, lab in zip(leaves, best, strict=True):
            tree.label[leaf] = int(lab)
        if self.complexity is not None and self.excess(tree) > excess:
            tree.label[:] = before

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
            old = tree.feature[node], tree.threshold[node]
            excess = self.excess(tree) if self.complexity is not None else 0
            tree.feature[node], tree.threshold[node] = split.feature, split.threshold
            if self.complexity is not None and self.excess(tree) > excess:
                tree.feature[node], tree.threshold[node] = old
                continue
            leaf_of = proposal
        return leaf_of

    # -- other starting points -------------------------------------------
    def greedy(self, max_leaves: int) -> ThresholdTree:
        """Top-down cost splits from a single leaf (ExKMC without IMM)."""
        tree = ThresholdTree.leaf(int(self.losses.sum(0).argmin()))
        self.expand(tree, max_leaves, 0.0, cover=False)
        return tree

    def cart(
        self, max_leaves: int, random_state: int, max_depth: int | None = None
    ) -> ThresholdTree:
        """A CART tree on the reference labels, thresholds moved onto data values."""
        cart = DecisionTreeClassifier(
            max_leaf_nodes=max_leaves, max_depth=max_depth, random_state=random_state
        )
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

    def alternate(self, tree: ThresholdTree, leaf_of: np.ndarray) -> np.ndarray:
        """Relabel, then TAO passes and relabelling until the cost stops falling (in place)."""
        self.relabel(tree, leaf_of)
        for _ in range(8):
            before = self.cost(tree, leaf_of)
            leaf_of = self.tao_pass(tree, leaf_of)
            self.relabel(tree, leaf_of)
            if self.cost(tree, leaf_of) >= before - 1e-7 * before:
                break
        return leaf_of

    def refine(self, tree: ThresholdTree, max_leaves: int, min_gain: float) -> TreeFit:
        """Alternate expansion and tree alternating optimisation until stable."""
        best_cost = np.inf
        rounds = 0
        for rounds in range(1, 7):  # noqa: B007
            leaf_of = self.alternate(tree, self.expand(tree, max_leaves, min_gain))
            tree = tree.compact(np.bincount(leaf_of, minlength=len(tree.feature)))
            cost = self.cost(tree, tree.apply(self.Z))
            if cost >= best_cost - 1e-6 * best_cost:
                break
            best_cost = cost
        tree = self.prune_to_budget(tree)
        return TreeFit(tree, self.cost(tree, tree.apply(self.Z)), rounds, excess=self.excess(tree))

    def prune_to_budget(self, tree: ThresholdTree, max_cost: float = np.inf) -> ThresholdTree:
        """Hoist subtrees until the rules fit the complexity budget (or nothing helps).

        Each step takes the hoist (a split replaced by its left or right
        subtree) that removes excess at the smallest rise in cost per unit of
        excess removed, among those that keep every label covered and the
        cost at most ``max_cost``.
        """
        excess = self.excess(tree)
        while excess > 0:
            base = self.cost(tree, tree.apply(self.Z))
            best: tuple[float, ThresholdTree, int] | None = None
            for node in tree.internal():
                for keep_left in (True, False):
                    candidate = tree.hoist(node, keep_left)
                    if not self.covers(candidate):
                        continue
                    lower = self.excess(candidate)
                    if lower >= excess:
                        continue
                    cost = self.cost(candidate, candidate.apply(self.Z))
                    if cost > max_cost:
                        continue
                    rise = (cost - base) / (excess - lower)
                    if best is None or rise < best[0]:
                        best = (rise, candidate, lower)
            if best is None:
                break
            _, tree, excess = best
            polished = tree.copy()
            leaf_of = polished.apply(self.Z)
            self.relabel(polished, leaf_of)
            leaf_of = self.tao_pass(polished, leaf_of)
            polished = polished.compact(np.bincount(leaf_of, minlength=len(polished.feature)))
            if self.covers(polished) and self.excess(polished) <= excess:
                tree, excess = polished, self.excess(polished)
        return tree

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
                better = candidate.excess < best.excess or (
                    candidate.excess == best.excess and candidate.cost < best.cost * (1 - 1e-6)
                )
                if better and self.covers(candidate.tree):
                    candidate.start = best.start
                    best, improved = candidate, True
                    break
        return best

    def polish(self, fit: TreeFit) -> TreeFit:
        """``fit`` (searched on a sample) with thresholds and labels optimised on these rows.

        Only alternating optimisation: the shape stays, so the budget and the
        leaf count hold; a polished tree that stops covering every label is
        not kept.
        """
        tree = fit.tree.copy()
        leaf_of = self.alternate(tree, tree.apply(self.Z))
        tree = tree.compact(np.bincount(leaf_of, minlength=len(tree.feature)))
        if not self.covers(tree) or self.excess(tree) > self.excess(fit.tree):
            tree = fit.tree
        return TreeFit(tree, self.cost(tree, tree.apply(self.Z)), fit.rounds, fit.start,
                       self.excess(tree), free_tree=fit.free_tree)

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
    complexity: Complexity | None = None,
    cost_tolerance: float = 0.02,
    max_depth: int | None = None,
    mismatch_penalty: float = MISMATCH_PENALTY,
    search_rows: int | None = None,
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
        regrowing the freed leaves elsewhere, keeping any cheaper tree
        (not in the sampled search of ``search_rows``).
    complexity : callable, optional
        ``complexity(tree) -> int``, how many conditions and clauses the
        tree's rules have over budget. The unbounded search runs first; then
        the tree with the fewest conditions over budget (then the cheapest)
        whose cost is within ``cost_tolerance`` of it wins: the budgeted
        search's own tree, or the unbounded tree pruned step by step.
    max_depth : int, optional
        With a budget, also start from a CART tree of this depth (its paths
        have at most that many conditions).
    cost_tolerance : float
        Share of the reference k-means cost the budget may add to the best
        unbounded tree's cost (0.02: 2%). ``TreeFit.free_cost`` keeps that cost.
    mismatch_penalty : float
        Extra cost, in median margins, of a row put in another cluster's
        leaf (0: the pure k-means cost, as ExKMC).
    search_rows : int, optional
        With more rows than this, the structure (which splits, which leaves)
        is searched on a random sample of this many rows, then every split's
        threshold and every leaf's label are polished on all rows
        (alternating optimisation, the same tree shape). The search runs many
        refinements; the polish one, so the fit costs about the search on the
        sample plus one pass over every row.

    Returns
    -------
    TreeFit
    """
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    labels = np.asarray(labels, dtype=np.intp)
    if search_rows is not None and len(X) > search_rows:
        sample = np.sort(np.random.default_rng(random_state).choice(
            len(X), search_rows, replace=False))
        share = search_rows / len(X)
        searched = fit_threshold_tree(
            X[sample], Z[sample], labels[sample], centres, max_leaves=max_leaves,
            min_leaf=max(1, round(min_leaf * share)), min_size=max(1, round(min_size * share)),
            min_gain_share=min_gain_share, inits=inits, random_state=random_state,
            # Restructuring a sample's tree never changed the chosen tree on the benches
            # (100k bench shop, electronic_sales x4; k = 4, 5, 6, 8) and cost a fifth of it.
            restructure=False, complexity=complexity, cost_tolerance=cost_tolerance,
            max_depth=max_depth, mismatch_penalty=mismatch_penalty,
        )
        fitter = _Fitter(X, Z, labels, np.asarray(centres, dtype=float), min_leaf, min_size,
                         complexity, mismatch_penalty)
        return fitter.polish(searched)
    fitter = _Fitter(
        X, Z, labels, np.asarray(centres, dtype=float), min_leaf, min_size, complexity,
        mismatch_penalty,
    )
    reference = float(fitter.losses[np.arange(len(labels)), labels].sum())
    budget = max(max_leaves, len(centres))
    min_gain = min_gain_share * reference
    starts = {
        "imm": fitter.imm,
        "greedy": lambda: fitter.greedy(budget),
        "cart": lambda: fitter.cart(budget, random_state),
    }
    fitter.complexity = None
    best = _best_start(fitter, starts, inits, budget, min_gain)
    if best is not None and restructure:
        best = fitter.restructure(best, budget, min_gain)
    if best is None:  # only IMM guarantees coverage; return it even if sizes are short
        best = fitter.refine(fitter.imm(), budget, min_gain)
        best.start = "imm"
    best.free_cost = best.cost
    if complexity is None:
        return best
    # The budget: the shortest rules within ``cost_tolerance`` of the best tree's cost.
    fitter.complexity = complexity
    best.excess = fitter.excess(best.tree)
    if best.excess == 0:  # the cheapest tree already keeps to the budget
        best.free_tree = best.tree
        return best
    max_cost = best.cost + cost_tolerance * reference
    pruned = fitter.prune_to_budget(best.tree.copy(), max_cost=max_cost)
    candidates = [
        TreeFit(pruned, fitter.cost(pruned, pruned.apply(Z)), best.rounds, "pruned",
                fitter.excess(pruned)),
    ]
    if max_depth is not None:  # a start whose paths are short by construction
        starts["shallow"] = lambda: fitter.cart(budget, random_state, max_depth)
        inits = (*inits, "shallow")
    bounded = _best_start(fitter, starts, inits, budget, min_gain)
    if bounded is not None:
        candidates.append(bounded)
    chosen = min((c for c in candidates if c.cost <= max_cost), key=TreeFit.key,
                 default=candidates[0])
    chosen.free_cost, chosen.free_tree = best.cost, best.tree
    return chosen


def _best_start(fitter: _Fitter, starts, inits, budget: int, min_gain: float) -> TreeFit | None:
    """Refine every start; return the covering fit with the lowest (excess, cost)."""
    best: TreeFit | None = None
    for name in inits:
        fit = fitter.refine(starts[name](), budget, min_gain)
        fit.start = name
        if fitter.covers(fit.tree) and (
            best is None
            or fit.excess < best.excess
            or (fit.excess == best.excess and fit.cost < best.cost * (1 - 1e-9))
        ):
            best = fit
    return best


def imm_tree(
    X: np.ndarray, Z: np.ndarray, labels: np.ndarray, centres: np.ndarray
) -> ThresholdTree:
    """Plain IMM (Moshkovitz et al. 2020): k leaves, no expansion or refinement.

    The baseline the benchmarks compare with; same arguments as
    :func:`fit_threshold_tree`.
    """
    fitter = _Fitter(np.asarray(X, dtype=float), np.asarray(Z, dtype=float),
                     np.asarray(labels, dtype=np.intp), np.asarray(centres, dtype=float), 1, 1)
    return fitter.imm()
