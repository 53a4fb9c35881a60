"""validate_rule: the catalog decides which features, operators and values a rule may use."""

import pytest

from segmentation.rules import Clause, Condition, FeatureInfo, Rule, RuleError, make_catalog
from segmentation.rules.validate import validate_rule

CATALOG = make_catalog(
    [
        FeatureInfo("orders_90d", "orders in the last 90 days", "近90天订单数", "orders"),
        FeatureInfo("total_spend", "total spend", "累计消费", "yuan"),
        FeatureInfo("channel", "channel", "渠道", kind="categorical"),
    ]
)


def doc(*conditions, clauses=1):
    return {"version": 1, "any": [{"all": []}] * (clauses - 1) + [{"all": list(conditions)}]}


def cond(feature, op, value):
    return {"feature": feature, "op": op, "value": value}


def test_valid_rule_and_document_pass():
    rule = Rule((Clause((Condition("orders_90d", ">=", 3), Condition("channel", "in", ("web",)))),))
    assert validate_rule(rule, CATALOG) is rule
    assert validate_rule(rule.to_dict(), CATALOG) == rule
    assert validate_rule(doc(cond("channel", "!=", "app")), CATALOG) == Rule(
        (Clause((Condition("channel", "!=", "app"),)),)
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (doc(cond("spend", ">", 1)), "any[0].all[0].feature: unknown feature 'spend'"),
        (
            doc(cond("orders_90d", ">", 1), cond("channel", ">", "a"), clauses=2),
            "any[1].all[1].value: '>' needs a number",
        ),
        (
            doc(cond("channel", "<=", 3)),
            "any[0].all[0].op: 'channel' is categorical: only ==, != and in apply, not '<='",
        ),
        (
            doc(cond("channel", "==", 3)),
            "any[0].all[0].value: 'channel' is categorical: expected text, got 3",
        ),
        (
            doc(cond("channel", "in", ["web", 2])),
            "any[0].all[0].value[1]: 'channel' is categorical: expected text, got 2",
        ),
        (
            doc(cond("total_spend", "==", "1200")),
            "any[0].all[0].value: 'total_spend' is numeric: expected a number, got '1200'",
        ),
        (
            doc(cond("total_spend", "in", [1, "x"])),
            "any[0].all[0].value[1]: 'total_spend' is numeric: expected a number, got 'x'",
        ),
        (doc(cond("total_spend", "in", 3)), "any[0].all[0].value: 'in' needs a non-empty list"),
        (doc(cond("total_spend", "in", "abc")), "any[0].all[0].value: 'in' needs a non-empty list"),
        (doc(cond("total_spend", ">", float("nan"))), "any[0].all[0].value: expected a finite"),
        (doc(cond("total_spend", "==", True)), "any[0].all[0].value: expected a number or text"),
        ({"version": 1, "any": {}}, "any: expected a list of clauses"),
        ({"version": "1", "any": []}, "version: unsupported version '1'"),
        ("rule", "rule: expected an object"),
    ],
)
def test_errors_name_the_place(data, message):
    with pytest.raises(RuleError) as info:
        validate_rule(data, CATALOG)
    assert str(info.value).startswith(message)


def test_ast_built_in_python_is_checked_too():
    rule = Rule((Clause(()), Clause((Condition("channel", "<", 3),))))
    with pytest.raises(RuleError, match=r"^any\[1\]\.all\[0\]\.op: 'channel' is categorical"):
        validate_rule(rule, CATALOG, allow_everyone=True)


def test_an_empty_clause_selects_everyone_only_when_chosen():
    with pytest.raises(RuleError, match=r"^any\[0\]\.all: an empty clause selects every"):
        validate_rule({"version": 1, "any": [{"all": []}]}, CATALOG)
    assert validate_rule(Rule.everyone(), CATALOG, allow_everyone=True) == Rule.everyone()
    assert validate_rule(Rule.nobody(), CATALOG) == Rule.nobody()
