"""``or_unknown``: a condition that also holds when the feature's value is missing.

Each consumer of the rule model on its own: the stored form, validation, the
Python evaluators, SQL (SQLite here, PostgreSQL in the database test below),
JsonLogic, the sentences in English and Chinese, exact simplification and
threshold rounding. The random equivalence tests (test_equivalence*.py) draw
the flag too.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from json_logic import jsonLogic

from segmentation.pipeline.naming import guaranteed
from segmentation.pipeline.readable import make_readable
from segmentation.pipeline.wholeunits import whole_unit_thresholds
from segmentation.rules import (
    Clause,
    Condition,
    FeatureInfo,
    Rule,
    RuleError,
    compile_rule,
    evaluate,
    evaluate_row,
    from_jsonlogic,
    render_sql,
    render_sql_inline,
    render_text,
    round_thresholds,
    simplify,
    to_jsonlogic,
    validate_rule,
)

AGE = Condition("age_years", "<=", 30, or_unknown=True)
CATALOG = {
    "age_years": FeatureInfo("age_years", "age", "年龄", "years"),
    "total_spend": FeatureInfo("total_spend", "total spend", "累计消费", "yuan"),
    "orders_90d": FeatureInfo("orders_90d", "orders in the last 90 days", "近90天订单数",
                              "orders"),
    "channel": FeatureInfo("channel", "channel", "渠道", kind="categorical"),
}


def one(*conds: Condition) -> Rule:
    return Rule((Clause(conds),))


def ages() -> pd.DataFrame:
    return pd.DataFrame({"age_years": [25.0, np.nan, 40.0, 30.0],
                         "channel": ["web", None, "app", "web"]})


# --- the stored form --------------------------------------------------------------------------


def test_the_flag_is_stored_only_when_true_and_read_back():
    assert AGE.to_dict() == {"feature": "age_years", "op": "<=", "value": 30, "or_unknown": True}
    plain = Condition("age_years", "<=", 30)
    assert "or_unknown" not in plain.to_dict()  # rules stored before the flag read the same
    rule = Rule((Clause((AGE, Condition("total_spend", ">", 100))),))
    assert Rule.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule
    old = {"version": 1, "any": [{"all": [{"feature": "age_years", "op": "<=", "value": 30}]}]}
    assert Rule.from_dict(old) == one(plain)
    assert AGE != plain and str(AGE) == "(age_years <= 30 OR age_years IS NULL)"


@pytest.mark.parametrize("flag", ["yes", 1, None, [True]])
def test_a_flag_that_is_not_a_boolean_is_refused_with_its_place(flag):
    data = {"version": 1, "any": [{"all": [
        {"feature": "total_spend", "op": ">", "value": 1},
        {"feature": "age_years", "op": "<=", "value": 30, "or_unknown": flag}]}]}
    with pytest.raises(RuleError, match=r"^any\[0\]\.all\[1\]\.or_unknown: expected true or false"):
        validate_rule(data, CATALOG)
    with pytest.raises(RuleError, match="or_unknown"):
        Condition("age_years", "<=", 30, or_unknown=flag)


def test_validation_keeps_the_flag():
    data = {"version": 1, "any": [{"all": [
        {"feature": "channel", "op": "==", "value": "web", "or_unknown": True}]}]}
    assert validate_rule(data, CATALOG).clauses[0].conditions[0].or_unknown is True


# --- evaluation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        (AGE, [True, True, False, True]),
        (Condition("age_years", ">", 30, or_unknown=True), [False, True, True, False]),
        (Condition("age_years", "!=", 25, or_unknown=True), [False, True, True, True]),
        (Condition("age_years", "in", (40,), or_unknown=True), [False, True, True, False]),
        (Condition("channel", "==", "app", or_unknown=True), [False, True, True, False]),
        (Condition("channel", "!=", "web", or_unknown=True), [False, True, True, False]),
        (Condition("age_years", "<=", 30), [True, False, False, True]),
    ],
)
def test_every_python_evaluation_lets_a_missing_value_pass_with_the_flag(cond, expected):
    frame = ages()
    rule = one(cond)
    assert evaluate(rule, frame).tolist() == expected
    compiled = compile_rule(rule)
    rows = frame.to_dict("records")
    assert [evaluate_row(rule, r) for r in rows] == expected
    assert [compiled(r) for r in rows] == expected
    assert evaluate_row(rule, {"age_years": None, "channel": None}) == cond.or_unknown


# --- SQL --------------------------------------------------------------------------------------

COLUMNS = {"age_years": '"t"."age_years"', "total_spend": '"t"."total_spend"'}


def test_sql_adds_is_null_to_a_flagged_condition():
    rule = one(AGE, Condition("total_spend", ">", 100))
    sql, params = render_sql(rule, COLUMNS)
    assert sql == '("t"."age_years" <= %s OR "t"."age_years" IS NULL) AND "t"."total_spend" > %s'
    assert params == [30, 100]
    assert render_sql_inline(one(Condition("age_years", "in", (1, 2), or_unknown=True)),
                             COLUMNS) == '("t"."age_years" IN (1, 2) OR "t"."age_years" IS NULL)'


def test_sqlite_selects_the_missing_rows_the_flag_lets_in():
    con = sqlite3.connect(":memory:")
    con.execute('CREATE TABLE t (id INTEGER, age_years REAL, total_spend REAL)')
    con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                    [(1, 25, 200), (2, None, 200), (3, 40, 200), (4, None, 50)])
    for rule, expected in (
        (one(AGE, Condition("total_spend", ">", 100)), {1, 2}),
        (one(Condition("age_years", "!=", 25, or_unknown=True)), {2, 3, 4}),
        (one(Condition("age_years", "<=", 30)), {1}),
    ):
        sql, params = render_sql(rule, COLUMNS, "sqlite")
        assert {i for (i,) in con.execute('SELECT id FROM t AS "t" WHERE ' + sql, params)} == \
            expected


# --- JsonLogic --------------------------------------------------------------------------------


def test_jsonlogic_ors_the_condition_with_a_null_test_and_reads_it_back():
    rule = one(AGE, Condition("total_spend", ">", 100))
    doc = to_jsonlogic(rule)
    assert doc == {"and": [
        {"or": [{"<=": [{"var": "age_years"}, 30]}, {"===": [{"var": "age_years"}, None]}]},
        {"!==": [{"var": "total_spend"}, None]},
        {">": [{"var": "total_spend"}, 100]},
    ]}
    assert from_jsonlogic(json.loads(json.dumps(doc))) == rule
    for data, expected in (({"age_years": 25, "total_spend": 200}, True),
                           ({"age_years": None, "total_spend": 200}, True),
                           ({"total_spend": 200}, True),
                           ({"age_years": 40, "total_spend": 200}, False),
                           ({"age_years": None, "total_spend": None}, False)):
        assert bool(jsonLogic(doc, data)) is expected, data


def test_hand_written_or_null_reads_as_the_flag():
    doc = {"or": [{"==": [{"var": "age_years"}, None]},
                  {"and": [{">": [{"var": "age_years"}, 18]}, {"<": [{"var": "age_years"}, 30]}]}]}
    assert from_jsonlogic(doc) == one(Condition("age_years", ">", 18, or_unknown=True),
                                      Condition("age_years", "<", 30, or_unknown=True))
    with pytest.raises(RuleError, match="a bare 'age_years == null'"):
        from_jsonlogic({"or": [{"==": [{"var": "age_years"}, None]},
                               {">": [{"var": "total_spend"}, 1]}]})


# --- sentences --------------------------------------------------------------------------------


def test_sentences_say_or_unknown_in_both_languages():
    rule = one(AGE, Condition("total_spend", ">", 1200))
    assert render_text(rule, CATALOG, "en") == \
        "age at most 30 years (or unknown) and total spend more than ¥1,200"
    assert render_text(rule, CATALOG, "zh") == "年龄不超过30岁（或未知）且累计消费超过¥1,200"
    both = one(Condition("age_years", ">", 18, or_unknown=True), AGE)
    assert render_text(both, CATALOG, "en") == \
        "age more than 18 years and at most 30 years (or unknown)"
    assert render_text(both, CATALOG, "zh").endswith("（或未知）")
    mixed = one(Condition("age_years", ">", 18), AGE)  # no shared "(or unknown)"
    assert render_text(mixed, CATALOG, "en") == \
        "age more than 18 years and age at most 30 years (or unknown)"
    none = one(Condition("orders_90d", "<=", 0, or_unknown=True))
    assert render_text(none, CATALOG, "en") == "no orders in the last 90 days (or unknown)"
    assert "(or unknown)" not in render_text(one(Condition("age_years", "<=", 30)), CATALOG)


# --- simplification and rounding ---------------------------------------------------------------


def test_merging_conditions_of_one_clause_keeps_a_missing_value_out_unless_all_let_it_in():
    tighter = Condition("age_years", "<=", 25)
    assert simplify(one(AGE, tighter)) == one(tighter)
    looser = Condition("age_years", "<=", 40, or_unknown=True)
    assert simplify(one(AGE, looser)) == one(AGE)
    # no present value passes both, a missing one does: kept as written, not dropped
    apart = one(AGE, Condition("age_years", ">", 50, or_unknown=True))
    assert simplify(apart) == apart
    assert evaluate(simplify(apart), ages()).tolist() == [False, True, False, False]


def test_a_clause_only_implies_another_if_it_lets_in_no_more_missing_values():
    spend = Condition("total_spend", ">", 100)
    flagged, plain = Clause((AGE, spend)), Clause((Condition("age_years", "<=", 40),))
    rule = Rule((flagged, plain))
    assert simplify(rule) == rule  # age <= 30 (or unknown) is not inside age <= 40
    plain_inside = Rule((Clause((Condition("age_years", "<=", 30), spend)),
                         Clause((Condition("age_years", "<=", 40, or_unknown=True),))))
    assert simplify(plain_inside) == Rule((plain_inside.clauses[1],))
    # touching ranges: the union lets a missing value in if either did
    assert simplify(Rule((Clause((AGE,)), plain))) == one(
        Condition("age_years", "<=", 40, or_unknown=True))


def test_touching_ranges_merge_with_the_flag_of_either():
    web = Condition("channel", "==", "web")
    a = Clause((Condition("age_years", "<=", 30, or_unknown=True), web))
    b = Clause((Condition("age_years", ">", 30), web))
    assert simplify(Rule((a, b))) == one(Condition("channel", "==", "web"))
    c = Clause((Condition("age_years", "<=", 30), Condition("channel", "==", "web")))
    assert simplify(Rule((c, b))) == Rule((c, b))  # "age known" has no condition


def test_rounding_and_whole_units_keep_the_flag():
    frame = pd.DataFrame({"age_years": [20.0, 31.0, np.nan] * 50})
    rules = [one(Condition("age_years", "<=", 29.73, or_unknown=True)),
             one(Condition("age_years", ">", 29.73))]
    rounded, report = round_thresholds(rules, frame, max_changed_share=0.0)
    assert report.moves and rounded[0].clauses[0].conditions[0] == Condition(
        "age_years", "<=", report.moves[0].after, or_unknown=True)
    assert evaluate(rounded[0], frame).sum() == 100  # the missing ones stayed in
    snapped = whole_unit_thresholds(one(Condition("age_years", "<=", 29.5, or_unknown=True)),
                                    CATALOG, frame)
    assert snapped == one(Condition("age_years", "<=", 29, or_unknown=True))


def test_readable_shortening_counts_missing_values():
    frame = pd.DataFrame({"age_years": [20.0, 40.0, np.nan, np.nan],
                          "total_spend": [10.0, 10.0, 10.0, 500.0]})
    spend = Condition("total_spend", "<=", 100)
    rules = [Rule((Clause((AGE, spend)),)),
             Rule((Clause((Condition("age_years", ">", 30), spend)),
                   Clause((Condition("total_spend", ">", 100),)))),]
    shortened, _ = make_readable(rules, frame, score=lambda labels: 1.0)
    # dropping "age at most 30 (or unknown)" would move the customer aged 40
    assert [evaluate(r, frame).tolist() for r in shortened] == \
        [[True, False, True, False], [False, True, False, True]]


def test_a_name_word_holds_for_members_whose_value_is_known():
    assert guaranteed(one(AGE), "age_years", "low", shop=35.0)
    assert not guaranteed(one(AGE), "age_years", "high", shop=35.0)
