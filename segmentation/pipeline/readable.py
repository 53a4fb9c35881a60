"""Rules a person reads in one breath: shortening that looks at the data.

:func:`segmentation.rules.simplify` is exact for every possible row. Once
thresholds are rounded, more can go without changing any customer's segment
*on the data the rules were made from*:

1. **One threshold per feature and direction in a segment.** Rules are whole
   tree paths here, so a value is moved everywhere it appears (both sides of
   its split move together and the rules stay a partition); of the segment's
   values for that feature and direction, the one keeping the best fidelity
   wins.
2. **Exact simplification** of each rule.
3. **Conditions no customer needs**: a condition is dropped when the rule
   selects the same customers without it, or when it holds for every known
   value ("average order value more than ¥0" once rounded below the data) and
   the customers it let in were in no segment (their value is missing).
4. **Clauses that differ by one condition** (``A and x <= 5`` / ``A and x > 5``)
   become their common part under the same test, and a clause that selects
   nobody is dropped (a rule keeps at least one clause).

Every step keeps each rule's selection on the data, or only adds customers no
other rule selects, so rules that were disjoint stay disjoint on the data.
:func:`removable_conditions` and :func:`mergeable_clauses` state the end
condition and are what the tests check on every segment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..rules.ast import ORDER_OPERATORS, Clause, Condition, Rule
from ..rules.evaluate import evaluate_clause
from ..rules.simplify import simplify

__all__ = [
    "ReadableReport",
    "first_match",
    "make_readable",
    "mergeable_clauses",
    "removable_conditions",
    "unify_thresholds",
]

#: Largest fidelity one threshold unification may cost.
UNIFY_MAX_LOSS = 0.005

LOWER = (">", ">=")
UPPER = ("<", "<=")


@dataclass(frozen=True)
class ReadableReport:
    """What :func:`make_readable` did."""

    thresholds_unified: int = 0
    conditions_dropped: int = 0
    clauses_merged: int = 0
    clauses_dropped: int = 0


def first_match(masks: np.ndarray) -> np.ndarray:
    """Index of the first rule selecting each row (``-1``: none); ``masks`` is (rules, rows)."""
    if not len(masks):
        return np.full(masks.shape[1], -1, dtype=np.intp)
    return np.where(masks.any(0), masks.argmax(0), -1)


class _Masks:
    """Condition masks of a frame, cached by condition."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n = len(frame)
        self._cache: dict[Condition, np.ndarray] = {}

    def condition(self, cond: Condition) -> np.ndarray:
        if cond not in self._cache:
            self._cache[cond] = evaluate_clause(Clause((cond,)), self.frame)
        return self._cache[cond]

    def clause(self, conditions: Sequence[Condition]) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        for cond in conditions:
            mask &= self.condition(cond)
        return mask

    def rule(self, clauses: Sequence[Sequence[Condition]]) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        for conditions in clauses:
            mask |= self.clause(conditions)
        return mask

    def rules(self, rules: Sequence[Rule]) -> np.ndarray:
        out = np.zeros((len(rules), self.n), dtype=bool)
        for r, rule in enumerate(rules):
            out[r] = self.rule([c.conditions for c in rule.clauses])
        return out


def _side(cond: Condition) -> str | None:
    if cond.op in LOWER:
        return "lower"
    if cond.op in UPPER:
        return "upper"
    return None


def _moved(rules: Sequence[Rule], feature: str, old: float, new: float | int) -> list[Rule]:
    def move(c: Condition) -> Condition:
        if c.feature == feature and c.op in ORDER_OPERATORS and float(c.value) == old:
            return c.with_value(new)
        return c

    return [
        Rule(tuple(Clause(tuple(move(c) for c in cl.conditions)) for cl in rule.clauses))
        for rule in rules
    ]


def _duplicate(rules: Sequence[Rule], skip: set) -> tuple[str, list] | None:
    """First (feature, values) with several thresholds on one side within one rule."""
    for rule in rules:
        seen: dict[tuple[str, str], set] = {}
        for clause in rule.clauses:
            for c in clause.conditions:
                side = _side(c)
                if side is not None:
                    seen.setdefault((c.feature, side), set()).add(c.value)
        for (feature, _), values in seen.items():
            values = sorted(values, key=float)
            if len({float(v) for v in values}) > 1 and (feature, tuple(values)) not in skip:
                return feature, values
    return None


def unify_thresholds(
    paths: Sequence[Rule],
    frame: pd.DataFrame,
    score: Callable[[np.ndarray], float],
    max_loss: float = UNIFY_MAX_LOSS,
    accept: Callable[[np.ndarray], bool] | None = None,
) -> tuple[list[Rule], int]:
    """Leave one threshold per feature and side in each rule, where it costs little.

    Parameters
    ----------
    paths : sequence of Rule
        Whole tree paths (a partition); a value moves everywhere it appears.
    frame : pandas.DataFrame
    score : callable
        ``score(first_match_labels) -> float``, higher is better (fidelity).
    max_loss : float
        Largest fall of ``score`` all unifications together may cost; one that
        would go past it is left as it is (the tree search already avoids
        them: they count against its complexity budget).
    accept : callable, optional
        ``accept(first_match_labels) -> bool``, a further test of each
        unification (the pipeline refuses those raising the price of
        explainability).

    Returns
    -------
    (rules, moves)
    """
    rules = list(paths)
    masks = _Masks(frame)
    moves = 0
    skip: set = set()
    floor = score(first_match(masks.rules(rules))) - max_loss
    while (found := _duplicate(rules, skip)) is not None:
        feature, values = found
        best: tuple[float, list[Rule]] | None = None
        for target in values:
            trial = rules
            for v in values:
                if float(v) != float(target):
                    trial = _moved(trial, feature, float(v), target)
            labels = first_match(masks.rules(trial))
            quality = score(labels)
            if quality < floor or (accept is not None and not accept(labels)):
                continue
            if best is None or quality > best[0]:
                best = (quality, trial)
        if best is None:
            skip.add((feature, tuple(values)))
            continue
        rules = best[1]
        moves += len(values) - 1
    return rules, moves


def _vacuous(cond: Condition, frame: pd.DataFrame) -> bool:
    """Whether ``cond`` holds for every known value (its threshold lies outside the data)."""
    if cond.op not in ORDER_OPERATORS or cond.feature not in frame.columns:
        return False
    values = pd.to_numeric(frame[cond.feature], errors="coerce").to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        return False
    v = float(cond.value)
    low, high = values.min(), values.max()
    return {">": low > v, ">=": low >= v, "<": high < v, "<=": high <= v}[cond.op]


def _acceptable(new: np.ndarray, old: np.ndarray, others: np.ndarray) -> bool:
    """The rule selects the same rows, or gains only rows no other rule selects."""
    if np.array_equal(new, old):
        return True
    return not (old & ~new).any() and not (new & ~old & others).any()


def _others(all_masks: np.ndarray, r: int) -> np.ndarray:
    return np.delete(all_masks, r, axis=0).any(0) if len(all_masks) > 1 else np.zeros(
        all_masks.shape[1], dtype=bool
    )


def removable_conditions(rules: Sequence[Rule], frame: pd.DataFrame) -> list[tuple[int, int, int]]:
    """``(rule, clause, condition)`` whose removal leaves that rule's selection unchanged.

    A clause's last condition is never removable (an empty clause selects everyone).
    """
    masks = _Masks(frame)
    out = []
    for r, rule in enumerate(rules):
        clauses = [list(c.conditions) for c in rule.clauses]
        current = masks.rule(clauses)
        for c, conds in enumerate(clauses):
            if len(conds) < 2:
                continue
            for j in range(len(conds)):
                trial = [*clauses[:c], conds[:j] + conds[j + 1 :], *clauses[c + 1 :]]
                if np.array_equal(masks.rule(trial), current):
                    out.append((r, c, j))
    return out


def _common(a: Clause, b: Clause) -> tuple[Condition, ...] | None:
    """The shared conditions when ``a`` and ``b`` differ by exactly one condition each."""
    only_a = [c for c in a.conditions if c not in b.conditions]
    only_b = [c for c in b.conditions if c not in a.conditions]
    if len(only_a) != 1 or len(only_b) != 1 or only_a[0].feature != only_b[0].feature:
        return None
    common = tuple(c for c in a.conditions if c in b.conditions)
    return common or None


def mergeable_clauses(rules: Sequence[Rule], frame: pd.DataFrame) -> list[tuple[int, int, int]]:
    """``(rule, i, j)``: clauses differing by one condition whose common part selects the same."""
    masks = _Masks(frame)
    out = []
    for r, rule in enumerate(rules):
        clauses = [list(c.conditions) for c in rule.clauses]
        current = masks.rule(clauses)
        for i in range(len(clauses)):
            for j in range(i + 1, len(clauses)):
                common = _common(rule.clauses[i], rule.clauses[j])
                if common is None:
                    continue
                trial = [x for t, x in enumerate(clauses) if t not in (i, j)] + [list(common)]
                if np.array_equal(masks.rule(trial), current):
                    out.append((r, i, j))
    return out


def _shorten(rules: list[Rule], frame: pd.DataFrame, counts: dict[str, int]) -> list[Rule]:
    """One pass of steps 3 and 4; returns the new rules (``counts`` updated)."""
    masks = _Masks(frame)
    all_masks = masks.rules(rules)
    out = list(rules)
    for r in range(len(out)):
        clauses = [list(c.conditions) for c in out[r].clauses]
        others = _others(all_masks, r)
        changed = True
        while changed:
            changed = False
            current = masks.rule(clauses)
            # clauses that select nobody
            for c in range(len(clauses)):
                if len(clauses) > 1 and not masks.clause(clauses[c]).any():
                    del clauses[c]
                    counts["clauses_dropped"] += 1
                    changed = True
                    break
            if changed:
                continue
            # conditions no customer needs
            for c, conds in enumerate(clauses):
                for j in range(len(conds)):
                    if len(conds) < 2:
                        break
                    trial = [*clauses[:c], conds[:j] + conds[j + 1 :], *clauses[c + 1 :]]
                    new = masks.rule(trial)
                    same = np.array_equal(new, current)
                    if same or (_vacuous(conds[j], frame) and _acceptable(new, current, others)):
                        clauses = trial
                        counts["conditions_dropped"] += 1
                        changed = True
                        break
                if changed:
                    break
            if changed:
                continue
            # clauses that differ by one condition
            for i in range(len(clauses)):
                for j in range(i + 1, len(clauses)):
                    common = _common(Clause(tuple(clauses[i])), Clause(tuple(clauses[j])))
                    if common is None:
                        continue
                    trial = [x for t, x in enumerate(clauses) if t not in (i, j)] + [list(common)]
                    if _acceptable(masks.rule(trial), current, others):
                        clauses = trial
                        counts["clauses_merged"] += 1
                        changed = True
                        break
                if changed:
                    break
        out[r] = simplify(Rule(tuple(Clause(tuple(c)) for c in clauses)))
        all_masks[r] = masks.rule([c.conditions for c in out[r].clauses])
    return out


def make_readable(
    paths: Sequence[Rule],
    frame: pd.DataFrame,
    score: Callable[[np.ndarray], float],
    accept: Callable[[np.ndarray], bool] | None = None,
) -> tuple[list[Rule], ReadableReport]:
    """Shorten rounded tree-path rules on the data they describe.

    Parameters
    ----------
    paths : sequence of Rule
        One rule per segment, each clause a whole tree path (rounded).
    frame : pandas.DataFrame
        The customers the rules are judged on (raw features, NaN for missing).
    score : callable
        ``score(first_match_labels) -> float``, higher is better; chooses the
        common threshold when a segment has several on one side of a feature.
    accept : callable, optional
        Passed to :func:`unify_thresholds`.

    Returns
    -------
    (rules, report)
        Simplified rules, same order; no condition of them is removable and
        no two clauses of one rule mergeable on ``frame``.
    """
    rules, unified = unify_thresholds(paths, frame, score, accept=accept)
    rules = [simplify(rule) for rule in rules]
    counts = {"conditions_dropped": 0, "clauses_merged": 0, "clauses_dropped": 0}
    while True:
        before = dict(counts)
        rules = _shorten(rules, frame, counts)
        if counts == before:
            break
    return rules, ReadableReport(thresholds_unified=unified, **counts)
