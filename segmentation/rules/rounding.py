"""Readable thresholds: round each threshold as far as a small budget allows.

A tree's thresholds sit between two data values (``total_spend > 1187.35``,
``recency_days <= 40.80259664``). :func:`round_thresholds` moves each one to
the roundest number whose move keeps the share of customers whose membership
changes within a budget (0.5% by default): ``1187.35 -> 1200``,
``89.5 -> 90``, ``40.80259664 -> 40``.

Roundest first
--------------
Candidates come from :func:`~.roundness.round_candidates`: the grid
``1, 2, 5 x 10^n``, coarsest step first, only numbers with fewer significant
digits than the threshold (whole days and orders are the step ``1``). The
first candidate that fits the budget wins; if none does, the threshold keeps
its value.

Budget
------
Greedy, one distinct threshold (feature and value) at a time, in order of
first use: every condition on that feature with that value moves together, so
the two sides of a tree split (``x <= t`` and ``x > t``) stay complementary and
rules built from whole tree paths stay a partition. A row's membership is the
set of rules selecting it; a move is accepted only if the rows whose membership
differs from the *unrounded* rules stay within ``max_changed_share`` of the
rows (cumulative, not per move). Missing values follow the rule model: a
condition on a missing value is False (True with ``or_unknown``, which a move
keeps) before and after rounding, so rows with missing values only change
membership through their other features.

Integers
--------
A value that lands on a whole number is stored as ``int`` (``90``, not
``90.0``), so every renderer shows ``90``. On count features (unit ``orders`` or
``sessions``) whose values in the frame are all whole, every bound becomes a
whole number selecting exactly the same rows: ``x > 2`` and ``x > 2.5`` become
``x >= 3`` ("at least 3"), ``x <= 2.5`` becomes ``x <= 2``
(:func:`whole_count_bounds`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from .ast import ORDER_OPERATORS, Clause, Condition, Rule
from .catalog import FeatureInfo
from .evaluate import evaluate_clause
from .roundness import plain_number, round_candidates
from .simplify import simplify

__all__ = [
    "COUNT_UNITS",
    "RoundingReport",
    "ThresholdMove",
    "round_thresholds",
    "whole_count_bounds",
]

#: Units whose values are whole counts: ``x > 2`` reads better as ``x >= 3``.
COUNT_UNITS = ("orders", "sessions")

_COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


@dataclass(frozen=True)
class ThresholdMove:
    """One threshold moved: ``feature``, ``before`` -> ``after``.

    ``changed_share`` is the cumulative share of rows whose membership differs
    from the unrounded rules once this move (and those before it) is made.
    """

    feature: str
    before: float
    after: float | int
    changed_share: float


@dataclass(frozen=True)
class RoundingReport:
    """What :func:`round_thresholds` did and what it cost."""

    moves: tuple[ThresholdMove, ...]
    thresholds: int
    rows: int
    max_changed_share: float
    changed_share: float
    fidelity_before: float | None
    fidelity_after: float | None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _first_match(masks: np.ndarray) -> np.ndarray:
    if not len(masks):
        return np.full(masks.shape[1], -1, dtype=np.intp)
    return np.where(masks.any(0), masks.argmax(0), -1)


def _agreement(labels: np.ndarray, reference: np.ndarray) -> float:
    return float((labels == reference).mean()) if len(labels) else 1.0


class _Masks:
    """Condition, clause and rule masks of a set of rules, updated move by move."""

    def __init__(self, rules: Sequence[Rule], frame: pd.DataFrame) -> None:
        self.frame = frame
        self.conditions = [[list(cl.conditions) for cl in rule.clauses] for rule in rules]
        self.cond = {
            (r, c, j): evaluate_clause(Clause((cond,)), frame)
            for r, clauses in enumerate(self.conditions)
            for c, conds in enumerate(clauses)
            for j, cond in enumerate(conds)
        }
        self.numbers: dict[str, np.ndarray] = {}
        self.rules = np.zeros((len(rules), len(frame)), dtype=bool)
        for r in range(len(rules)):
            self.rules[r] = self._rule_mask(r, {})
        self.original = self.rules.copy()

    def column(self, feature: str) -> np.ndarray:
        if feature not in self.numbers:
            self.numbers[feature] = self.frame[feature].to_numpy(dtype=float, na_value=np.nan)
        return self.numbers[feature]

    def _clause_mask(self, r: int, c: int, trial: Mapping) -> np.ndarray:
        mask = np.ones(len(self.frame), dtype=bool)
        for j in range(len(self.conditions[r][c])):
            mask &= trial.get((r, c, j), self.cond[(r, c, j)])
        return mask

    def _rule_mask(self, r: int, trial: Mapping) -> np.ndarray:
        mask = np.zeros(len(self.frame), dtype=bool)
        for c in range(len(self.conditions[r])):
            mask |= self._clause_mask(r, c, trial)
        return mask

    def try_move(self, places: list[tuple[int, int, int]], value: float) -> tuple[dict, np.ndarray]:
        """Return the new condition masks and rule masks if ``places`` took ``value``."""
        trial = {}
        for r, c, j in places:
            cond = self.conditions[r][c][j]
            values = self.column(cond.feature)
            with np.errstate(invalid="ignore"):
                hit = _COMPARE[cond.op](values, float(value)) & ~np.isnan(values)
            trial[(r, c, j)] = hit | np.isnan(values) if cond.or_unknown else hit
        rules = self.rules.copy()
        for r in {p[0] for p in places}:
            rules[r] = self._rule_mask(r, trial)
        return trial, rules

    def commit(self, places, value, trial: dict, rules: np.ndarray) -> None:
        for r, c, j in places:
            cond = self.conditions[r][c][j]
            self.conditions[r][c][j] = cond.with_value(value)
        self.cond.update(trial)
        self.rules = rules

    def changed(self, rules: np.ndarray) -> int:
        return int((rules != self.original).any(0).sum()) if len(rules) else 0


def _count_bound(cond: Condition, whole: set[str]) -> Condition:
    """The same bound on a whole-number feature, stated with a whole number."""
    if cond.feature not in whole or cond.op not in ORDER_OPERATORS:
        return cond
    v = float(cond.value)
    if cond.op in (">", ">="):  # x > 2.5, x > 2, x >= 3 -> x >= 3
        low = math.floor(v) + 1 if cond.op == ">" else math.ceil(v)
        return Condition(cond.feature, ">=", plain_number(low), cond.or_unknown)
    high = math.floor(v) if cond.op == "<=" else math.ceil(v) - 1  # x < 3, x <= 2.5 -> x <= 2
    return Condition(cond.feature, "<=", plain_number(high), cond.or_unknown)


def _whole_counts(frame: pd.DataFrame, catalog: Mapping[str, FeatureInfo]) -> set[str]:
    out = set()
    for name, info in catalog.items():
        if info.unit in COUNT_UNITS and name in frame.columns:
            values = pd.to_numeric(frame[name], errors="coerce").dropna().to_numpy(dtype=float)
            if np.array_equal(values, np.round(values)):
                out.add(name)
    return out


def whole_count_bounds(
    rules: Sequence[Rule], frame: pd.DataFrame, catalog: Mapping[str, FeatureInfo]
) -> list[Rule]:
    """State bounds on whole-number count features with whole numbers (same rows selected).

    Parameters
    ----------
    rules : sequence of Rule
    frame : pandas.DataFrame
        Where the count features are checked to hold only whole numbers.
    catalog : mapping of str to FeatureInfo

    Returns
    -------
    list of Rule
        Simplified.
    """
    whole = _whole_counts(frame, catalog)
    return [
        simplify(
            Rule(tuple(Clause(tuple(_count_bound(c, whole) for c in cl.conditions))
                       for cl in rule.clauses))
        )
        for rule in rules
    ]


def round_thresholds(
    rules: Sequence[Rule],
    frame: pd.DataFrame,
    *,
    max_changed_share: float = 0.005,
    reference_labels: np.ndarray | None = None,
    catalog: Mapping[str, FeatureInfo] | None = None,
    score: Callable[[np.ndarray, np.ndarray], float] | None = None,
    accept: Callable[[np.ndarray], bool] | None = None,
    simplified: bool = True,
) -> tuple[list[Rule], RoundingReport]:
    """Round every threshold to the roundest value the budget allows.

    Parameters
    ----------
    rules : sequence of Rule
        One rule per segment, in assignment order (a row belongs to the first
        rule that selects it). Pass whole tree paths (unsimplified) to keep a
        partition a partition; the returned rules are simplified.
    frame : pandas.DataFrame
        The customers (one column per feature) the budget is measured on.
    max_changed_share : float
        Largest share of rows whose membership may change, in ``[0, 1]``.
    reference_labels : ndarray of int, optional
        The labels the rules should reproduce (rule ``a`` <-> label ``a``); if
        given, the report has the fidelity before and after rounding.
    catalog : mapping of str to FeatureInfo, optional
        Used for count features (``x > 2`` -> ``x >= 3``).
    score : callable, optional
        ``score(rule_labels, reference_labels) -> float``; defaults to the
        share of rows whose first matching rule is their reference label.
    accept : callable, optional
        ``accept(labels) -> bool``, a further test of a move within budget, given
        each row's first matching rule (``-1``: none) after the move; e.g. the
        pipeline refuses moves that raise the price of explainability.
    simplified : bool
        False returns the rounded rules clause for clause as given (whole tree
        paths stay whole paths, counts are not restated), for further
        shortening on the data.

    Returns
    -------
    rules : list of Rule
        Same length and order as ``rules``.
    report : RoundingReport
    """
    if not 0.0 <= max_changed_share <= 1.0:
        raise ValueError(f"max_changed_share must be in [0, 1], got {max_changed_share!r}")
    n = len(frame)
    masks = _Masks(rules, frame)
    budget = math.floor(max_changed_share * n + 1e-9)
    groups: dict[tuple[str, float], list[tuple[int, int, int]]] = {}
    for r, clauses in enumerate(masks.conditions):
        for c, conds in enumerate(clauses):
            for j, cond in enumerate(conds):
                if cond.op in ORDER_OPERATORS:
                    groups.setdefault((cond.feature, float(cond.value)), []).append((r, c, j))
    moves: list[ThresholdMove] = []
    for (feature, value), places in groups.items():
        for candidate in round_candidates(value):
            if candidate == value:  # already as round as it gets: keep it (as an int if whole)
                masks.commit(places, candidate, {}, masks.rules)
                break
            trial, trial_rules = masks.try_move(places, candidate)
            changed = masks.changed(trial_rules)
            if changed <= budget and (accept is None or accept(_first_match(trial_rules))):
                masks.commit(places, candidate, trial, trial_rules)
                moves.append(ThresholdMove(feature, value, candidate, changed / n if n else 0.0))
                break
    rounded = [Rule(tuple(Clause(tuple(conds)) for conds in rule)) for rule in masks.conditions]
    out = whole_count_bounds(rounded, frame, catalog or {}) if simplified else rounded
    fidelity_before = fidelity_after = None
    if reference_labels is not None:
        measure = score or _agreement
        reference = np.asarray(reference_labels)
        fidelity_before = float(measure(_first_match(masks.original), reference))
        fidelity_after = float(measure(_first_match(masks.rules), reference))
    report = RoundingReport(
        moves=tuple(moves),
        thresholds=len(groups),
        rows=n,
        max_changed_share=max_changed_share,
        changed_share=masks.changed(masks.rules) / n if n else 0.0,
        fidelity_before=fidelity_before,
        fidelity_after=fidelity_after,
    )
    return out, report
