"""Vectorised and row evaluation agree; missing values are False (SQL NULL)."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.rules import (
    Clause,
    Condition,
    Rule,
    RuleError,
    evaluate,
    evaluate_all,
    evaluate_row,
)

NUMERIC = ("a", "b", "c")
NUMBERS = [-2, -1, 0, 0.5, 1, 2, 3]


@st.composite
def conditions(draw):
    """A random condition; one in three also holds on a missing value (``or_unknown``)."""
    cond = draw(plain_conditions())
    if draw(st.integers(0, 2)) == 0:
        return Condition(cond.feature, cond.op, cond.value, or_unknown=True)
    return cond


@st.composite
def plain_conditions(draw):
    feature = draw(st.sampled_from(NUMERIC + ("s",)))
    if feature == "s":
        op = draw(st.sampled_from(["==", "!=", "in"]))
        if op == "in":
            return Condition("s", "in", tuple(draw(st.lists(st.sampled_from("xyz"), min_size=1))))
        return Condition("s", op, draw(st.sampled_from("xyz")))
    op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "in"]))
    if op == "in":
        return Condition(feature, "in", tuple(draw(st.lists(st.sampled_from(NUMBERS), min_size=1))))
    return Condition(feature, op, draw(st.sampled_from(NUMBERS)))


rules = st.lists(
    st.lists(conditions(), max_size=5).map(lambda cs: Clause(tuple(cs))), max_size=4
).map(lambda cs: Rule(tuple(cs)))


@st.composite
def frames(draw):
    n = draw(st.integers(1, 12))
    data = {
        f: draw(st.lists(st.sampled_from(NUMBERS + [math.nan]), min_size=n, max_size=n))
        for f in NUMERIC
    }
    data["s"] = draw(st.lists(st.sampled_from(["x", "y", "z", None]), min_size=n, max_size=n))
    return pd.DataFrame(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules, frames())
def test_vectorised_matches_row_evaluation(rule, frame):
    mask = evaluate(rule, frame)
    assert mask.dtype == bool and mask.shape == (len(frame),)
    for i, row in enumerate(frame.to_dict("records")):
        assert evaluate_row(rule, row) == mask[i]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rules, min_size=1, max_size=4), frames())
def test_rules_over_one_frame_share_its_columns_and_select_the_same(some_rules, frame):
    # Converted once for all (a live refresh tests every live segment): nothing leaks
    # from one rule's conditions into the next.
    masks = evaluate_all(some_rules, frame)
    assert len(masks) == len(some_rules)
    for rule, mask in zip(some_rules, masks, strict=True):
        assert (mask == evaluate(rule, frame)).all()


def frame():
    return pd.DataFrame({"x": [1.0, np.nan, 5.0, 3.0], "cat": ["web", None, "app", "store"]})


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        (Condition("x", ">", 2), [False, False, True, True]),
        (Condition("x", "<=", 3), [True, False, False, True]),
        (Condition("x", "!=", 3), [True, False, True, False]),
        (Condition("x", "==", 1), [True, False, False, False]),
        (Condition("x", "in", (1, 5)), [True, False, True, False]),
        (Condition("x", "==", "1"), [False, False, False, False]),
        (Condition("cat", "==", "web"), [True, False, False, False]),
        (Condition("cat", "!=", "web"), [False, False, True, True]),
        (Condition("cat", "in", ("app", "store")), [False, False, True, True]),
        (Condition("cat", "==", 3), [False, False, False, False]),
    ],
)
def test_missing_values_are_false_like_sql_null(cond, expected):
    rule = Rule((Clause((cond,)),))
    assert evaluate(rule, frame()).tolist() == expected
    rows = frame().to_dict("records")
    assert [evaluate_row(rule, r) for r in rows] == expected


def test_row_none_is_missing():
    rule = Rule((Clause((Condition("x", "!=", 3),)),))
    assert evaluate_row(rule, {"x": None}) is False
    assert evaluate_row(rule, {"x": float("nan")}) is False
    assert evaluate_row(rule, {"x": 4}) is True


def test_empty_rule_and_empty_clause():
    assert not evaluate(Rule.nobody(), frame()).any()
    assert evaluate(Rule.everyone(), frame()).all()
    assert evaluate_row(Rule.everyone(), {}) is True
    assert evaluate_row(Rule.nobody(), {"x": 1}) is False


def test_errors():
    with pytest.raises(RuleError, match="unknown feature 'y'"):
        evaluate(Rule((Clause((Condition("y", ">", 1),)),)), frame())
    with pytest.raises(RuleError, match="unknown feature 'y'"):
        evaluate_row(Rule((Clause((Condition("y", ">", 1),)),)), {"x": 1})
    with pytest.raises(RuleError, match="cannot compare text"):
        evaluate(Rule((Clause((Condition("cat", ">", 1),)),)), frame())
    with pytest.raises(RuleError, match="cannot compare text"):
        evaluate_row(Rule((Clause((Condition("cat", ">", 1),)),)), {"cat": "web"})


def test_pandas_string_dtype_and_categorical():
    f = pd.DataFrame({"cat": pd.Series(["a", None, "b"], dtype="string")})
    f["c2"] = pd.Categorical(["a", "b", None])
    rule = Rule((Clause((Condition("cat", "!=", "a"),)), Clause((Condition("c2", "==", "b"),))))
    assert evaluate(rule, f).tolist() == [False, True, True]
