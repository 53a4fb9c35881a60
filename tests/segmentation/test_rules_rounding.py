"""round_thresholds: the roundest thresholds a budget of changed memberships allows."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.rules import (
    Clause,
    Condition,
    FeatureInfo,
    Rule,
    evaluate,
    make_catalog,
    render_text,
    round_thresholds,
)
from segmentation.rules.roundness import round_candidates, significant_digits
from tests.segmentation.test_rules_evaluate import frames, rules

CATALOG = make_catalog(
    [
        FeatureInfo("total_spend", "total spend", "累计消费", "yuan"),
        FeatureInfo("recency_days", "days since last order", "距上次下单天数", "days"),
        FeatureInfo("orders_90d", "orders in the last 90 days", "近90天订单数", "orders"),
    ]
)


def split(feature, t):
    """The two sides of one tree split, as two segment rules."""
    return [
        Rule((Clause((Condition(feature, "<=", t),)),)),
        Rule((Clause((Condition(feature, ">", t),)),)),
    ]


def memberships(rules_, frame):
    return np.array([evaluate(r, frame) for r in rules_])


def customers(seed=0, n=2000):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "total_spend": np.round(rng.lognormal(6.5, 0.9, n), 2),
            "recency_days": rng.integers(0, 365, n).astype(float),
            "orders_90d": rng.poisson(2, n).astype(float),
        }
    )


@pytest.mark.parametrize(
    ("feature", "before", "after", "text"),
    [
        ("total_spend", 1187.35, 1200, "total spend more than ¥1,200"),
        ("recency_days", 89.5, 90, "days since last order more than 90 days"),
        ("recency_days", 40.80259664, 40, "days since last order more than 40 days"),
    ],
)
def test_brief_examples(feature, before, after, text):
    frame = customers()
    rounded, report = round_thresholds(split(feature, before), frame, catalog=CATALOG)
    high = rounded[1].clauses[0].conditions[0]
    assert high.value == after and type(high.value) is int
    assert rounded[0].clauses[0].conditions[0].value == after  # both sides moved together
    assert render_text(rounded[1], CATALOG) == text
    assert report.moves[0].before == before and report.moves[0].after == after
    changed = (memberships(rounded, frame) != memberships(split(feature, before), frame)).any(0)
    assert changed.mean() == pytest.approx(report.changed_share) and report.changed_share <= 0.005


def test_budget_is_cumulative_and_fidelity_reported():
    i = np.arange(1000)
    x = np.where(i % 2 == 0, 100.0 + i % 200, 850.0 + i % 100)  # nothing in (300, 800) ...
    y = np.where(i % 3 == 0, 100.0 + i % 150, 850.0 + i % 100)
    x[:4], y[:4] = [501, 502, 503, 503.25], 100  # ... but 4 rows just above 500 on x
    x[4:8], y[4:8] = 900, [501, 502, 503, 503.25]  # and 4 on y, in the other branch
    frame = pd.DataFrame({"x": x, "y": y})
    rules_ = [
        Rule((Clause((Condition("x", "<=", 503.5),)),)),
        Rule((Clause((Condition("x", ">", 503.5), Condition("y", "<=", 503.5))),)),
        Rule((Clause((Condition("x", ">", 503.5), Condition("y", ">", 503.5))),)),
    ]
    reference = np.argmax(memberships(rules_, frame), axis=0)
    rounded, report = round_thresholds(rules_, frame, reference_labels=reference)
    # x: 503.5 -> 500 changes 4 rows (0.4%); y -> 500 would make it 0.8% (budget 0.5%),
    # so y takes the next roundest value that fits: 600, which changes nobody
    assert [(m.feature, m.after) for m in report.moves] == [("x", 500), ("y", 600)]
    assert [str(r) for r in rounded] == ["x <= 500", "x > 500 AND y <= 600", "x > 500 AND y > 600"]
    assert report.changed_share == 0.004 and report.thresholds == 2 and report.rows == 1000
    assert report.fidelity_before == 1.0 and report.fidelity_after == 0.996
    assert report.as_dict()["moves"][0] == {
        "feature": "x",
        "before": 503.5,
        "after": 500,
        "changed_share": 0.004,
    }


def test_zero_budget_keeps_every_membership_but_still_tidies():
    frame = pd.DataFrame(
        {"orders_90d": [0.0, 1, 2, 3, 5, 8], "total_spend": [1, 5, 9, 20, 50, 99.0]}
    )
    rules_ = split("orders_90d", 2.5) + [Rule((Clause((Condition("total_spend", ">", 9.7),)),))]
    rounded, report = round_thresholds(rules_, frame, max_changed_share=0, catalog=CATALOG)
    assert (memberships(rounded, frame) == memberships(rules_, frame)).all()
    assert [str(r) for r in rounded] == ["orders_90d <= 2", "orders_90d >= 3", "total_spend > 10"]
    assert report.changed_share == 0


def test_equivalent_path_rules_stay_a_partition():
    frame = customers(1)
    paths = [
        Rule(
            (Clause((Condition("total_spend", "<=", 1187.35), Condition("orders_90d", "<=", 2.5))),)
        ),
        Rule(
            (
                Clause(
                    (Condition("total_spend", "<=", 1187.35), Condition("orders_90d", ">", 2.5))
                ),
                Clause(
                    (Condition("total_spend", ">", 1187.35), Condition("recency_days", "<=", 40.8))
                ),
            )
        ),
        Rule(
            (
                Clause(
                    (Condition("total_spend", ">", 1187.35), Condition("recency_days", ">", 40.8))
                ),
            )
        ),
    ]
    rounded, report = round_thresholds(paths, frame, catalog=CATALOG)
    assert (memberships(rounded, frame).sum(0) == 1).all()
    assert {m.after for m in report.moves} >= {1200, 40}


def test_candidates_are_rounder_and_end_with_the_value():
    assert round_candidates(1187.35)[:7] == [0, 10000, 5000, 2000, 1000, 1500, 1200]
    assert round_candidates(7) == [0, 7]  # 6 and 8 are not rounder than 7
    assert round_candidates(0.3551)[-1] == 0.3551
    assert significant_digits(1200) == 2 and significant_digits(89.5) == 3
    with pytest.raises(ValueError, match="max_changed_share"):
        round_thresholds([], pd.DataFrame({"x": [1.0]}), max_changed_share=2)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules, frames(), st.sampled_from([0.0, 0.1, 0.25, 0.5]))
def test_never_changes_more_than_the_budget(rule, frame, share):
    others = [Rule((Clause((Condition("a", "<=", 0.5),)),)), rule]
    rounded, report = round_thresholds(others, frame, max_changed_share=share)
    changed = (memberships(rounded, frame) != memberships(others, frame)).any(0).sum()
    assert changed <= math.floor(share * len(frame) + 1e-9)
    assert report.changed_share == changed / len(frame)
    assert len(rounded) == 2


def test_count_bounds_become_whole_numbers_selecting_the_same_rows():
    from segmentation.rules import Clause, Condition, FeatureInfo, Rule, evaluate, make_catalog
    from segmentation.rules.rounding import whole_count_bounds

    catalog = make_catalog([FeatureInfo("orders", "orders", "订单数", "orders")])
    frame = pd.DataFrame({"orders": [0.0, 1, 2, 3, 4, np.nan]})
    given = [
        Rule((Clause((Condition("orders", ">", 2.5),)),)),
        Rule((Clause((Condition("orders", "<=", 2.5),)),)),
        Rule((Clause((Condition("orders", "<", 3),)),)),
        Rule((Clause((Condition("orders", ">", 0),)),)),
    ]
    out = whole_count_bounds(given, frame, catalog)
    assert [(c.op, c.value) for r in out for c in r.clauses[0].conditions] == [
        (">=", 3), ("<=", 2), ("<=", 2), (">=", 1)
    ]
    for before, after in zip(given, out, strict=True):
        assert (evaluate(before, frame) == evaluate(after, frame)).all()
