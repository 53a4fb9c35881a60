"""Non-buyers: rule segments of their own, and buyer rules that never select them."""

import numpy as np
import pandas as pd

from segmentation.pipeline.nonbuyers import exclude_nonbuyers, is_buyer, nonbuyer_segments
from segmentation.rules import Clause, Condition, FeatureInfo, Rule, evaluate, make_catalog

CATALOG = make_catalog([
    FeatureInfo("frequency", "orders", "订单数", "orders"),
    FeatureInfo("total_spend", "total spend", "累计消费", "money"),
    FeatureInfo("recency_days", "time since last order", "距上次下单时间", "days"),
    FeatureInfo("tenure_days", "time since signup", "注册时长", "days"),
    FeatureInfo("events_30d", "events in the last 30 days", "近30天行为次数", "sessions"),
])
NONBUYER = {"frequency": 0, "total_spend": 0, "recency_days": None}


def rule(*clauses):
    return Rule(tuple(Clause(tuple(Condition(*c) for c in clause)) for clause in clauses))


def test_a_clause_some_nonbuyer_could_meet_gets_orders_at_least_one():
    original = rule([("total_spend", "<=", 100), ("tenure_days", ">", 30)],
                    [("recency_days", "<=", 7)], [("total_spend", ">", 500)])
    made = exclude_nonbuyers(original, NONBUYER)
    assert made.clauses[0].conditions[0] == Condition("frequency", ">=", 1)
    assert made.clauses[1] == original.clauses[1]  # missing recency: already false
    assert made.clauses[2] == original.clauses[2]  # spend 0 is not more than 500
    frame = pd.DataFrame({"frequency": [0, 0, 2], "total_spend": [0, 0, 50],
                          "recency_days": [np.nan, np.nan, 3], "tenure_days": [90, 10, 90]})
    assert evaluate(original, frame).tolist() == [True, False, True]
    assert evaluate(made, frame).tolist() == [False, False, True]


def test_nonbuyers_split_by_recent_activity_when_some_have_it():
    frame = pd.DataFrame({"frequency": [0.0] * 5, "events_30d": [0, 3, 0, 1, 0.0],
                          "tenure_days": [5, 6, 7, 8, 9.0]}, index=[11, 12, 13, 14, 15])
    added = nonbuyer_segments(frame, CATALOG, first_index=4, total=50)
    assert [s.index for s in added.segments] == [4, 5]
    assert [s.name_en for s in added.segments] == ["Never ordered, seen in 30 days",
                                                   "Never ordered, not seen in 30 days"]
    assert added.labels.tolist() == [5, 4, 5, 4, 5]
    assert [s.size for s in added.segments] == [2, 3]
    assert added.segments[1].share == 3 / 50
    assert added.segments[0].profile["tenure_days"]["median"] == 7.0
    for segment in added.segments:  # the rules select exactly their members
        assert (evaluate(segment.rule, frame) == (added.labels == segment.index)).all()


def test_without_activity_there_is_one_nonbuyer_segment():
    frame = pd.DataFrame({"frequency": [0.0, 0.0], "events_30d": [0.0, 0.0]})
    added = nonbuyer_segments(frame, CATALOG, first_index=3, total=10)
    assert [s.name_en for s in added.segments] == ["Never ordered"]
    assert added.labels.tolist() == [3, 3]
    assert nonbuyer_segments(frame.iloc[:0], CATALOG, first_index=3, total=10).segments == ()


def test_is_buyer():
    assert is_buyer(pd.DataFrame({"frequency": [0, 1, np.nan, 4]})).tolist() == \
        [False, True, False, True]
