"""Check a rule against the feature catalog before it is stored or rendered.

:class:`~segmentation.rules.ast.Condition` already refuses what no feature could
accept (an unknown operator, NaN, an empty or non-list ``in``, a boolean).
:func:`validate_rule` adds what only the catalog knows: the feature exists, a
categorical feature is compared with ``==``, ``!=`` or ``in`` and text values, a
numeric feature with numbers, ``or_unknown`` is true or false. Every message
starts with the place, in the notation of the JSON form: ``any[0].all[1].value: ...``.

A clause without conditions selects every customer. Typed by hand it is more often a
slip (``{"all": []}``) than a wish, so it is refused unless the caller passes
``allow_everyone=True``: a person's explicit "everyone" choice, or a rule already stored.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from .ast import Condition, Rule, RuleError
from .catalog import FeatureInfo

__all__ = ["CATEGORICAL_OPERATORS", "validate_condition", "validate_rule"]

#: The only operators a categorical feature accepts.
CATEGORICAL_OPERATORS = ("==", "!=", "in")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def validate_condition(
    condition: Condition, catalog: Mapping[str, FeatureInfo], where: str = "condition"
) -> Condition:
    """Check one condition against the catalog.

    Parameters
    ----------
    condition : Condition
    catalog : mapping of str to FeatureInfo
    where : str
        Prefix of error messages, e.g. ``"any[0].all[1]"``.

    Returns
    -------
    Condition
        The same condition.

    Raises
    ------
    RuleError
        Unknown feature, an order operator on a categorical, a value of the
        wrong type for the feature's kind, a non-finite number, an
        ``or_unknown`` that is not a boolean.
    """
    info = catalog.get(condition.feature)
    if info is None:
        raise RuleError(f"{where}.feature: unknown feature {condition.feature!r}")
    if not isinstance(condition.or_unknown, bool):
        raise RuleError(f"{where}.or_unknown: expected true or false, got {condition.or_unknown!r}")
    values = condition.value if condition.op == "in" else (condition.value,)
    if condition.op == "in" and not isinstance(condition.value, tuple):
        raise RuleError(f"{where}.value: 'in' needs a list, got {condition.value!r}")
    categorical = info.kind == "categorical"
    if categorical and condition.op not in CATEGORICAL_OPERATORS:
        raise RuleError(
            f"{where}.op: {condition.feature!r} is categorical: "
            f"only ==, != and in apply, not {condition.op!r}"
        )
    for i, value in enumerate(values):
        place = f"{where}.value[{i}]" if condition.op == "in" else f"{where}.value"
        if categorical and not isinstance(value, str):
            raise RuleError(
                f"{place}: {condition.feature!r} is categorical: expected text, got {value!r}"
            )
        if not categorical:
            if not _is_number(value):
                raise RuleError(
                    f"{place}: {condition.feature!r} is numeric: expected a number, got {value!r}"
                )
            if not math.isfinite(float(value)):
                raise RuleError(f"{place}: expected a finite number, got {value!r}")
    return condition


def validate_rule(
    rule: Rule | Mapping[str, Any], catalog: Mapping[str, FeatureInfo], *,
    allow_everyone: bool = False,
) -> Rule:
    """Parse (if needed) and check a rule against the feature catalog.

    Parameters
    ----------
    rule : Rule or mapping
        A rule, or its versioned JSON form (parsed with :meth:`Rule.from_dict`).
    catalog : mapping of str to FeatureInfo
        The features a rule may name (the registry's catalog on the Django side).
    allow_everyone : bool
        Accept a clause without conditions (it selects every customer).

    Returns
    -------
    Rule

    Raises
    ------
    RuleError
        The message starts with the place, e.g.
        ``"any[0].all[1].op: 'channel' is categorical: only ==, != and in apply, not '>'"``
        or ``"any[1].all[0].feature: unknown feature 'spend'"``, or
        ``"any[0].all: an empty clause selects every customer ..."``.
    """
    if not isinstance(rule, Rule):
        rule = Rule.from_dict(rule)
    for i, clause in enumerate(rule.clauses):
        if not clause.conditions and not allow_everyone:
            raise RuleError(
                f"any[{i}].all: an empty clause selects every customer; choose "
                "'everyone' explicitly if that is what you mean"
            )
        for j, condition in enumerate(clause.conditions):
            validate_condition(condition, catalog, f"any[{i}].all[{j}]")
    return rule
