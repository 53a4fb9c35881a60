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
