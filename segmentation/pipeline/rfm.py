"""The small-shop fallback: named RFM groups as quantile rules, no clustering.

Below a few hundred buyers, k-means finds noise. Instead, buyers are scored by
recency and frequency tertiles (3 = best) and the classic RFM groups are stated
as rules in the same AST: each group is the OR of its grid cells. Customers who
never ordered form their own group. Spend is reported in the profiles.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..rules.ast import Clause, Condition, Rule
from ..rules.catalog import FeatureInfo
from ..rules.simplify import simplify
from .config import PipelineError
from .metrics import json_safe
from .profile import segment_profiles
from .result import PipelineResult, SegmentResult, assign_segments

__all__ = ["RFM_FEATURES", "rfm_segments"]

RFM_FEATURES = ("recency_days", "frequency", "total_spend")

# (English name, Chinese name, description, cells as (R score, F score)). No name
# uses a word of naming.SEMANTICS its rule does not guarantee ("loyal" would
# claim more orders than the median, "new" a short tenure).
GROUPS = [
    ("Champions", "冠军客户", "Bought recently and often.", [(3, 3)]),
    ("Regulars", "常客", "Buy regularly, fairly recently.", [(2, 2), (2, 3), (3, 2)]),
    ("Promising", "潜力客户", "Bought recently, but rarely so far.", [(3, 1)]),
    ("At risk", "流失风险客户", "Used to buy often, not lately.", [(1, 2), (1, 3)]),
    ("Hibernating", "沉睡客户", "Bought rarely and not lately.", [(1, 1), (2, 1)]),
]
PROSPECTS = ("Prospects", "潜在客户", "Signed up but never ordered.")


def _band(feature: str, score: int, low: float, high: float, best_is_low: bool) -> list[Condition]:
    """Conditions putting ``feature`` in tertile ``score`` (3 is best)."""
    band = 4 - score if best_is_low else score  # 1 = lowest values
    if band == 1:
        return [Condition(feature, "<=", low)]
    if band == 2:
        return [Condition(feature, ">", low), Condition(feature, "<=", high)]
    return [Condition(feature, ">", high)]


def rfm_segments(frame: pd.DataFrame, catalog: Mapping[str, FeatureInfo]) -> PipelineResult:
    """Segment a small shop into named RFM groups stated as rules.

    Parameters
    ----------
    frame : pandas.DataFrame
        Must hold ``recency_days``, ``frequency`` and ``total_spend`` (raw units).
    catalog : mapping of str to FeatureInfo

    Returns
    -------
    PipelineResult
        ``model`` is None; ``metrics["method"]`` is ``"rfm"``.
    """
    missing = [name for name in RFM_FEATURES if name not in frame.columns]
    if missing:
        raise PipelineError(f"the RFM fallback needs the features {', '.join(missing)}")
    if frame.empty:
        raise PipelineError("there are no customers to segment")
    buyers = frame[frame["frequency"] > 0]
    if buyers.empty:
        raise PipelineError("no customer has a completed order yet: nothing to segment on")
    r_low, r_high = np.quantile(buyers["recency_days"], [1 / 3, 2 / 3])
    f_low, f_high = np.quantile(buyers["frequency"], [1 / 3, 2 / 3])
    bought = Condition("frequency", ">", 0)

    named = []
    for name_en, name_zh, description, cells in GROUPS:
        clauses = tuple(
            Clause((bought, *_band("recency_days", r, r_low, r_high, best_is_low=True),
                    *_band("frequency", f, f_low, f_high, best_is_low=False)))
            for r, f in cells
        )
        named.append((name_en, name_zh, description, simplify(Rule(clauses))))
    named.append((*PROSPECTS, Rule((Clause((Condition("frequency", "<=", 0),)),))))

    labels = assign_segments([rule for *_, rule in named], frame)
    kept = [a for a in range(len(named)) if (labels == a).any()]
    renumber = np.full(len(named) + 1, -1)
    renumber[kept] = np.arange(len(kept))
    labels = np.where(labels >= 0, renumber[labels], -1)
    columns = [c for c in frame.columns if catalog.get(c) and catalog[c].kind == "numeric"]
    profiles = segment_profiles(frame[columns], labels, len(kept))
    sizes = np.bincount(labels[labels >= 0], minlength=len(kept))
    segments = tuple(
        SegmentResult(
            index=new, rule=named[old][3], size=int(sizes[new]),
            share=float(sizes[new] / len(frame)), name_en=named[old][0], name_zh=named[old][1],
            description_en=named[old][2], description_zh=named[old][1], profile=profiles[new],
        )
        for new, old in enumerate(kept)
    )
    note = (f"Only {len(buyers)} customers have orders: too few to cluster, so the segments "
            "are RFM groups by recency and frequency tertiles.")
    metrics = {
        "method": "rfm", "algorithm": "rfm", "k": len(kept), "sizes": sizes.tolist(),
        "unassigned": int((labels < 0).sum()), "notes": [note],
        "thresholds": {"recency_days": [r_low, r_high], "frequency": [f_low, f_high]},
    }
    return PipelineResult(
        k=len(kept), segments=segments, labels=labels, cluster_labels=labels,
        metrics=json_safe(metrics), timings={}, model=None,
    )
