"""JsonLogic (jsonlogic.com): export a rule so any JsonLogic library can run it, and read one back.

Emitted form
------------
A rule is ``{"or": [clause, ...]}`` (one clause: the clause itself), a clause
``{"and": [test, ...]}`` (one test: the test itself); an empty rule is
``false`` and an empty clause ``true``. A condition maps to ``<``, ``<=``,
``>``, ``>=``, ``===``, ``!==`` or ``in`` with ``{"var": feature}`` first::

    {"and": [{"!==": [{"var": "total_spend"}, null]},
             {">": [{"var": "total_spend"}, 1200]}]}

Missing values
--------------
Data is JSON: a missing value is ``null`` or an absent key (``var`` gives
``null`` for both). As everywhere in the rule model, a condition on a missing
value is False. JsonLogic would otherwise compare ``null`` as 0 (``null < 3`` is
true in JavaScript) and ``null !== 3`` is true, so before its first order or
``!=`` condition on a feature each clause carries the guard
``{"!==": [{"var": f}, null]}``. ``===`` and ``in`` need no guard (``null`` equals
no number or text). The guard is strict (``!==``) because loose ``!=`` treats
``0`` like ``null`` in some libraries. Equality is strict so that text never
equals a number (``"3" == 3`` is true in JsonLogic, not in the rule model).
NaN is not JSON; pass ``null``.

A condition with ``or_unknown`` (True on a missing value) is the condition OR a
null test, with no guard: ``{"or": [{"<=": [{"var": "age_years"}, 30]},
{"===": [{"var": "age_years"}, null]}]}``; the null test is strict for the same
reason as the guard.

Reading
-------
:func:`from_jsonlogic` reads that form and hand-written ones: nested ``and`` /
``or`` (expanded into an OR of ANDs), ``==``/``===``, ``!=``/``!==``, ``<``,
``<=``, ``>``, ``>=`` with the variable on either side, the two-sided
``{"<": [1, {"var": "x"}, 5]}``, ``in`` with a list, ``!!``, ``true``/``false``,
the guards above (dropped: they are implied) and null tests (``==``/``===``
null) OR-ed with conditions on the same feature (read as ``or_unknown``). Anything else raises
:class:`RuleError` naming the place, e.g. ``"$.or[1].and[0]: unsupported operator 'if'"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product
from typing import Any

from .ast import ORDER_OPERATORS, Clause, Condition, Rule, RuleError

__all__ = ["MAX_CLAUSES", "from_jsonlogic", "to_jsonlogic"]

#: Most clauses :func:`from_jsonlogic` expands nested AND/OR into.
MAX_CLAUSES = 256

_EMIT = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "===", "!=": "!==", "in": "in"}
_READ = {
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "==": "==",
    "===": "==",
    "!=": "!=",
    "!==": "!=",
}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _var(feature: str) -> dict[str, str]:
    return {"var": feature}


def _guard(feature: str) -> dict[str, list]:
    return {"!==": [_var(feature), None]}


def _is_null(feature: str) -> dict[str, list]:
    return {"===": [_var(feature), None]}


def _test(cond: Condition) -> dict[str, Any]:
    value = list(cond.value) if cond.op == "in" else cond.value
    test = {_EMIT[cond.op]: [_var(cond.feature), value]}
    if cond.or_unknown:  # null passes either way: no guard
        return {"or": [test, _is_null(cond.feature)]}
    return test


def _clause(clause: Clause) -> Any:
    tests: list[Any] = []
    guarded: set[str] = set()
    for cond in clause.conditions:
        needs_guard = cond.op in ORDER_OPERATORS or cond.op == "!="
        if needs_guard and not cond.or_unknown and cond.feature not in guarded:
            guarded.add(cond.feature)
            tests.append(_guard(cond.feature))
        tests.append(_test(cond))
    if not tests:
        return True
    return tests[0] if len(tests) == 1 else {"and": tests}


def to_jsonlogic(rule: Rule) -> Any:
    """Render a rule as JsonLogic.

    Parameters
    ----------
    rule : Rule

    Returns
    -------
    dict or bool
        JSON-serialisable; ``false`` for the empty rule, ``true`` when a clause
        is empty. Missing values (``null``) are False, True with ``or_unknown``
        (see the module docstring).
    """
    clauses = [_clause(c) for c in rule.clauses]
    if not clauses:
        return False
    if any(c is True for c in clauses):
        return True
    return clauses[0] if len(clauses) == 1 else {"or": clauses}


# -- reading -------------------------------------------------------------------

_GUARD = object()  # a "not null" test: implied by any condition on the feature
_NULL = object()  # an "is null" test: absorbed into conditions OR-ed with it (or_unknown)


def _feature(node: Any, where: str) -> str | None:
    """The feature of a ``{"var": ...}`` node, None if ``node`` is not one."""
    if not isinstance(node, Mapping) or set(node) != {"var"}:
        return None
    name = node["var"]
    if isinstance(name, list):
        if len(name) != 1:
            raise RuleError(f"{where}: a var with a default value is not supported")
        name = name[0]
    if not isinstance(name, str):
        raise RuleError(f"{where}: var needs a feature name, got {name!r}")
    return name


def _literal(value: Any, where: str) -> Any:
    if isinstance(value, Mapping | list):
        raise RuleError(f"{where}: expected a number or text, got {value!r}")
    return value


def _comparison(op: str, args: list, where: str) -> list:
    """One or two (feature, op, value) tests or guards from a comparison."""
    if op in ("<", "<=") and len(args) == 3:  # between: a < x < b
        feature = _feature(args[1], f"{where}[1]")
        if feature is None:
            raise RuleError(f"{where}: the middle of a three-way {op!r} must be a var")
        low, high = _literal(args[0], f"{where}[0]"), _literal(args[2], f"{where}[2]")
        return [(feature, _FLIP[op], low, where), (feature, op, high, where)]
    if len(args) != 2:
        raise RuleError(f"{where}: {op!r} needs two arguments, got {len(args)}")
    left, right = _feature(args[0], f"{where}[0]"), _feature(args[1], f"{where}[1]")
    if (left is None) == (right is None):
        raise RuleError(f"{where}: {op!r} must compare one var with a value")
    feature, value = (left, args[1]) if left is not None else (right, args[0])
    op = _READ[op] if left is not None else _FLIP[_READ[op]]
    value = _literal(value, where)
    if value is None:
        if op == "!=":
            return [(feature, _GUARD, None, where)]
        if op == "==":
            return [(feature, _NULL, None, where)]
        raise RuleError(f"{where}: only '== null' and '!= null' are supported with null")
    return [(feature, op, value, where)]


def _absorb_nulls(clauses: list[list]) -> list[list]:
    """``... OR f is null``: flag ``or_unknown`` on a clause made only of conditions on ``f``.

    ``(f <= 3 AND f > 1) OR f is null`` is ``f <= 3 (or unknown) AND f > 1 (or unknown)``:
    a missing value passes both, a present one the same tests as before.
    """
    out = list(clauses)
    for clause in clauses:
        if len(clause) != 1 or clause[0][1] is not _NULL:
            continue
        feature = clause[0][0]
        for i, other in enumerate(out):
            tests = [t for t in other if t[1] is not _GUARD]
            if tests and all(t[0] == feature and t[1] is not _NULL for t in tests):
                out[i] = [(f, op, value, where, True) for f, op, value, where, *_ in tests]
                out.remove(clause)
                break
    return out


def _dnf(node: Any, where: str) -> list[list]:
    """Expand a node into clauses (lists of tests); [] is false, [[]] true."""
    if node is True:
        return [[]]
    if node is False:
        return []
    if not isinstance(node, Mapping) or len(node) != 1:
        raise RuleError(f'{where}: expected an operation like {{"and": [...]}}, got {node!r}')
    ((op, args),) = node.items()
    args = args if isinstance(args, list) else [args]
    if op == "!!" and len(args) == 1:
        return _dnf(args[0], f"{where}.!!")
    if op in ("and", "or"):
        parts = [_dnf(arg, f"{where}.{op}[{i}]") for i, arg in enumerate(args)]
        if op == "or":
            clauses = _absorb_nulls([clause for part in parts for clause in part])
        else:
            clauses = [sum(combo, []) for combo in product(*parts)] if parts else [[]]
        if len(clauses) > MAX_CLAUSES:
            raise RuleError(f"{where}: expands to more than {MAX_CLAUSES} clauses")
        return clauses
    if op == "in":
        if len(args) != 2 or _feature(args[0], f"{where}.in[0]") is None:
            raise RuleError(f"{where}: 'in' needs a var and a list")
        if not isinstance(args[1], list):
            raise RuleError(f"{where}.in[1]: 'in' needs a list of values, got {args[1]!r}")
        values = tuple(_literal(v, f"{where}.in[1][{i}]") for i, v in enumerate(args[1]))
        return [[(_feature(args[0], where), "in", values, f"{where}.in")]]
    if op in _READ:
        return [_comparison(op, args, f"{where}.{op}")]
    raise RuleError(f"{where}: unsupported operator {op!r}")


def _make_clause(tests: list) -> Clause:
    conditions = []
    for feature, op, value, where, *flag in tests:
        if op is _GUARD:
            continue
        if op is _NULL:
            raise RuleError(
                f"{where}: a bare '{feature} == null' (is missing) cannot be expressed; "
                "OR it with a condition on the feature (the condition or unknown)"
            )
        try:
            conditions.append(Condition(feature, op, value, bool(flag and flag[0])))
        except RuleError as exc:
            raise RuleError(f"{where}: {exc}") from None
    mentioned = {c.feature for c in conditions}
    for feature, op, _, where, *_flag in tests:
        if op is _GUARD and feature not in mentioned:
            raise RuleError(
                f"{where}: a bare '{feature} != null' (is not missing) cannot be expressed; "
                "add a condition on the feature"
            )
    return Clause(tuple(conditions))


def from_jsonlogic(doc: Any) -> Rule:
    """Read a JsonLogic document into a rule.

    Parameters
    ----------
    doc : dict or bool
        As produced by :func:`to_jsonlogic`, or hand-written (see the module
        docstring for what is understood).

    Returns
    -------
    Rule

    Raises
    ------
    RuleError
        The message starts with the place (``$`` is the document), e.g.
        ``"$.and[1].<: '<' must compare one var with a value"``.
    """
    clauses = _dnf(doc, "$")
    return Rule(tuple(_make_clause(tests) for tests in clauses))
