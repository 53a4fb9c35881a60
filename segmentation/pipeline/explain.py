"""The explain stage: from a clustering to one rule per segment.

Fits the threshold tree (:mod:`.treefit`) on a sample of at most
:data:`EXPLAIN_MAX_ROWS` rows (in a larger shop its shape is searched on
:data:`SEARCH_MAX_ROWS` of them, its thresholds then polished on the whole
sample), moves thresholds to
nice numbers inside their data gaps (:mod:`.rulebuild`, no row moves), turns
leaves into rules, rounds
the thresholds further to readable values while at most
:data:`ROUNDING_MAX_CHANGED_SHARE` of the sample changes segment and the price
of explainability rises by at most :data:`ROUNDING_MAX_PRICE_INCREASE`
(:func:`segmentation.rules.round_thresholds`), shortens the rounded rules on
the data (:mod:`.readable`: one threshold per feature and direction in a
segment, no condition or clause that changes no customer's segment), and
assigns every customer by the rules. The tree is fitted within a complexity
budget (``max_conditions`` per clause, ``max_clauses`` per segment); what the
budget costs is measured against the same tree search without it, on the
sample, and kept for the run's metrics with the fidelity before rounding
and the share of customers rounding moved. A segment whose
rule selects fewer than ``min_segment_share`` of customers is merged into
the nearest cluster and the tree refitted, so k may end lower (noted).

Missing values: the tree sees them imputed (:mod:`.preprocess`), so every
condition on a feature with missing values says "or unknown" (``or_unknown``)
where the imputed value satisfies it; read on the raw data, the rules then put
each customer with an unknown value where the tree did, and every customer is
in exactly one segment. Rounding and shortening keep each condition's flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..rules.ast import Rule
from ..rules.catalog import FeatureInfo
from ..rules.rounding import RoundingReport, whole_count_bounds
from ..rules.rounding import round_thresholds as round_rule_thresholds
from ..rules.simplify import simplify
from .cluster import group_means
from .config import PipelineConfig
from .metrics import fidelity, price_of_explainability
from .preprocess import Prepared, SplitColumn
from .readable import ReadableReport, make_readable
from .result import assign_segments
from .rulebuild import leaf_paths, path_rule, round_thresholds, tree_rules
from .tree import ThresholdTree
from .treefit import Complexity, fit_threshold_tree

__all__ = [
    "EXPLAIN_MAX_ROWS",
    "ROUNDING_MAX_CHANGED_SHARE",
    "SEARCH_MAX_ROWS",
    "Explained",
    "budget_excess",
    "explain_clusters",
    "rules_excess",
    "rule_complexity",
]

#: Rows the tree is fitted on; everybody else is assigned by the rules.
EXPLAIN_MAX_ROWS = 20_000
#: In a shop larger than EXPLAIN_MAX_ROWS, the rows the tree's shape is searched on; its
#: thresholds are then polished on all fitted rows. The search refines a dozen trees, the
#: polish one: ~4x faster at 100k customers, same fidelity there. On hard synthetic cases
#: (12: k = 5 and 8, 20,000 rows; the same with the complexity budget or without) the
#: shape costs +0.7% on average against the search on every row (+4.6% at worst,
#: fidelity -0.2%); 5,000 rows gave +1.2% (+5.1%) and took a quarter longer. A smaller
#: shop keeps the search on every row.
SEARCH_MAX_ROWS = 3_000
#: Largest share of (sampled) customers whose segment threshold rounding may change.
ROUNDING_MAX_CHANGED_SHARE = 0.001
#: Largest rise of the price of explainability (on the sample) rounding may cause.
ROUNDING_MAX_PRICE_INCREASE = 0.01
#: Largest rise of the price that leaving one threshold per feature and side may add.
UNIFY_MAX_PRICE_INCREASE = 0.005


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
    fidelity_before_rounding: float | None = None
    rounding_changed_share: float = 0.0
    rounding: RoundingReport | None = None
    readable: ReadableReport | None = None
    budget: dict | None = None


def rule_complexity(rules: list[Rule]) -> dict[str, float | int]:
    """Conditions per clause (mean, max) and clauses per segment (max) of a set of rules."""
    counts = [len(c.conditions) for r in rules for c in r.clauses]
    return {
        "conditions_per_clause_mean": float(np.mean(counts)) if counts else 0.0,
        "conditions_per_clause_max": max(counts, default=0),
        "clauses_per_segment_max": max((len(r.clauses) for r in rules), default=0),
        "conditions": int(sum(counts)),
    }


def rules_excess(rules: list[Rule], max_conditions: int | None, max_clauses: int | None) -> int:
    """How far ``rules`` are over the complexity budget.

    Conditions beyond ``max_conditions`` in a clause, clauses beyond
    ``max_clauses`` in a rule, and every second threshold on one feature and
    side within a rule (a segment reads one threshold per feature and direction).
    """
    over = 0
    for rule in rules:
        if max_clauses is not None:
            over += max(0, len(rule.clauses) - max_clauses)
        if max_conditions is not None:
            over += sum(max(0, len(c.conditions) - max_conditions) for c in rule.clauses)
        sides: dict[tuple[str, bool], set] = {}
        for clause in rule.clauses:
            for c in clause.conditions:
                if c.op in ("<", "<=", ">", ">="):
                    sides.setdefault((c.feature, c.op in (">", ">=")), set()).add(c.value)
        over += sum(len(values) - 1 for values in sides.values())
    return over


def budget_excess(
    columns: tuple[SplitColumn, ...], k: int, max_conditions: int | None, max_clauses: int | None,
    unknown: Mapping[str, float | str] | None = None,
) -> Complexity | None:
    """``excess(tree)``: :func:`rules_excess` of the tree's simplified rules (None: no budget).

    The excess adds up over rules, and one label's rule only changes when its
    own leaves' paths do, so each rule's share is remembered by its paths: the
    search asks about thousands of trees that differ in one or two rules.
    """
    if max_conditions is None and max_clauses is None:
        return None
    known: dict[tuple, int] = {}

    def rule_excess(paths: tuple) -> int:
        if paths not in known:
            rule = path_rule(paths, columns, unknown=unknown)
            known[paths] = rules_excess([rule], max_conditions, max_clauses)
        return known[paths]

    def excess(tree: ThresholdTree) -> int:
        return sum(rule_excess(paths) for paths in leaf_paths(tree, k))

    return excess


def _price_guard(
    X: np.ndarray, clusters: np.ndarray, exact: np.ndarray,
    increase: float = ROUNDING_MAX_PRICE_INCREASE,
):
    """Accept a change only while the price of explainability stays near the exact rules'."""
    limit = price_of_explainability(X, exact, clusters) + increase

    def accept(labels: np.ndarray) -> bool:
        return price_of_explainability(X, labels, clusters) <= limit

    return accept


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
    # where the imputer put missing values: conditions say "or unknown" on that side
    unknown = prepared.imputed_values()
    rows = np.sort(rng.choice(n, EXPLAIN_MAX_ROWS, replace=False)) if n > EXPLAIN_MAX_ROWS else None
    Xs, Zs = (X, Z) if rows is None else (X[rows], Z[rows])
    clean_sample = clean if rows is None else clean.iloc[rows]
    notes: list[str] = []
    while True:
        k = len(centres)
        max_leaves = config.max_leaves or 2 * k
        ys = cluster_labels if rows is None else cluster_labels[rows]
        fit_args = dict(
            max_leaves=max_leaves,
            min_leaf=max(1, len(Xs) // 1000),
            min_size=int(config.min_segment_share * len(Xs)),
            random_state=config.random_state,
        )
        complexity = budget_excess(
            prepared.columns, k, config.max_conditions, config.max_clauses, unknown
        )
        tolerance = np.inf if config.budget_tolerance is None else config.budget_tolerance
        fit = fit_threshold_tree(
            Xs, Zs, ys, centres, complexity=complexity, cost_tolerance=tolerance,
            max_depth=config.max_conditions,
            search_rows=SEARCH_MAX_ROWS if rows is not None else None, **fit_args
        )
        tree = round_thresholds(fit.tree, Zs, prepared.columns, catalog)
        paths = tree_rules(tree, prepared.columns, k, simplified=False, unknown=unknown)
        rounded, rounding = round_rule_thresholds(
            paths,
            clean_sample,
            max_changed_share=ROUNDING_MAX_CHANGED_SHARE,
            reference_labels=ys,
            catalog=catalog,
            score=fidelity,
            accept=_price_guard(Xs, ys, assign_segments(paths, clean_sample)),
            simplified=False,
        )
        rules, readable = make_readable(
            rounded, clean_sample, score=lambda labels, ys=ys: fidelity(labels, ys),
            accept=_price_guard(Xs, ys, assign_segments(rounded, clean_sample),
                                UNIFY_MAX_PRICE_INCREASE),
        )
        rules = whole_count_bounds(rules, clean_sample, catalog)
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
    exact_labels = assign_segments([simplify(p) for p in paths], clean)
    fidelity_before = fidelity(exact_labels, cluster_labels)
    budget = None
    if complexity is not None:
        # What a person reads: the final rules, after rounding and shortening.
        excess = rules_excess(rules, config.max_conditions, config.max_clauses)
        budget = {"excess": excess, **_budget_cost(fit, Xs, Zs, ys)}
        if excess:
            notes.append(
                f"the rules exceed the complexity budget ({config.max_conditions} conditions "
                f"per clause, {config.max_clauses} clauses per segment, one threshold per "
                f"feature and direction) {excess} time(s): "
                + ("no tree keeping to it was found" if config.budget_tolerance is None else
                   "keeping to it would have cost more than "
                   f"{config.budget_tolerance:.0%} of the k-means cost")
            )
    changed = float((exact_labels != labels).mean()) if n else 0.0
    if changed > 0:
        notes.append(
            f"thresholds rounded to readable values: {changed:.2%} of customers changed "
            f"segment (fidelity {fidelity_before:.1%} before rounding)"
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
        fidelity_before_rounding=fidelity_before,
        rounding_changed_share=changed,
        rounding=rounding,
        readable=readable,
        budget=budget,
    )


def _budget_cost(fit, Xs: np.ndarray, Zs: np.ndarray, ys: np.ndarray) -> dict[str, float]:
    """Fidelity and price on the sample of the budgeted tree and of the best tree without it."""
    out: dict[str, float] = {}
    for name, tree in (("budget", fit.tree), ("unbounded", fit.free_tree or fit.tree)):
        labels = tree.predict(Zs)
        out[f"fidelity_{name}"] = fidelity(labels, ys)
        out[f"price_{name}"] = price_of_explainability(Xs, labels, ys)
    out["fidelity_cost"] = out["fidelity_unbounded"] - out["fidelity_budget"]
    out["price_cost"] = out["price_budget"] - out["price_unbounded"]
    return out
