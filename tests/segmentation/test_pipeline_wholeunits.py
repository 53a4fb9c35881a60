"""Thresholds on whole-number features are stated as whole numbers, selecting the same rows."""

import numpy as np
import pandas as pd
import pytest

from segmentation.pipeline.wholeunits import whole_unit_thresholds
from segmentation.rules import Clause, Condition, FeatureInfo, Rule, evaluate, make_catalog

CATALOG = make_catalog([
    FeatureInfo("recency_days", "time since last order", "距上次下单时间", "days"),
    FeatureInfo("total_spend", "total spend", "累计消费", "money"),
])


@pytest.mark.parametrize("op, value, expected", [
    ("<=", 37.5, 37), (">", 37.5, 37), ("<", 37.5, 38), (">=", 37.5, 38), ("<=", 40, 40),
])
def test_day_thresholds_become_whole_and_select_the_same_rows(op, value, expected):
    frame = pd.DataFrame({"recency_days": np.arange(0, 80, dtype=float),
                          "total_spend": np.linspace(0, 99.5, 80)})
    rule = Rule((Clause((Condition("recency_days", op, value),
                         Condition("total_spend", ">", 10.25))),))
    made = whole_unit_thresholds(rule, CATALOG, frame)
    assert made.clauses[0].conditions[0] == Condition("recency_days", op, expected)
    assert made.clauses[0].conditions[1] == Condition("total_spend", ">", 10.25)  # money stays
    assert (evaluate(made, frame) == evaluate(rule, frame)).all()


def test_a_feature_with_fractional_values_is_left_alone():
    frame = pd.DataFrame({"recency_days": [0.5, 1.5], "total_spend": [1.0, 2.0]})
    rule = Rule((Clause((Condition("recency_days", "<=", 1.0 + 0.25),)),))
    assert whole_unit_thresholds(rule, CATALOG, frame) == rule
