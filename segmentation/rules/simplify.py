"""Exact simplification of rules.

:func:`simplify` never changes which rows a rule selects (missing values
included: a feature keeps at least one condition as long as it had one, so a
missing value still fails the clause).

``or_unknown``: within a clause a missing value passes the conditions on its
feature only if every one of them has the flag, so merged conditions carry
``all`` of their flags; two clauses merged into one (a union) carry ``any``;
a clause implies another only if a missing value it lets in is let in too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

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
    """Merge the conditions on one feature; None when they cannot all hold.

    A missing value passes them all only if all are ``or_unknown``: so does it the
    merged ones. If no present value can pass but a missing one can, they stay
    as written (no condition says "is missing").
    """
    unknown = all(c.or_unknown for c in conds)
    merged = _merge_present(feature, [replace(c, or_unknown=False) for c in conds])
    if merged is None:
        return list(dict.fromkeys(conds)) if unknown else None
    return [replace(c, or_unknown=unknown) for c in merged]


def _merge_present(feature: str, conds: list[Condition]) -> list[Condition] | None:
    """Merge conditions without ``or_unknown`` (what they ask of a present value)."""
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


def _holds(cond: Condition, x: float | int | str) -> bool:
    """Whether ``cond`` holds for one present value ``x``."""
    if cond.op in ORDER_OPERATORS:
        if _is_text(x):
            return False
        v = float(cond.value)
        return {"<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[cond.op]
    hit = any(_is_text(x) == _is_text(v) and x == v for v in _values(cond))
    return not hit if cond.op == "!=" else hit


def _implied(conds: list[Condition], d: Condition) -> bool:
    """Whether the conditions ``conds`` (on d's feature, merged) imply ``d``."""
    finite = [c for c in conds if c.op in ("==", "in")]
    if finite:
        allowed = [v for v in _values(finite[0]) if all(_holds(c, v) for c in conds)]
        return all(_holds(d, v) for v in allowed)
    if d.op == "!=":
        if any(c.op == "!=" and c.value == d.value for c in conds):
            return True
        if _is_text(d.value):
            return False
        return any(c.op in ORDER_OPERATORS and not _holds(c, d.value) for c in conds)
    if d.op not in ORDER_OPERATORS:
        return False
    for c in conds:
        if c.op not in ORDER_OPERATORS or (c.op in ("<", "<=")) != (d.op in ("<", "<=")):
            continue
        a, b = float(c.value), float(d.value)
        lower = c.op in (">", ">=")
        if (a > b if lower else a < b) or (a == b and (c.op in (">", "<") or d.op in (">=", "<="))):
            return True
    return False


def _implies(a: Clause, b: Clause) -> bool:
    """Whether clause ``a`` implies clause ``b`` (every row ``a`` selects, ``b`` does)."""
    for d in b.conditions:
        same = [c for c in a.conditions if c.feature == d.feature]
        if d in same:
            continue
        if not same or not _implied(same, d):
            return False
        if not d.or_unknown and all(c.or_unknown for c in same):
            return False  # a lets a missing value in, b does not
    return True


def _bounds(conds: list[Condition]) -> tuple[Condition | None, Condition | None] | None:
    """``(lower, upper)`` if ``conds`` are only order bounds, else None."""
    if not conds or any(c.op not in ORDER_OPERATORS for c in conds):
        return None
    lows = [c for c in conds if c.op in (">", ">=")]
    highs = [c for c in conds if c.op in ("<", "<=")]
    if len(lows) > 1 or len(highs) > 1:
        return None
    return (lows[0] if lows else None, highs[0] if highs else None)


def _looser(a: Condition | None, b: Condition | None) -> Condition | None:
    if a is None or b is None:
        return None
    if float(a.value) != float(b.value):
        lower = a.op in (">", ">=")
        return a if (float(a.value) < float(b.value)) == lower else b
    return a if a.op in (">=", "<=") else b


def _gap(upper: Condition | None, lower: Condition | None) -> bool:
    """Whether values between ``upper`` (of one range) and ``lower`` (of another) are left out."""
    if upper is None or lower is None:
        return False
    u, lo = float(upper.value), float(lower.value)
    return u < lo or (u == lo and upper.op == "<" and lower.op == ">")


def _merge_ranges(a: Clause, b: Clause) -> Clause | None:
    """``a OR b`` as one clause when they differ only by touching ranges of one feature."""
    features = {c.feature for c in a.conditions} | {c.feature for c in b.conditions}
    for f in features:
        rest_a = [c for c in a.conditions if c.feature != f]
        if frozenset(rest_a) != frozenset(c for c in b.conditions if c.feature != f):
            continue
        fa = [c for c in a.conditions if c.feature == f]
        fb = [c for c in b.conditions if c.feature == f]
        ra, rb = _bounds(fa), _bounds(fb)
        if ra is None or rb is None or _gap(ra[1], rb[0]) or _gap(rb[1], ra[0]):
            return None
        # a missing value is in the union if either clause lets it in
        unknown = all(c.or_unknown for c in fa) or all(c.or_unknown for c in fb)
        low, high = _looser(ra[0], rb[0]), _looser(ra[1], rb[1])
        if low is None and high is None:
            if unknown and rest_a:
                return Clause(tuple(rest_a))  # every value of f, known or not
            return None  # "f is not missing": no condition says that
        bounds = tuple(replace(c, or_unknown=unknown) for c in (low, high) if c is not None)
        return Clause(tuple(rest_a) + bounds)
    return None


#: Range merging is quadratic per merge; past this many clauses it is skipped.
MERGE_MAX_CLAUSES = 64


def _merge_all(clauses: list[Clause]) -> list[Clause]:
    merged = len(clauses) <= MERGE_MAX_CLAUSES
    while merged:
        merged = False
        for i in range(len(clauses)):
            for j in range(i + 1, len(clauses)):
                union = _merge_ranges(clauses[i], clauses[j])
                if union is not None:
                    clauses = [*clauses[:i], union, *clauses[i + 1 : j], *clauses[j + 1 :]]
                    merged = True
                    break
            if merged:
                break
    return clauses


def simplify(rule: Rule) -> Rule:
    """Return an equivalent, shorter rule.

    Within each clause, conditions on the same feature merge into the tightest
    bounds (``x > 3 AND x > 5`` -> ``x > 5``; ``x <= 10 AND x < 10`` ->
    ``x < 10``); impossible clauses (``x > 5 AND x < 3``) are dropped, and so are
    duplicate clauses and clauses that imply another clause (``x > 5 OR x > 3``
    -> ``x > 3``). Clauses that differ only by touching or overlapping ranges of
    one feature merge (``x <= 5 AND y == 1 OR 5 < x <= 9 AND y == 1`` ->
    ``x <= 9 AND y == 1``). The result selects exactly the same rows, missing
    values included: a feature that had a condition keeps one.

    Parameters
    ----------
    rule : Rule

    Returns
    -------
    Rule
    """
    clauses: list[Clause] = []
    for clause in rule.clauses:
        simple = simplify_clause(clause)
        if simple is not None and simple not in clauses:
            clauses.append(simple)
    clauses = [c for c in (simplify_clause(c) for c in _merge_all(clauses)) if c is not None]
    kept = [
        clause
        for i, clause in enumerate(clauses)
        if not any(
            j != i and _implies(clause, other) and (j < i or not _implies(other, clause))
            for j, other in enumerate(clauses)
        )
    ]
    return Rule(tuple(kept))
