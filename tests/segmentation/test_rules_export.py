"""One registry of formats: export_rule(rule, fmt, **options)."""

import pytest

from segmentation.rules import (
    Clause,
    Condition,
    FeatureInfo,
    Rule,
    RuleError,
    export_rule,
    formats,
    make_catalog,
    register_format,
)

CATALOG = make_catalog(
    [
        FeatureInfo("orders_90d", "orders in the last 90 days", "近90天订单数", "orders"),
        FeatureInfo("total_spend", "total spend", "累计消费", "yuan"),
    ]
)
RULE = Rule((Clause((Condition("orders_90d", ">=", 3), Condition("total_spend", ">", 1200))),))
COLUMNS = {"orders_90d": '"orders_90d"', "total_spend": '"total_spend"'}


def test_every_format():
    assert {"text", "json", "jsonlogic", "sql", "sql_inline", "python"} <= set(formats())
    assert export_rule(RULE, "text", catalog=CATALOG) == (
        "orders in the last 90 days at least 3 and total spend more than ¥1,200"
    )
    assert (
        export_rule(RULE, "text", catalog=CATALOG, lang="zh")
        == "近90天订单数至少3且累计消费超过¥1,200"
    )
    assert export_rule(RULE, "json") == RULE.to_dict()
    assert export_rule(RULE, "jsonlogic")["and"][1] == {">=": [{"var": "orders_90d"}, 3]}
    assert export_rule(RULE, "sql", columns=COLUMNS) == (
        '"orders_90d" >= %s AND "total_spend" > %s',
        [3, 1200],
    )
    assert export_rule(RULE, "sql_inline", columns=COLUMNS, dialect="sqlite") == (
        '"orders_90d" >= 3 AND "total_spend" > 1200'
    )
    matches = export_rule(RULE, "python")
    assert matches({"orders_90d": 3, "total_spend": 1200.5})
    assert not matches({"orders_90d": None, "total_spend": 5000})


def test_stored_form_is_accepted_and_errors_are_rule_errors():
    assert export_rule(RULE.to_dict(), "sql_inline", columns=COLUMNS) == export_rule(
        RULE, "sql_inline", columns=COLUMNS
    )
    with pytest.raises(RuleError, match="unknown rule format 'yaml'"):
        export_rule(RULE, "yaml")
    with pytest.raises(RuleError, match=r"version: unsupported version 9"):
        export_rule({"version": 9, "any": []}, "text")


def test_register_a_format():
    def count(rule):
        return len(rule.clauses)

    register_format("clause_count", count)
    try:
        assert export_rule(RULE, "clause_count") == 1
        with pytest.raises(ValueError, match="already registered"):
            register_format("clause_count", lambda rule: 0)
    finally:
        from segmentation.rules import export

        export._FORMATS.pop("clause_count")
