"""simplify() is exact and merges bounds, impossible and duplicate clauses."""

import pandas as pd
from hypothesis import HealthCheck, given, settings

from segmentation.rules import Clause, Condition, Rule, evaluate, simplify
from tests.segmentation.test_rules_evaluate import frames, rules


def clause(*conds):
    return Clause(tuple(Condition(*c) for c in conds))


def test_tightest_bounds():
    r = simplify(Rule((clause(("x", ">", 3), ("x", ">", 5), ("x", "<=", 10), ("x", "<", 10)),)))
    assert r == Rule((clause(("x", ">", 5), ("x", "<", 10)),))


def test_same_value_strict_wins_and_point_becomes_equality():
    assert simplify(Rule((clause(("x", ">=", 3), ("x", ">", 3)),))) == Rule(
        (clause(("x", ">", 3)),)
    )
    assert simplify(Rule((clause(("x", ">=", 3), ("x", "<=", 3)),))) == Rule(
        (clause(("x", "==", 3)),)
    )


def test_impossible_clauses_are_dropped():
    r = Rule((clause(("x", ">", 5), ("x", "<", 3)), clause(("y", "==", 1))))
    assert simplify(r) == Rule((clause(("y", "==", 1)),))
    assert simplify(Rule((clause(("x", ">", 3), ("x", "<=", 3)),))) == Rule.nobody()
    assert simplify(Rule((clause(("c", "==", "a"), ("c", "!=", "a")),))) == Rule.nobody()


def test_equality_sets_and_exclusions():
    r = simplify(
        Rule((clause(("c", "in", ("a", "b", "d")), ("c", "!=", "b"), ("c", "in", ("a", "b"))),))
    )
    assert r == Rule((clause(("c", "==", "a")),))
    r = simplify(Rule((clause(("x", "in", (1, 4, 9)), ("x", ">", 2)),)))
    assert r == Rule((clause(("x", "in", (4, 9))),))
    r = simplify(Rule((clause(("x", ">", 2), ("x", "!=", 1), ("x", "!=", 5)),)))
    assert r == Rule((clause(("x", ">", 2), ("x", "!=", 5)),))


def test_duplicate_and_subsumed_clauses():
    a = clause(("x", ">", 1))
    b = clause(("x", ">", 1), ("y", "<", 2))
    assert simplify(Rule((a, b, a))) == Rule((a,))
    assert simplify(Rule((b, Clause(())))) == Rule.everyone()


def test_keeps_ints_and_order():
    r = simplify(Rule((clause(("b", "<=", 7), ("a", ">", 2), ("b", ">", 1)),)))
    assert r == Rule((clause(("b", ">", 1), ("b", "<=", 7), ("a", ">", 2)),))
    assert type(r.clauses[0].conditions[0].value) is int


def test_missing_value_still_fails_after_merging():
    frame = pd.DataFrame({"x": [float("nan"), 4.0]})
    r = Rule((clause(("x", "!=", 1), ("x", ">", 2)),))
    assert evaluate(simplify(r), frame).tolist() == [False, True]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules, frames())
def test_simplify_is_exact(rule, frame):
    simple = simplify(rule)
    assert (evaluate(simple, frame) == evaluate(rule, frame)).all()
    assert len(simple.clauses) <= len(rule.clauses)
    assert simplify(simple) == simple
