"""Thresholds on whole-number features, stated as whole numbers.

Days, orders, sessions and years are whole numbers (time features are counted
in whole days), so a tree threshold between two of them (``x <= 37.5``) selects
exactly what the whole number below or above it does. Stating it that way
changes no member and never shows "37.5 days". Pure Python; no Django.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..rules.ast import Clause, Condition, Rule
from ..rules.catalog import FeatureInfo

__all__ = ["WHOLE_UNITS", "whole_unit_thresholds"]

WHOLE_UNITS = ("days", "orders", "sessions", "years")


def _whole(frame: pd.DataFrame, name: str) -> bool:
    if name not in frame.columns:
        return False
    values = frame[name].to_numpy(dtype=float, na_value=np.nan)
    values = values[~np.isnan(values)]
    return bool(np.all(values == np.floor(values)))


def _snap(condition: Condition) -> Condition:
    value = condition.value
    if not isinstance(value, int | float) or isinstance(value, bool) or float(value).is_integer():
        return condition
    if condition.op in ("<=", ">"):  # x <= 37.5  is  x <= 37;  x > 37.5  is  x > 37
        return condition.with_value(int(math.floor(value)))
    if condition.op in ("<", ">="):  # x < 37.5  is  x < 38;  x >= 37.5  is  x >= 38
        return condition.with_value(int(math.ceil(value)))
    return condition


def whole_unit_thresholds(rule: Rule, catalog: Mapping[str, FeatureInfo],
                          frame: pd.DataFrame) -> Rule:
    """``rule`` with every threshold on a whole-number feature made whole.

    A feature counts as whole-numbered when its unit is one of
    :data:`WHOLE_UNITS` and all its values in ``frame`` are whole, so the
    rule selects exactly the same rows of ``frame`` (and of any whole-valued data).
    """
    whole = {name for name, info in catalog.items()
             if info.unit in WHOLE_UNITS and _whole(frame, name)}
    return Rule(tuple(
        Clause(tuple(_snap(c) if c.feature in whole else c for c in clause.conditions))
        for clause in rule.clauses
    ))
