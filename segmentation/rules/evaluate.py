"""Evaluate a rule in Python: on a whole DataFrame (vectorised) or on one row.

Missing values
--------------
A condition on a missing value (``None`` or NaN) is **False**, whatever the
operator, exactly like SQL ``WHERE`` on ``NULL``: ``x != 3`` is False when
``x`` is missing, and so is ``x in (1, 2)``. A condition with ``or_unknown``
is **True** on a missing value (SQL ``(x <= 30 OR x IS NULL)``). A clause is True only if all its
conditions are True; a rule only if one of its clauses is. Every renderer (SQL,
Django ``Q``, JsonLogic) follows the same convention, so all of them select the
same customers.

Types
-----
Order operators (``< <= > >=``) need a numeric column; on a text column they
raise :class:`RuleError`. Text never equals a number: ``x == "3"`` is False on a
numeric column and ``x == 3`` is False on a text value. Booleans count as 0/1.
A feature that is not a column (or not a key of the row) raises
:class:`RuleError`.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .ast import Clause, Condition, Rule, RuleError

__all__ = ["evaluate", "evaluate_clause", "evaluate_row", "is_missing"]

_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def is_missing(value: Any) -> bool:
    """Return True for ``None``, NaN and pandas' missing markers."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, str)


class _Columns:
    """Lazily converted columns of a frame, shared by all conditions."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cache: dict[str, tuple[bool, np.ndarray, np.ndarray]] = {}

    def get(self, feature: str) -> tuple[bool, np.ndarray, np.ndarray]:
        """Return ``(numeric, values, missing)`` for a column."""
        if feature not in self._cache:
            if feature not in self.frame.columns:
                raise RuleError(f"unknown feature {feature!r}: no such column")
            series = self.frame[feature]
            missing = series.isna().to_numpy(dtype=bool)
            if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
                values = series.to_numpy(dtype=float, na_value=np.nan)
                self._cache[feature] = (True, values, missing)
            else:
                values = series.to_numpy(dtype=object, copy=True)
                values[missing] = None
                self._cache[feature] = (False, values, missing)
        return self._cache[feature]

    def numbers(self, feature: str) -> np.ndarray:
        """Return the column as floats, refusing text."""
        numeric, values, missing = self.get(feature)
        if numeric:
            return values
        converted = np.full(len(values), np.nan)
        for i in np.flatnonzero(~missing):
            v = values[i]
            if not _is_number(v):
                raise RuleError(f"feature {feature!r}: cannot compare text {v!r} with a number")
            converted[i] = float(v)
        return converted


def _text_equal(values: np.ndarray, missing: np.ndarray, target: Any) -> np.ndarray:
    """Elementwise type-aware equality on an object column."""
    if isinstance(target, str):
        return (values == target) & ~missing
    out = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(~missing):
        v = values[i]
        out[i] = _is_number(v) and float(v) == float(target)
    return out


def _condition_mask(cond: Condition, cols: _Columns) -> np.ndarray:
    hit = _present_mask(cond, cols)
    if cond.or_unknown:
        hit = hit | cols.get(cond.feature)[2]
    return hit


def _present_mask(cond: Condition, cols: _Columns) -> np.ndarray:
    """Where the condition holds on a present value (False on every missing one)."""
    numeric, values, missing = cols.get(cond.feature)
    if cond.op in _ORDER:
        nums = cols.numbers(cond.feature)
        with np.errstate(invalid="ignore"):
            return _ORDER[cond.op](nums, float(cond.value)) & ~np.isnan(nums)
    targets = cond.value if cond.op == "in" else (cond.value,)
    if numeric:
        wanted = [float(t) for t in targets if not isinstance(t, str)]
        hit = np.isin(values, wanted) if wanted else np.zeros(len(values), dtype=bool)
    else:
        hit = np.zeros(len(values), dtype=bool)
        for t in targets:
            hit |= _text_equal(values, missing, t)
    if cond.op == "!=":
        hit = ~hit
    return hit & ~missing


def evaluate_clause(clause: Clause, frame: pd.DataFrame) -> np.ndarray:
    """Return the boolean mask of rows of ``frame`` selected by one clause.

    Parameters
    ----------
    clause : Clause
    frame : pandas.DataFrame
        One column per feature.

    Returns
    -------
    numpy.ndarray of bool, shape (len(frame),)
    """
    return _clause_mask(clause, _Columns(frame), len(frame))


def _clause_mask(clause: Clause, cols: _Columns, n: int) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    for cond in clause.conditions:
        mask &= _condition_mask(cond, cols)
    return mask


def evaluate(rule: Rule, frame: pd.DataFrame) -> np.ndarray:
    """Return the boolean mask of rows of ``frame`` that ``rule`` selects.

    Parameters
    ----------
    rule : Rule
    frame : pandas.DataFrame
        One column per feature the rule mentions; other columns are ignored.

    Returns
    -------
    numpy.ndarray of bool, shape (len(frame),)
        A condition on a missing value is False unless it has ``or_unknown``
        (see the module docstring).

    Raises
    ------
    RuleError
        If a feature is not a column, or an order operator meets text.
    """
    return _rule_mask(rule, _Columns(frame), len(frame))


def evaluate_all(rules: Sequence[Rule], frame: pd.DataFrame) -> list[np.ndarray]:
    """:func:`evaluate` for several rules over one frame, each column converted once.

    A live refresh tests one customer against every live segment: converting the
    columns dominated that (a millisecond per rule for a one-row frame).
    """
    cols = _Columns(frame)
    return [_rule_mask(rule, cols, len(frame)) for rule in rules]


def _rule_mask(rule: Rule, cols: _Columns, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for clause in rule.clauses:
        mask |= _clause_mask(clause, cols, n)
    return mask


def _condition_row(cond: Condition, features: Mapping[str, Any]) -> bool:
    if cond.feature not in features:
        raise RuleError(f"unknown feature {cond.feature!r}: no such key")
    value = features[cond.feature]
    if is_missing(value):
        return cond.or_unknown
    if cond.op in _ORDER:
        if not _is_number(value):
            raise RuleError(
                f"feature {cond.feature!r}: cannot compare text {value!r} with a number"
            )
        return bool(_ORDER[cond.op](float(value), float(cond.value)))
    targets = cond.value if cond.op == "in" else (cond.value,)
    if _is_number(value):
        hit = any(not isinstance(t, str) and float(value) == float(t) for t in targets)
    else:
        hit = any(isinstance(t, str) and value == t for t in targets)
    return not hit if cond.op == "!=" else hit


def evaluate_row(rule: Rule, features: Mapping[str, Any]) -> bool:
    """Return whether ``rule`` selects one customer.

    Parameters
    ----------
    rule : Rule
    features : mapping
        ``{feature name: value}``; ``None`` or NaN mean missing.

    Returns
    -------
    bool
        Same semantics as :func:`evaluate`, one row at a time.
    """
    return any(
        all(_condition_row(c, features) for c in clause.conditions) for clause in rule.clauses
    )
