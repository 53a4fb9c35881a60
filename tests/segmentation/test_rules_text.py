"""Rules read as sentences in English and Simplified Chinese."""

import pytest

from segmentation.rules import (
    Clause,
    Condition,
    FeatureInfo,
    Rule,
    make_catalog,
    render_condition,
    render_text,
)
from segmentation.rules.text import format_value

CATALOG = make_catalog(
    [
        FeatureInfo("orders_90d", "orders in the last 90 days", "近90天订单数", "orders"),
        FeatureInfo("total_spend", "total spend", "累计消费", "yuan", skewed=True),
        FeatureInfo("recency_days", "days since last order", "距上次下单天数", "days"),
        FeatureInfo("age_years", "age", "年龄", "years"),
        FeatureInfo("top_category_share", "top category share", "最常购品类占比", "share"),
        FeatureInfo("channel", "channel", "渠道", kind="categorical"),
    ]
)


def rule(*clauses):
    return Rule(tuple(Clause(tuple(Condition(*c) for c in cl)) for cl in clauses))


def test_brief_example():
    r = rule([("orders_90d", ">=", 3), ("total_spend", ">", 1200)])
    assert render_text(r, CATALOG) == (
        "orders in the last 90 days at least 3 and total spend more than ¥1,200"
    )
    assert render_text(r, CATALOG, "zh-hans") == "近90天订单数至少3且累计消费超过¥1,200"


def test_ranges_and_clauses():
    r = rule(
        [("total_spend", ">=", 500), ("total_spend", "<=", 1200), ("recency_days", "<", 30)],
        [("recency_days", ">", 90), ("recency_days", "<=", 365), ("channel", "in", ("web", "app"))],
    )
    assert render_text(r, CATALOG, "en") == (
        "total spend between ¥500 and ¥1,200 and days since last order less than 30 days; "
        "or days since last order more than 90 days and at most 365 days and channel is web or app"
    )
    assert render_text(r, CATALOG, "zh") == (
        "累计消费在¥500到¥1,200之间且距上次下单天数低于30天；"
        "或距上次下单天数超过90天且不超过365天且渠道为web或app"
    )


def test_a_range_closed_on_one_value_reads_as_that_value():
    r = rule([("orders_90d", ">=", 1), ("orders_90d", "<=", 1), ("total_spend", "<=", 210)])
    assert render_text(r, CATALOG) == (
        "orders in the last 90 days exactly 1 and total spend at most ¥210"
    )
    assert render_text(r, CATALOG, "zh") == "近90天订单数等于1且累计消费不超过¥210"
    # the same bounds strict on one side stay a range (nobody matches them, but it is exact)
    open_range = rule([("orders_90d", ">", 1), ("orders_90d", "<=", 1)])
    assert "more than 1" in render_text(open_range, CATALOG)


@pytest.mark.parametrize(
    ("cond", "en", "zh"),
    [
        (
            ("top_category_share", ">", 0.355),
            "top category share more than 35.5%",
            "最常购品类占比超过35.5%",
        ),
        (("age_years", "<=", 30), "age at most 30 years", "年龄不超过30岁"),
        (("recency_days", "==", 1), "days since last order exactly 1 day", "距上次下单天数等于1天"),
        (("channel", "!=", "store"), "channel is not store", "渠道不是store"),
        (
            ("orders_90d", "in", (1, 2, 3)),
            "orders in the last 90 days one of 1, 2 or 3",
            "近90天订单数为1、2或3之一",
        ),
        (("total_spend", "<", 99.5), "total spend less than ¥99.5", "累计消费低于¥99.5"),
        (("unknown_x", ">", 2.25), "unknown_x more than 2.25", "unknown_x超过2.25"),
    ],
)
def test_render_condition(cond, en, zh):
    c = Condition(*cond)
    assert render_condition(c, CATALOG, "en") == en
    assert render_condition(c, CATALOG, "zh-Hans") == zh


def test_empty_rules_and_unknown_language():
    assert render_text(Rule.nobody(), CATALOG) == "nobody"
    assert render_text(Rule.everyone(), CATALOG, "zh") == "所有客户"
    r = rule([("orders_90d", ">=", 3)])
    assert render_text(r, CATALOG, "fr") == render_text(r, CATALOG, "en")


def test_format_value_never_hides_digits():
    info = CATALOG["total_spend"]
    assert format_value(1234567.0, info) == "¥1,234,567"
    assert format_value(1199.37, info) == "¥1,199.37"
    assert format_value(1199.37, info, exact=False) == "¥1,199"
    assert format_value(-50, info) == "-¥50"


@pytest.mark.parametrize(
    "cond, en, zh",
    [
        (("orders_90d", "<=", 0), "no orders in the last 90 days", "近90天订单数为0"),
        (("orders_90d", "<", 1), "no orders in the last 90 days", "近90天订单数为0"),
        (("orders_90d", "==", 0), "no orders in the last 90 days", "近90天订单数为0"),
        (("orders_90d", "<=", 1), "orders in the last 90 days at most 1", "近90天订单数不超过1"),
        (("total_spend", "<=", 0), "total spend at most ¥0", "累计消费不超过¥0"),
    ],
)
def test_zero_counts_read_as_none(cond, en, zh):
    assert render_condition(Condition(*cond), CATALOG, "en") == en
    assert render_condition(Condition(*cond), CATALOG, "zh") == zh


@pytest.mark.parametrize(
    "currency, en, zh",
    [
        ("USD", "total spend more than $1,200", "累计消费超过US$1,200"),
        ("CNY", "total spend more than ¥1,200", "累计消费超过¥1,200"),
        ("EUR", "total spend more than €1,200", "累计消费超过€1,200"),
        ("JPY", "total spend more than ¥1,200", "累计消费超过JP¥1,200"),
    ],
)
def test_money_reads_in_the_features_currency(currency, en, zh):
    info = FeatureInfo("total_spend", "total spend", "累计消费", "money", currency=currency)
    rule = Rule((Clause((Condition("total_spend", ">", 1200),)),))
    assert render_text(rule, {"total_spend": info}, "en") == en
    assert render_text(rule, {"total_spend": info}, "zh") == zh
    assert format_value(-5.5, info, "en").startswith("-")


def test_a_currency_must_be_an_iso_code():
    with pytest.raises(ValueError, match="ISO 4217"):
        FeatureInfo("total_spend", "total spend", "累计消费", "money", currency="dollars")
