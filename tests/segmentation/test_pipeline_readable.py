"""Rules shortened on the data: no needless condition, merged clauses, one threshold."""

import numpy as np
import pandas as pd

from segmentation.pipeline.readable import (
    first_match,
    make_readable,
    mergeable_clauses,
    removable_conditions,
    unify_thresholds,
)
from segmentation.pipeline.result import assign_segments
from segmentation.rules import Clause, Condition, Rule


def rule(*clauses):
    return Rule(tuple(Clause(tuple(Condition(*c) for c in clause)) for clause in clauses))


def frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "spend": np.round(rng.uniform(1, 1000, n), 2),
        "orders": rng.integers(1, 10, n).astype(float),
        "days": rng.integers(0, 200, n).astype(float),
    })


def agreement(reference):
    return lambda labels: float((labels == reference).mean())


def test_a_condition_no_customer_needs_is_dropped():
    data = frame()
    # orders >= 1 holds for everybody: it changes no customer's segment
    paths = [
        rule([("spend", "<=", 500), ("orders", ">=", 1)]),
        rule([("spend", ">", 500), ("orders", ">=", 1)]),
    ]
    reference = assign_segments(paths, data)
    rules, report = make_readable(paths, data, agreement(reference))
    assert rules == [rule([("spend", "<=", 500)]), rule([("spend", ">", 500)])]
    assert report.conditions_dropped == 2
    assert (assign_segments(rules, data) == reference).all()
    assert removable_conditions(paths, data) and not removable_conditions(rules, data)


def test_a_threshold_outside_the_data_is_dropped_and_assigns_missing_rows():
    data = frame()
    data.loc[:9, "spend"] = np.nan
    paths = [
        rule([("days", "<=", 100), ("spend", ">", 0)]),  # spend > 0 is vacuous: min is 1
        rule([("days", "<=", 100), ("spend", "<=", 0)]),  # selects nobody
        rule([("days", ">", 100)]),
    ]
    rules, report = make_readable(paths, data, lambda labels: 0.0)
    assert rules[0] == rule([("days", "<=", 100)])
    assert report.conditions_dropped >= 1
    labels = assign_segments(rules, data)
    # the rows whose spend is missing now belong to a segment, and rules stay disjoint
    assert (labels[:10] >= 0).all()
    masks = np.array([assign_segments([r], data) == 0 for r in rules])
    assert masks.sum(0).max() == 1


def test_clauses_differing_by_one_complementary_condition_merge():
    data = frame()
    paths = [
        rule([("days", "<=", 100), ("spend", "<=", 500)],
             [("days", "<=", 100), ("spend", ">", 500), ("orders", "<=", 5)]),
        rule([("days", "<=", 100), ("spend", ">", 500), ("orders", ">", 5)], [("days", ">", 100)]),
    ]
    reference = assign_segments(paths, data)
    # exact simplification cannot merge them (different shapes); on the data they differ by one
    two = [rule([("days", "<=", 100), ("orders", "<=", 5)],
                [("days", "<=", 100), ("orders", ">", 5)])]
    assert mergeable_clauses(two, data) == [(0, 0, 1)]
    merged, report = make_readable(two, data, lambda labels: 0.0)
    assert merged == [rule([("days", "<=", 100)])]
    assert report.clauses_merged + report.conditions_dropped >= 1
    rules, _ = make_readable(paths, data, agreement(reference))
    assert (assign_segments(rules, data) == reference).all()
    assert not mergeable_clauses(rules, data)


def test_one_threshold_per_feature_and_direction_in_a_segment():
    data = frame()
    # segment 0 says "days at most 100" in one clause and "at most 101" in the other
    paths = [
        rule([("spend", "<=", 500), ("days", "<=", 100)],
             [("spend", ">", 500), ("days", "<=", 101)]),
        rule([("spend", "<=", 500), ("days", ">", 100)], [("spend", ">", 500), ("days", ">", 101)]),
    ]
    reference = assign_segments(paths, data)
    rules, moves = unify_thresholds(paths, data, agreement(reference))
    assert moves == 1
    values = {c.value for r in rules for cl in r.clauses for c in cl.conditions
              if c.feature == "days"}
    assert len(values) == 1
    # both sides moved together: still a partition of every row
    labels = assign_segments(rules, data)
    assert (labels >= 0).all()
    # and the whole thing reads as one clause per segment
    readable, _ = make_readable(paths, data, agreement(reference))
    assert [len(r.clauses) for r in readable] == [1, 1]


def test_an_expensive_unification_is_refused():
    data = frame()
    # unifying 10 and 190 would move most customers: left alone
    paths = [
        rule([("spend", "<=", 500), ("days", "<=", 10)],
             [("spend", ">", 500), ("days", "<=", 190)]),
        rule([("spend", "<=", 500), ("days", ">", 10)],
             [("spend", ">", 500), ("days", ">", 190)]),
    ]
    reference = assign_segments(paths, data)
    rules, moves = unify_thresholds(paths, data, agreement(reference))
    assert moves == 0 and rules == list(paths)


def test_first_match():
    masks = np.array([[True, False, False], [True, True, False]])
    assert first_match(masks).tolist() == [0, 1, -1]
