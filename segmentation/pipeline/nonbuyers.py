"""Customers who never ordered: segments of their own, stated as rules.

A customer with no completed order has no recency, no order value, no gap
between orders: clustering them among buyers on those features would invent
values for them. So the buyers are clustered and explained alone, and the
non-buyers get rule-defined segments of the same form ("never ordered", split
by recent activity when the shop records events), so every customer is in
exactly one segment:

- :func:`nonbuyer_segments` states those segments and labels the non-buyers;
- :func:`exclude_nonbuyers` makes each buyer rule false for every non-buyer, by
  adding "orders at least 1" to a clause only when nothing in it already is.

Pure Python over numpy and pandas; no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..rules.ast import Clause, Condition, Rule
from ..rules.catalog import FeatureInfo
from ..rules.evaluate import evaluate
from .profile import segment_profiles
from .result import SegmentResult, assign_segments

__all__ = [
    "BOUGHT",
    "ENGAGEMENT_FEATURE",
    "ORDERS_FEATURE",
    "NonBuyers",
    "exclude_nonbuyers",
    "is_buyer",
    "nonbuyer_segments",
]

#: The count of completed orders: a non-buyer's is 0.
ORDERS_FEATURE = "frequency"
#: Recent activity that splits non-buyers, when some have it and some do not.
ENGAGEMENT_FEATURE = "events_30d"

NEVER_ORDERED = Condition(ORDERS_FEATURE, "<=", 0)
BOUGHT = Condition(ORDERS_FEATURE, ">=", 1)

# (English name, Chinese name, English description, Chinese description)
_ONLY = ("Never ordered", "从未下单客户", "Customers with no completed order yet.",
         "尚无已完成订单的客户。")
_ACTIVE = ("Never ordered, seen in 30 days", "近30天有行为的未下单客户",
           "No completed order yet, but active in the last 30 days.",
           "尚无已完成订单，但近30天有行为。")
_DORMANT = ("Never ordered, not seen in 30 days", "近30天无行为的未下单客户",
            "No completed order and no activity in the last 30 days.",
            "尚无已完成订单，近30天也无行为。")


def is_buyer(frame: pd.DataFrame) -> np.ndarray:
    """True for each row with at least one completed order."""
    return frame[ORDERS_FEATURE].fillna(0).to_numpy(dtype=float) > 0


@dataclass(frozen=True)
class NonBuyers:
    """The non-buyer segments (indexed from ``first_index``) and each row's label."""

    segments: tuple[SegmentResult, ...]
    labels: np.ndarray


def _named_rules(frame: pd.DataFrame) -> list[tuple[tuple[str, str, str, str], Rule]]:
    if ENGAGEMENT_FEATURE in frame.columns:
        active = frame[ENGAGEMENT_FEATURE].fillna(0).to_numpy(dtype=float) >= 1
        if active.any() and not active.all():
            active_rule = Clause((NEVER_ORDERED, Condition(ENGAGEMENT_FEATURE, ">=", 1)))
            dormant_rule = Clause((NEVER_ORDERED, Condition(ENGAGEMENT_FEATURE, "<=", 0)))
            return [(_ACTIVE, Rule((active_rule,))), (_DORMANT, Rule((dormant_rule,)))]
    return [(_ONLY, Rule((Clause((NEVER_ORDERED,)),)))]


def nonbuyer_segments(
    frame: pd.DataFrame,
    catalog: Mapping[str, FeatureInfo],
    *,
    first_index: int,
    total: int,
) -> NonBuyers:
    """Segments for the customers of ``frame`` who never ordered.

    Parameters
    ----------
    frame : pandas.DataFrame
        The non-buyers' features (raw units); must hold ``frequency``, and
        ``events_30d`` to split them by activity.
    catalog : mapping of str to FeatureInfo
        Numeric features of it found in ``frame`` make the segments' profiles.
    first_index : int
        Index of the first non-buyer segment (the number of buyer segments).
    total : int
        All customers of the run, for each segment's share.

    Returns
    -------
    NonBuyers
        No segment when ``frame`` is empty; otherwise one or two, every row labelled.
    """
    if frame.empty:
        return NonBuyers((), np.empty(0, dtype=np.intp))
    named = _named_rules(frame)
    local = assign_segments([rule for _, rule in named], frame)
    kept = [a for a in range(len(named)) if (local == a).any()]
    renumber = np.full(len(named), -1, dtype=np.intp)
    renumber[kept] = np.arange(len(kept))
    local = np.where(local >= 0, renumber[np.maximum(local, 0)], -1)
    columns = [c for c in frame.columns
               if catalog.get(c) is not None and catalog[c].kind == "numeric"]
    profiles = segment_profiles(frame[columns], local, len(kept))
    sizes = np.bincount(local[local >= 0], minlength=len(kept))
    segments = tuple(
        SegmentResult(
            index=first_index + new, rule=named[old][1], size=int(sizes[new]),
            share=float(sizes[new] / max(total, 1)),
            name_en=named[old][0][0], name_zh=named[old][0][1],
            description_en=named[old][0][2], description_zh=named[old][0][3],
            profile=profiles[new],
        )
        for new, old in enumerate(kept)
    )
    labels = np.where(local >= 0, local + first_index, -1).astype(np.intp)
    return NonBuyers(segments, labels)


def _false_for_nonbuyers(condition: Condition, nonbuyer_values: Mapping[str, float | None]) -> bool:
    if condition.feature not in nonbuyer_values:
        return False  # not fixed for non-buyers (tenure, activity...): no guarantee
    value = nonbuyer_values[condition.feature]
    row = pd.DataFrame({condition.feature: [np.nan if value is None else float(value)]})
    return not bool(evaluate(Rule((Clause((condition,)),)), row)[0])


def exclude_nonbuyers(rule: Rule, nonbuyer_values: Mapping[str, float | None]) -> Rule:
    """``rule``, made false for every customer who never ordered.

    Parameters
    ----------
    rule : Rule
        A buyer segment's rule.
    nonbuyer_values : mapping of str to float or None
        What each purchase feature is for a non-buyer, whatever else they do:
        0 for counts and totals, None (missing) for recency, order value...

    Returns
    -------
    Rule
        Each clause that some non-buyer could satisfy gets ``frequency >= 1``
        ("orders at least 1"); the others are unchanged.
    """
    clauses = []
    for clause in rule.clauses:
        if any(_false_for_nonbuyers(c, nonbuyer_values) for c in clause.conditions):
            clauses.append(clause)
        else:
            clauses.append(Clause((BOUGHT, *clause.conditions)))
    return Rule(tuple(clauses))
