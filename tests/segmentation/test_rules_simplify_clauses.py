"""simplify() across clauses: implied clauses go, touching ranges merge, still exact."""

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.rules import Clause, Condition, Rule, evaluate, simplify
from tests.segmentation.test_equivalence import frame_of, rules_for, tables


def clause(*conds):
    return Clause(tuple(Condition(*c) for c in conds))


def rule(*clauses):
    return Rule(tuple(clause(*c) for c in clauses))


def test_a_clause_implying_another_is_dropped():
    assert simplify(rule([("x", ">", 5)], [("x", ">", 3)])) == rule([("x", ">", 3)])
    assert simplify(rule([("x", "==", 4), ("y", "<", 1)], [("x", ">=", 4)])) == rule(
        [("x", ">=", 4)]
    )
    assert simplify(rule([("c", "in", ("a", "b"))], [("c", "!=", "z")])) == rule([("c", "!=", "z")])
    assert simplify(rule([("x", ">", 1), ("x", "<", 3)], [("x", "!=", 7)])) == rule(
        [("x", "!=", 7)]
    )
    # equivalent clauses: the first is kept
    assert simplify(rule([("x", ">=", 3), ("x", "<=", 3)], [("x", "==", 3)])) == rule(
        [("x", "==", 3)]
    )


def test_not_implied_when_a_feature_could_be_missing():
    r = rule([("x", ">", 5)], [("y", "<", 1)])
    assert simplify(r) == r  # x > 5 says nothing about y
    r = rule([("x", ">", 5), ("y", "<", 1)], [("x", ">", 5), ("y", ">=", 1)])
    assert simplify(r) == r  # "y is not missing" cannot be written


def test_touching_or_overlapping_ranges_merge():
    r = rule([("x", "<=", 5), ("y", "==", 1)], [("x", ">", 5), ("x", "<=", 9), ("y", "==", 1)])
    assert simplify(r) == rule([("y", "==", 1), ("x", "<=", 9)])
    r = rule([("x", ">", 1), ("x", "<", 4)], [("x", ">=", 3), ("x", "<", 8)])
    assert simplify(r) == rule([("x", ">", 1), ("x", "<", 8)])
    gap = rule([("x", ">", 1), ("x", "<", 4)], [("x", ">", 4), ("x", "<", 8)])
    assert simplify(gap) == gap  # 4 itself is left out


def test_missing_values_survive_merging():
    frame = pd.DataFrame({"x": [float("nan"), 3.0, 7.0], "y": [1.0, 1.0, float("nan")]})
    r = rule([("x", "<=", 5), ("y", "==", 1)], [("x", ">", 5), ("y", "==", 1)])
    assert (
        evaluate(simplify(r), frame).tolist() == evaluate(r, frame).tolist() == [False, True, False]
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_simplify_is_exact_on_rich_rules(data):
    rows = data.draw(tables())
    r = data.draw(rules_for(rows))
    frame = frame_of(rows)
    simple = simplify(r)
    assert (evaluate(simple, frame) == evaluate(r, frame)).all()
    assert simplify(simple) == simple
