"""Customers with an unknown value land in exactly one segment ("or unknown" conditions).

The tree is fitted on imputed values (the median, the most frequent category);
the rules read the raw data, where the value is missing. Each condition on a
feature with missing values says "or unknown" exactly where the imputed value
satisfies it, so the rules put those customers where the tree did.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans

from segmentation.pipeline import PipelineConfig, assign_segments, run_pipeline
from segmentation.pipeline.naming import name_contradictions
from segmentation.pipeline.preprocess import clean_frame, prepare
from segmentation.pipeline.readable import mergeable_clauses, removable_conditions
from segmentation.pipeline.rulebuild import round_thresholds, tree_rules
from segmentation.pipeline.synthetic import make_retail_customers, retail_catalog
from segmentation.pipeline.treefit import fit_threshold_tree
from segmentation.rules import evaluate
from tests.segmentation.test_pipeline_explain import tied_table


def gappy_table(seed: int = 0):
    """The tied table with a tenth of the days and of the channels unknown."""
    frame, catalog = tied_table(seed=seed)
    rng = np.random.default_rng(seed + 1)
    frame.loc[rng.random(len(frame)) < 0.1, "days"] = np.nan
    frame.loc[rng.random(len(frame)) < 0.1, "channel"] = np.nan
    return frame, catalog


def test_imputed_values_are_the_imputers_own_for_features_with_gaps():
    frame, catalog = gappy_table()
    frame["orders"] = frame["orders"].fillna(0)
    prepared = prepare(frame, catalog)
    imputed = prepared.imputed_values()
    assert set(imputed) == {"days", "channel"}  # orders and spend are complete
    assert imputed["days"] == frame["days"].median()
    assert imputed["channel"] == frame["channel"].mode()[0]


@pytest.mark.parametrize("k", [3, 5])
def test_rules_reproduce_the_tree_on_every_row_missing_values_included(k):
    frame, catalog = gappy_table()
    prepared = prepare(frame, catalog)
    km = KMeans(k, n_init=2, random_state=0).fit(prepared.X)
    fit = fit_threshold_tree(
        prepared.X, prepared.Z, km.labels_, km.cluster_centers_, max_leaves=2 * k, random_state=0
    )
    tree = round_thresholds(fit.tree, prepared.Z, prepared.columns, catalog)
    imputed = prepared.imputed_values()
    rules = tree_rules(tree, prepared.columns, k, unknown=imputed)
    by_rules = assign_segments(rules, prepared.clean)
    assert (by_rules == tree.predict(prepared.Z)).all()  # no row in no segment
    selected = np.array([evaluate(r, prepared.clean) for r in rules])
    assert (selected.sum(0) == 1).all()  # and none in two
    # "or unknown" exactly where the imputed value passes, on the unsimplified paths
    flagged = 0
    for rule in tree_rules(tree, prepared.columns, k, simplified=False, unknown=imputed):
        for clause in rule.clauses:
            for c in clause.conditions:
                if c.feature not in imputed:
                    assert not c.or_unknown, c
                    continue
                row = {c.feature: imputed[c.feature]}
                passes = evaluate(type(rule)((type(clause)((c,)),)), _frame(row))[0]
                assert c.or_unknown == passes, c
                flagged += c.or_unknown
    assert flagged


def _frame(row):
    import pandas as pd

    return pd.DataFrame({k: [v] for k, v in row.items()})


def missing_third(seed: int, feature: str):
    frame = make_retail_customers(3000, random_state=seed)
    rng = np.random.default_rng(seed)
    frame.loc[rng.random(len(frame)) < 1 / 3, feature] = np.nan
    return frame[["recency_days", "frequency", "total_spend", "avg_order_value", feature]]


@pytest.fixture(scope="module", params=["mean_days_between_orders", "age_years"])
def gappy_run(request):
    frame = missing_third(1, request.param)
    catalog = retail_catalog()
    result = run_pipeline(frame, catalog, PipelineConfig(n_clusters=5, random_state=0))
    return request.param, frame, catalog, result


def test_a_feature_unknown_for_a_third_leaves_nobody_out(gappy_run):
    feature, frame, catalog, result = gappy_run
    assert frame[feature].isna().mean() > 0.3
    assert result.metrics["unassigned"] == 0
    clean = clean_frame(frame[list(result.model.features)], catalog)
    selected = np.array([evaluate(s.rule, clean) for s in result.segments])
    assert (selected.sum(0) == 1).all()  # every customer in exactly one segment
    assert (selected.argmax(0) == result.labels).all()  # the one the run stored
    unknown = frame[feature].isna().to_numpy()
    assert set(result.labels[unknown]) - {-1} and (result.labels[unknown] >= 0).all()
    flags = [c for s in result.segments for cl in s.rule.clauses for c in cl.conditions
             if c.feature == feature and c.or_unknown]
    assert flags, "the feature should be used, with 'or unknown' on one side"


def test_shortened_rules_are_judged_with_the_unknown_values(gappy_run):
    _, frame, catalog, result = gappy_run
    clean = clean_frame(frame[list(result.model.features)], catalog)
    rules = [s.rule for s in result.segments]
    assert removable_conditions(rules, clean) == []
    assert mergeable_clauses(rules, clean) == []


def test_names_claim_nothing_of_an_unknown_value(gappy_run):
    _, _, catalog, result = gappy_run
    for segment in result.segments:
        shop = {f: stats["overall_median"] for f, stats in segment.profile.items()}
        assert name_contradictions(segment.name_en, segment.name_zh, segment.rule, shop,
                                   catalog) == [], segment.name_en


def test_a_buyer_rule_that_lets_unknown_recency_in_is_closed_to_non_buyers():
    from segmentation.pipeline.nonbuyers import BOUGHT, exclude_nonbuyers
    from segmentation.rules import Clause, Condition, Rule

    nonbuyer = {"frequency": 0.0, "recency_days": None}
    flagged = Rule((Clause((Condition("recency_days", "<=", 90, or_unknown=True),)),))
    plain = Rule((Clause((Condition("recency_days", "<=", 90),)),))
    # a non-buyer has no recency: the flag would let them in, so "orders at least 1" is added
    assert exclude_nonbuyers(flagged, nonbuyer).clauses[0].conditions[0] == BOUGHT
    assert exclude_nonbuyers(plain, nonbuyer) == plain
