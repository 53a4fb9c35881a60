"""Names and descriptions without an LLM."""

from segmentation.pipeline.naming import describe_segment, name_segments
from segmentation.pipeline.synthetic import retail_catalog
from segmentation.rules import FeatureInfo, make_catalog

CATALOG = retail_catalog()


def profile(**medians):
    return {
        f: {"mean": v, "median": v, "overall_mean": o, "overall_median": o}
        for f, (v, o) in medians.items()
    }


def test_rfm_archetypes():
    zs = [
        {"recency_days": -1.2, "total_spend": 1.5, "tenure_days": 0.1},
        {"recency_days": 1.8, "total_spend": -0.2},
        {"tenure_days": -1.5, "recency_days": -0.2},
        {"sessions_30d": 1.4, "orders_90d": -0.9, "total_spend": -0.3},
        {"frequency": 1.1, "avg_order_value": -0.9},
        {"recency_days": 0.1},
    ]
    names = name_segments(zs, [{} for _ in zs], CATALOG)
    assert [(n.name_en, n.name_zh) for n in names] == [
        ("Recent high spenders", "近期高消费客户"),
        ("Lapsed customers", "流失客户"),
        ("New customers", "新客户"),
        ("Inactive browsers", "沉寂浏览型客户"),
        ("Loyal bargain customers", "忠实低客单价客户"),
        ("Typical customers", "普通客户"),
    ]


def test_unknown_features_fall_back_to_labels():
    catalog = make_catalog([FeatureInfo("refunds", "refunds", "退款次数", "orders")])
    names = name_segments([{"refunds": 2.0}, {"refunds": -1.0}], [{}, {}], catalog)
    assert (names[0].name_en, names[0].name_zh) == ("High refunds", "退款次数较高")
    assert (names[1].name_en, names[1].name_zh) == ("Low refunds", "退款次数较低")


def test_names_are_unique():
    zs = [
        {"recency_days": 1.5, "age_years": 1.0},
        {"recency_days": 1.4, "age_years": -1.0},
        {"recency_days": 1.3},
        {"recency_days": 1.3},
    ]
    names = name_segments(zs, [{} for _ in zs], CATALOG)
    assert len({n.name_en for n in names}) == 4
    assert len({n.name_zh for n in names}) == 4
    assert names[0].name_en == "Lapsed older customers"


def test_description_states_medians_in_units():
    p = profile(
        total_spend=(2300.0, 800.0),
        recency_days=(12.0, 60.0),
        orders_90d=(5.0, 1.0),
        age_years=(40.0, 40.0),
    )
    z = {"total_spend": 1.4, "recency_days": -1.0, "orders_90d": 0.8, "age_years": 0.01}
    en, zh = describe_segment(p, z, CATALOG)
    assert en == (
        "Higher total spend (median ¥2,300 vs ¥800 overall), lower recency "
        "(median 12 days vs 60 days overall) and higher orders in the last 90 days "
        "(median 5 vs 1 overall)."
    )
    assert zh == (
        "累计消费较高（中位数¥2,300，整体¥800），距上次下单较低（中位数12天，整体60天），"
        "近90天订单数较高（中位数5，整体1）。"
    )


def test_names_only_use_words_the_rule_guarantees():
    from segmentation.pipeline.naming import name_contradictions
    from segmentation.rules import Clause, Condition, Rule

    shop = {"total_spend": 1500.0, "recency_days": 40.0, "tenure_days": 600.0}
    p = {
        "total_spend": {"mean": 2500.0, "median": 2400.0, "overall_mean": 1600.0,
                        "overall_median": 1500.0},
        "recency_days": {"mean": 10.0, "median": 9.0, "overall_mean": 50.0,
                         "overall_median": 40.0},
        "tenure_days": {"mean": 700.0, "median": 650.0, "overall_mean": 600.0,
                        "overall_median": 600.0},
    }
    z = {"total_spend": 1.2, "recency_days": -1.5, "tenure_days": 0.3}
    # spend > 1,600 and recency <= 30 for every member: "recent high spenders"
    good = Rule((
        Clause((Condition("total_spend", ">", 1600), Condition("recency_days", "<=", 30))),
    ))
    # the second clause lets in members spending ¥38: "high spenders" would lie
    mixed = Rule((
        Clause((Condition("total_spend", ">", 1600), Condition("recency_days", "<=", 30))),
        Clause((Condition("total_spend", "<=", 38), Condition("recency_days", "<=", 20))),
    ))
    names = name_segments([z, z], [p, p], CATALOG, rules=[good, mixed])
    assert (names[0].name_en, names[0].name_zh) == ("Recent high spenders", "近期高消费客户")
    assert names[1].name_en == "Recent customers"
    assert name_contradictions("Recent high spenders", "近期高消费客户", mixed, shop, CATALOG) == [
        "en word 'high spenders' (total_spend high) is not guaranteed by the rule",
        "zh word '高消费客户' (total_spend high) is not guaranteed by the rule",
    ]
    assert name_contradictions(names[1].name_en, names[1].name_zh, mixed, shop, CATALOG) == []


def test_without_a_guaranteed_word_the_name_states_the_shared_bounds():
    from segmentation.rules import Clause, Condition, Rule

    p = {"frequency": {"mean": 8.0, "median": 8.0, "overall_mean": 11.0, "overall_median": 11.0}}
    rule = Rule((
        Clause((Condition("frequency", ">=", 6), Condition("recency_days", "<=", 30))),
        Clause((Condition("frequency", ">=", 8),)),
    ))
    names = name_segments([{"frequency": 0.2}], [p], CATALOG, rules=[rule])
    assert (names[0].name_en, names[0].name_zh) == ("Orders at least 6", "订单数至少6")


def test_names_hold_against_the_shop_medians_the_caller_gives():
    """Buyers segmented apart from non-buyers: "low spenders" must hold against the whole shop."""
    from segmentation.pipeline import PipelineConfig, run_pipeline
    from segmentation.pipeline.naming import name_contradictions
    from segmentation.pipeline.synthetic import make_retail_customers

    frame = make_retail_customers(2000, random_state=2)
    frame = frame[["recency_days", "frequency", "total_spend", "avg_order_value"]]
    catalog = {f: retail_catalog()[f] for f in frame.columns}
    # the whole shop sits lower than these rows (as when non-buyers spend nothing)
    shop = {f: float(frame[f].quantile(0.1)) for f in frame.columns}
    result = run_pipeline(frame, catalog, PipelineConfig(n_clusters=4, random_state=0),
                          shop_medians=shop)
    for segment in result.segments:
        assert {f: s["overall_median"] for f, s in segment.profile.items()} == shop
        assert not name_contradictions(segment.name_en, segment.name_zh, segment.rule, shop,
                                       catalog), segment.name_en
    own = run_pipeline(frame, catalog, PipelineConfig(n_clusters=4, random_state=0))
    assert [s.name_en for s in own.segments] != [s.name_en for s in result.segments]


def test_two_segments_with_one_name_are_told_apart_by_their_bounds_not_numbers():
    from segmentation.pipeline.naming import name_contradictions
    from segmentation.rules import Clause, Condition, Rule

    stats = {"mean": 200.0, "median": 200.0, "overall_mean": 40.0, "overall_median": 40.0}
    p = {"recency_days": stats}
    z = {"recency_days": 1.5}
    high = Rule((Clause((Condition("recency_days", ">", 90), Condition("total_spend", ">", 300))),))
    low = Rule((Clause((Condition("recency_days", ">", 90), Condition("total_spend", "<=", 300))),))
    names = name_segments([z, z], [p, p], CATALOG, rules=[high, low])
    assert [(n.name_en, n.name_zh) for n in names] == [
        ("Lapsed customers, total spend more than ¥300", "流失客户（累计消费超过¥300）"),
        ("Lapsed customers, total spend at most ¥300", "流失客户（累计消费不超过¥300）"),
    ]
    shop = {"recency_days": 40.0, "total_spend": 500.0}
    for name, rule in zip(names, (high, low), strict=True):
        assert name_contradictions(name.name_en, name.name_zh, rule, shop, CATALOG) == []


def test_namesakes_are_not_told_apart_by_a_bound_they_share():
    from segmentation.rules import Clause, Condition, Rule

    stats = {"mean": 200.0, "median": 200.0, "overall_mean": 40.0, "overall_median": 40.0}
    p = {"recency_days": stats}
    z = {"recency_days": 1.5, "tenure_days": 1.2, "total_spend": 0.1}
    shared = (Condition("recency_days", ">", 90), Condition("tenure_days", ">", 200))
    high = Rule((Clause((*shared, Condition("total_spend", ">", 300))),))
    low = Rule((Clause((*shared, Condition("total_spend", "<=", 300))),))
    names = name_segments([z, z], [p, p], CATALOG, rules=[high, low])
    assert [n.name_en for n in names] == [
        "Lapsed customers, total spend more than ¥300",
        "Lapsed customers, total spend at most ¥300",
    ]


def _either_case():
    from segmentation.rules import Clause, Condition, Rule

    p = {
        "tenure_days": {"mean": 50.0, "median": 40.0, "overall_mean": 300.0,
                        "overall_median": 180.0},
        "avg_order_value": {"mean": 90.0, "median": 80.0, "overall_mean": 220.0,
                            "overall_median": 200.0},
    }
    z = {"tenure_days": -0.9, "avg_order_value": -0.7}
    rule = Rule((
        Clause((Condition("tenure_days", "<=", 30), Condition("total_spend", ">", 500))),
        Clause((Condition("avg_order_value", "<=", 50),)),
    ))
    shop = {"tenure_days": 180.0, "avg_order_value": 200.0, "total_spend": 400.0}
    return p, z, rule, shop


def test_clauses_without_a_shared_word_are_named_by_a_word_of_each():
    from segmentation.pipeline.naming import name_contradictions

    p, z, rule, shop = _either_case()
    [name] = name_segments([z], [p], CATALOG, rules=[rule])
    # every member is new (first clause) or buys cheaply (second): one of the words holds
    assert (name.name_en, name.name_zh) == ("New or bargain customers", "新客户或低客单价客户")
    assert name_contradictions(name.name_en, name.name_zh, rule, shop, CATALOG) == []


def test_alternatives_in_a_name_must_each_come_from_a_clause():
    from segmentation.pipeline.naming import name_contradictions
    from segmentation.rules import Clause, Condition, Rule

    _, _, rule, shop = _either_case()
    # the second clause no longer bounds the order value: "bargain" holds for nobody sure
    loose = Rule((rule.clauses[0], Clause((Condition("total_spend", "<=", 50),))))
    assert name_contradictions("New or bargain customers", "新客户或低客单价客户", loose, shop,
                               CATALOG) == [
        "en alternatives 'new / bargain': some clause guarantees none",
        "zh alternatives '新 / 低客单价': some clause guarantees none",
    ]
    # a name of one word is still checked against every clause
    assert name_contradictions("New customers", "新客户", rule, shop, CATALOG) == [
        "en word 'new' (tenure_days low) is not guaranteed by the rule",
        "zh word '新' (tenure_days low) is not guaranteed by the rule",
    ]
