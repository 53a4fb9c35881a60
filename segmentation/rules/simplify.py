"""Exact simplification of rules.

:func:`simplify` never changes which rows a rule selects (missing values
included: a feature keeps at least one condition as long as it had one, so a
missing value still fails the clause).
"""

from __future__ import annotations

from collections.abc import Sequence

from .ast import ORDER_OPERATORS, Clause, Condition, Rule

__all__ = ["simplify", "simplify_clause"]


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _values(cond: Condition) -> tuple:
    return cond.value if cond.op == "in" else (cond.value,)


def _tighter_lower(a: tuple[float, bool], b: tuple[float, bool]) -> tuple[float, bool]:
    """Return the tighter of two lower bounds ``(value, strict)``."""
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return (a[0], a[1] or b[1])


def _tighter_upper(a: tuple[float, bool], b: tuple[float, bool]) -> tuple[float, bool]:
    if a[0] != b[0]:
        return a if a[0] < b[0] else b
    return (a[0], a[1] or b[1])


def _within(x: float, low: tuple[float, bool] | None, high: tuple[float, bool] | None) -> bool:
    if low is not None and (x < low[0] or (low[1] and x == low[0])):
        return False
    if high is not None and (x > high[0] or (high[1] and x == high[0])):
        return False
    return True


def _eq_condition(feature: str, values: Sequence) -> Condition:
    if len(values) == 1:
        return Condition(feature, "==", values[0])
    return Condition(feature, "in", tuple(values))


def _merge_feature(feature: str, conds: list[Condition]) -> list[Condition] | None:
    """Merge the conditions on one feature; None when they cannot all hold."""
    deduped = list(dict.fromkeys(conds))
    values = [v for c in deduped for v in _values(c)]
    texts = [_is_text(v) for v in values]
    if any(texts) and not all(texts):
        return deduped  # mixed text and numbers: leave as written
    text = all(texts)
    allowed: list | None = None  # values allowed by == / in (intersection)
    excluded: set = set()
    low = high = None
    for c in deduped:
        if c.op in ("==", "in"):
            vals = list(dict.fromkeys(_values(c)))
            if allowed is None:
                allowed = vals
            else:
                keep = set(vals)
                allowed = [v for v in allowed if v in keep]
        elif c.op == "!=":
            excluded.add(c.value)
        elif c.op in (">", ">="):
            bound = (float(c.value), c.op == ">")
            low = bound if low is None else _tighter_lower(low, bound)
        else:
            bound = (float(c.value), c.op == "<")
            high = bound if high is None else _tighter_upper(high, bound)
    if allowed is not None:
        allowed = [
            v for v in allowed if v not in excluded and (text or _within(float(v), low, high))
        ]
        return [_eq_condition(feature, allowed)] if allowed else None
    out: list[Condition] = []
    if low is not None and high is not None:
        if low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1])):
            return None
        if low[0] == high[0]:
            if any(float(v) == low[0] for v in excluded):
                return None
            value = int(low[0]) if low[0].is_integer() and abs(low[0]) < 2**53 else low[0]
            return [Condition(feature, "==", value)]
    if low is not None:
        out.append(Condition(feature, ">" if low[1] else ">=", _number(low[0], deduped)))
    if high is not None:
        out.append(Condition(feature, "<" if high[1] else "<=", _number(high[0], deduped)))
    for v in sorted(excluded, key=lambda x: (str(type(x)), x)):
        if text or _within(float(v), low, high):
            out.append(Condition(feature, "!=", v))
    return out


def _number(value: float, conds: list[Condition]) -> float | int:
    """Give back the bound as it was written (keeps ints ints)."""
    for c in conds:
        if c.op in ORDER_OPERATORS and float(c.value) == value:
            return c.value
    return value


def simplify_clause(clause: Clause) -> Clause | None:
    """Merge the conditions of one clause feature by feature.

    Parameters
    ----------
    clause : Clause

    Returns
    -------
    Clause or None
        The simplified clause, or None when it can select nobody.
    """
    by_feature: dict[str, list[Condition]] = {}
    for cond in clause.conditions:
        by_feature.setdefault(cond.feature, []).append(cond)
    merged: list[Condition] = []
    for feature, conds in by_feature.items():
        result = _merge_feature(feature, conds)
        if result is None:
            return None
        merged.extend(result)
    return Clause(tuple(merged))


def simplify(rule: Rule) -> Rule:
    """Return an equivalent, shorter rule.

    Within each clause, conditions on the same feature merge into the tightest
    bounds (``x > 3 AND x > 5`` -> ``x > 5``; ``x <= 10 AND x < 10`` ->
    ``x < 10``); impossible clauses (``x > 5 AND x < 3``) are dropped, and so are
    duplicate clauses and clauses that contain all conditions of another
    clause. The result selects exactly the same rows.

    Parameters
    ----------
    rule : Rule

    Returns
    -------
    Rule
    """
    clauses: list[Clause] = []
    seen: set[frozenset[Condition]] = set()
    for clause in rule.clauses:
        simple = simplify_clause(clause)
        if simple is None:
            continue
        key = frozenset(simple.conditions)
        if key in seen:
            continue
        seen.add(key)
        clauses.append(simple)
    keys = [frozenset(c.conditions) for c in clauses]
    kept = [
        clause
        for i, clause in enumerate(clauses)
        if not any(j != i and keys[j] < keys[i] for j in range(len(clauses)))
    ]
    return Rule(tuple(kept))
