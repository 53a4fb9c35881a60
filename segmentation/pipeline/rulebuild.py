"""From a fitted threshold tree to readable rules.

Thresholds first move to the "nicest" number (fewest significant digits)
in the lower half of the gap to the next value at that node (``1188.3`` ->
``1200`` when the next value is ``1215``), so rounding moves none of the
fitting rows. Then each leaf becomes an
AND of conditions, each segment the OR of its leaves, simplified exactly.
The explain stage then rounds further, within a budget of changed
memberships, with :func:`segmentation.rules.round_thresholds`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..rules.ast import Clause, Condition, Rule
from ..rules.catalog import FeatureInfo
from ..rules.simplify import simplify
from .preprocess import SplitColumn
from .tree import ThresholdTree

__all__ = ["nicest_between", "round_thresholds", "tree_rules"]


def nicest_between(low: float, high: float, min_step: float) -> float:
    """Return the number in ``[low, high)`` with the fewest significant digits.

    Steps tried go from large to ``min_step``: 10^e, 5*10^(e-1), 10^(e-1), ...
    Returns ``low`` when no such number exists at that precision.
    """
    if not high > low:
        return low
    top = max(abs(low), abs(high) if math.isfinite(high) else abs(low), min_step)
    exponent = math.floor(math.log10(top)) + 1
    bottom = math.floor(math.log10(min_step))
    for e in range(exponent, bottom - 1, -1):
        for mult in (1, 5) if e > bottom else (1,):
            step = mult * 10.0**e if mult == 1 else 5 * 10.0 ** (e - 1)
            if step < min_step * (1 - 1e-9):
                continue
            digits = max(0, -math.floor(math.log10(step)) + 1)
            candidate = round(math.ceil(low / step - 1e-9) * step, digits) + 0.0
            if low <= candidate < high:
                return candidate
    return low


def _min_step(info: FeatureInfo | None) -> float:
    decimals = info.decimals if info is not None else 2
    if info is not None and info.unit in ("share", "rate"):
        decimals += 2
    return 10.0**-decimals


def round_thresholds(
    tree: ThresholdTree,
    Z: np.ndarray,
    columns: Sequence[SplitColumn],
    catalog: Mapping[str, FeatureInfo],
) -> ThresholdTree:
    """Move numeric thresholds to nice numbers without moving any row of ``Z``.

    Parameters
    ----------
    tree : ThresholdTree
        Modified in place and returned.
    Z : ndarray
        The rows the tree was fitted on (raw split columns).
    columns : sequence of SplitColumn
    catalog : mapping of str to FeatureInfo

    Returns
    -------
    ThresholdTree
    """
    leaf_of = tree.apply(Z)
    for node in tree.internal():
        column = columns[tree.feature[node]]
        if column.category is not None:
            continue
        under = np.zeros(len(tree.feature), dtype=bool)
        under[tree.leaves(node)] = True
        values = Z[under[leaf_of], tree.feature[node]]
        t = tree.threshold[node]
        above = values[values > t]
        if not above.size:
            continue
        # stay in the lower half of the empty gap, so unseen rows are not pushed far
        high = t + (float(above.min()) - t) / 2.0
        step = _min_step(catalog.get(column.feature))
        tree.threshold[node] = nicest_between(t, np.nextafter(high, np.inf), step)
    return tree


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


Unknown = Mapping[str, float | str]


def _imputed_goes_left(column: SplitColumn, threshold: float, imputed: float | str) -> bool:
    """Whether the imputed value (what a missing one became in ``Z``) goes left at a split."""
    if column.category is not None:  # one-hot: 1.0 for the imputed category, else 0.0
        return (1.0 if imputed == column.category else 0.0) <= threshold
    return float(imputed) <= threshold


def _condition(
    column: SplitColumn, threshold: float, goes_left: bool, unknown: Unknown | None = None
) -> Condition:
    # A missing value was imputed before the tree saw it: the condition says "or
    # unknown" exactly on the side the imputed value takes, so the rule, read on the
    # raw data (missing as NULL), puts that customer where the tree did.
    or_unknown = bool(
        unknown and column.feature in unknown
        and _imputed_goes_left(column, threshold, unknown[column.feature]) == goes_left
    )
    if column.category is not None:  # one-hot column: <= threshold means "not this category"
        return Condition(column.feature, "!=" if goes_left else "==", column.category, or_unknown)
    return Condition(column.feature, "<=" if goes_left else ">", _number(threshold), or_unknown)


def tree_rules(
    tree: ThresholdTree, columns: Sequence[SplitColumn], k: int, *, simplified: bool = True,
    unknown: Unknown | None = None,
) -> list[Rule]:
    """Return one rule per label ``0..k-1``: the OR of its leaves' paths.

    Parameters
    ----------
    tree : ThresholdTree
    columns : sequence of SplitColumn
        What each split column means.
    k : int
        Number of labels.
    simplified : bool
        False keeps every condition of every path (what
        :func:`segmentation.rules.round_thresholds` wants, so that moving one
        split's threshold moves it everywhere and the rules stay a partition).
    unknown : mapping, optional
        Feature -> the value the imputer gave its missing values
        (:meth:`Prepared.imputed_values`). A condition on such a feature gets
        ``or_unknown`` when that value satisfies it.

    Returns
    -------
    list of Rule
        Evaluated on the raw frame with :func:`segmentation.rules.evaluate`, rule
        ``a`` selects exactly the rows the tree labels ``a`` (on the imputed
        ``Z``); without ``unknown``, only the complete ones.
    """
    paths = leaf_paths(tree, k)
    return [path_rule(p, columns, simplified=simplified, unknown=unknown) for p in paths]


Path = tuple[tuple[int, float, bool], ...]


def leaf_paths(tree: ThresholdTree, k: int) -> list[tuple[Path, ...]]:
    """Per label ``0..k-1``, the paths ``((column, threshold, goes_left), ...)`` of its leaves."""
    out: list[list[Path]] = [[] for _ in range(k)]
    for leaf, path in tree.paths().items():
        out[tree.label[leaf]].append(tuple(path))
    return [tuple(p) for p in out]


def path_rule(
    paths: Sequence[Path], columns: Sequence[SplitColumn], *, simplified: bool = True,
    unknown: Unknown | None = None,
) -> Rule:
    """The rule selecting the rows that follow one of ``paths`` (see :func:`tree_rules`)."""
    rule = Rule(tuple(
        Clause(tuple(_condition(columns[f], t, left, unknown) for f, t, left in path))
        for path in paths
    ))
    return simplify(rule) if simplified else rule
