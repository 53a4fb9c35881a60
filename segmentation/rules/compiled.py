"""Compile a rule into a plain Python predicate over one customer's features.

``compile_rule(rule)`` returns ``f(features) -> bool`` for a mapping
``{feature: value}``; it has the semantics of
:func:`~segmentation.rules.evaluate.evaluate_row`, with the conditions turned
into closures once, so calling it on many rows is cheap.

Missing values
--------------
``None`` or NaN (or pandas' missing markers) are missing, and a condition on a
missing value is False whatever the operator, ``!=`` and ``in`` included, as
SQL ``WHERE`` on ``NULL``; with ``or_unknown`` it is True. A feature that is
not a key of the mapping raises :class:`RuleError` (a misspelt feature must
not silently select nobody).
Text never equals a number; an order operator on text raises
:class:`RuleError`.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .ast import Condition, Rule, RuleError
from .evaluate import is_missing

__all__ = ["compile_rule"]

Predicate = Callable[[Mapping[str, Any]], bool]

_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, str)


def _lookup(feature: str) -> Callable[[Mapping[str, Any]], Any]:
    def get(row: Mapping[str, Any]) -> Any:
        try:
            return row[feature]
        except KeyError:
            raise RuleError(f"unknown feature {feature!r}: no such key") from None

    return get


def _compile_condition(cond: Condition) -> Predicate:
    get, feature, unknown = _lookup(cond.feature), cond.feature, cond.or_unknown
    if cond.op in _ORDER:
        compare, threshold = _ORDER[cond.op], float(cond.value)

        def order(row: Mapping[str, Any]) -> bool:
            value = get(row)
            if is_missing(value):
                return unknown
            if not _is_number(value):
                raise RuleError(f"feature {feature!r}: cannot compare text {value!r} with a number")
            return bool(compare(float(value), threshold))

        return order
    targets = cond.value if cond.op == "in" else (cond.value,)
    numbers_ = frozenset(float(t) for t in targets if not isinstance(t, str))
    texts = frozenset(t for t in targets if isinstance(t, str))
    negate = cond.op == "!="

    def member(row: Mapping[str, Any]) -> bool:
        value = get(row)
        if is_missing(value):
            return unknown
        if _is_number(value):
            hit = float(value) in numbers_
        else:
            hit = isinstance(value, str) and value in texts
        return hit != negate

    return member


def compile_rule(rule: Rule) -> Predicate:
    """Compile a rule into a predicate over a mapping of features.

    Parameters
    ----------
    rule : Rule

    Returns
    -------
    callable
        ``f(features: Mapping[str, Any]) -> bool``; True when one clause has all
        its conditions True. Missing values (``None``/NaN) make a condition
        False, or True with ``or_unknown`` (see the module docstring).
    """
    clauses = [tuple(_compile_condition(c) for c in clause.conditions) for clause in rule.clauses]

    def predicate(features: Mapping[str, Any]) -> bool:
        return any(all(test(features) for test in clause) for clause in clauses)

    predicate.__doc__ = f"Whether a customer matches: {rule}"
    return predicate
