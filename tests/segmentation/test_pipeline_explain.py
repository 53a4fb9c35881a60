"""The threshold tree: rules reproduce it exactly, and it meets the quality targets."""

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans

from segmentation.pipeline import PipelineConfig, assign_segments, run_pipeline
from segmentation.pipeline.metrics import fidelity, kmeans_cost, price_of_explainability
from segmentation.pipeline.preprocess import prepare
from segmentation.pipeline.rulebuild import nicest_between, round_thresholds, tree_rules
from segmentation.pipeline.synthetic import make_lognormal_groups
from segmentation.pipeline.treefit import MISMATCH_PENALTY, fit_threshold_tree, row_losses
from segmentation.rules import FeatureInfo, make_catalog


def tied_table(n=3000, seed=0):
    """Integer counts (many ties), money, a categorical and some missing values."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 4, n)
    frame = pd.DataFrame(
        {
            "orders": rng.poisson([1, 4, 9, 2][0] + 3 * g).astype(float),
            "spend": np.round(rng.lognormal(5 + 0.6 * g, 0.4), 2),
            "days": rng.integers(0, 40, n).astype(float) + 30 * (g == 2),
            "channel": np.where(g == 3, "app", np.where(rng.random(n) < 0.5, "web", "store")),
        }
    )
    frame.loc[rng.random(n) < 0.03, "days"] = np.nan
    catalog = make_catalog(
        [
            FeatureInfo("orders", "orders", "订单数", "orders", skewed=True),
            FeatureInfo("spend", "spend", "消费", "yuan", skewed=True),
            FeatureInfo("days", "days", "天数", "days"),
            FeatureInfo("channel", "channel", "渠道", kind="categorical"),
        ]
    )
    return frame, catalog


@pytest.mark.parametrize("k", [3, 5])
def test_rules_reproduce_the_tree_exactly(k):
    frame, catalog = tied_table()
    prepared = prepare(frame, catalog)
    km = KMeans(k, n_init=2, random_state=0).fit(prepared.X)
    fit = fit_threshold_tree(
        prepared.X, prepared.Z, km.labels_, km.cluster_centers_, max_leaves=2 * k, random_state=0
    )
    tree = round_thresholds(fit.tree, prepared.Z, prepared.columns, catalog)
    rules = tree_rules(tree, prepared.columns, k)
    by_rules = assign_segments(rules, frame)
    by_tree = tree.predict(prepared.Z)
    complete = frame.notna().all(axis=1).to_numpy()
    assert (by_rules[complete] == by_tree[complete]).all()
    # rows with a missing value either match the tree or no rule at all (SQL NULL semantics)
    assert (np.isin(by_rules[~complete], [-1]) | (by_rules[~complete] == by_tree[~complete])).all()
    # ties: a row exactly at a threshold goes left (<=), as in scikit-learn
    thresholds = [t for t in tree.threshold if np.isfinite(t)]
    assert any(np.isin(prepared.Z, thresholds).any(0))
    assert sorted(np.unique(by_tree)) == list(range(k))
    assert tree.n_leaves <= 2 * k


def test_categorical_splits_become_equality_conditions():
    frame, catalog = tied_table()
    prepared = prepare(frame, catalog)
    labels = (frame["channel"] == "app").to_numpy().astype(int)
    centres = np.array([prepared.X[labels == a].mean(0) for a in (0, 1)])
    fit = fit_threshold_tree(prepared.X, prepared.Z, labels, centres, max_leaves=2)
    rules = tree_rules(fit.tree, prepared.columns, 2)
    ops = {(c.feature, c.op, c.value) for r in rules for cl in r.clauses for c in cl.conditions}
    assert ops == {("channel", "==", "app"), ("channel", "!=", "app")}


@pytest.mark.parametrize(
    ("low", "high", "step", "expected"),
    [(1187.3, 1203.9, 1, 1200), (3, 4, 1, 3), (-5.5, 3, 1, 0), (0.3551, 0.3552, 0.01, 0.3551)],
)
def test_nicest_between(low, high, step, expected):
    assert nicest_between(low, high, step) == expected


@pytest.fixture(scope="module", params=[4, 5, 6])
def separated_run(request):
    k = request.param
    frame, groups, catalog = make_lognormal_groups(4000, k, random_state=20 + k, separation=4.0)
    result = run_pipeline(
        frame, catalog, PipelineConfig(n_clusters=k, sample_size=1000, random_state=0)
    )
    return k, frame, groups, result


def test_quality_targets_on_separated_lognormal_groups(separated_run):
    k, frame, _, result = separated_run
    m = result.metrics
    assert result.k == k == len(result.segments)
    assert m["fidelity"] >= 0.92
    assert m["price_of_explainability"] <= 1.05
    assert m["n_leaves"] <= 2 * k
    assert min(s.share for s in result.segments) >= 0.02
    assert all(s.size > 0 for s in result.segments)


def test_metrics_match_their_definitions(separated_run):
    k, frame, _, result = separated_run
    X = result.model.transform(frame)
    labels, clusters = result.labels, result.cluster_labels
    assert result.metrics["fidelity"] == pytest.approx(fidelity(labels, clusters))
    assert result.metrics["price_of_explainability"] == pytest.approx(
        kmeans_cost(X, labels) / kmeans_cost(X, clusters)
    )
    assert price_of_explainability(X, clusters, clusters) == pytest.approx(1.0)
    # the reference is an unconstrained k-means: the nearest-centre view of the data
    assert (result.model.predict_clusters(frame) == clusters).mean() > 0.99
    assert (result.model.predict(frame) == labels).all()


def test_fidelity_uses_hungarian_matching():
    a = np.array([0, 0, 1, 1, 2, 2, -1])
    b = np.array([2, 2, 0, 0, 1, 0, 1])
    assert fidelity(a, b) == pytest.approx(5 / 7)


def test_row_losses_add_the_mismatch_penalty_to_other_clusters_only():
    X = np.array([[0.0], [1.0], [4.0], [5.0]])
    centres = np.array([[0.5], [4.5]])
    labels = np.array([0, 0, 1, 1])
    plain = row_losses(X, labels, centres, 0.0)
    penalised = row_losses(X, labels, centres, 4.0)
    rows = np.arange(4)
    assert np.array_equal(penalised[rows, labels], plain[rows, labels])
    # margins (other centre's squared distance minus own): 20, 12, 12, 20; median 16
    margin = 16.0
    assert np.allclose(penalised[rows, 1 - labels], plain[rows, 1 - labels] + 4.0 * margin)


def test_the_mismatch_penalty_keeps_more_rows_in_their_own_cluster():
    """Fidelity first: a pure distance cost trades many rows near a boundary for a few far ones."""
    frame, _, catalog = make_lognormal_groups(3000, 5, random_state=5, separation=1.0)
    prepared = prepare(frame, catalog)
    km = KMeans(5, n_init=4, random_state=0).fit(prepared.X)

    def fidelity_with(penalty):
        fit = fit_threshold_tree(prepared.X, prepared.Z, km.labels_, km.cluster_centers_,
                                 max_leaves=5, mismatch_penalty=penalty)
        return fidelity(fit.tree.predict(prepared.Z), km.labels_)

    assert fidelity_with(MISMATCH_PENALTY) >= fidelity_with(0.0) + 0.01


def test_a_shape_searched_on_a_sample_is_polished_on_every_row():
    """search_rows: the search runs on a sample; thresholds and labels then fit all rows."""
    frame, _, catalog = make_lognormal_groups(12_000, 5, random_state=3, separation=1.0)
    prepared = prepare(frame, catalog)
    X, Z = prepared.X, prepared.Z
    km = KMeans(5, n_init=4, random_state=0).fit(X)
    labels, centres = km.labels_, km.cluster_centers_
    losses = row_losses(X, labels, centres, MISMATCH_PENALTY)

    def cost(tree):
        return losses[np.arange(len(X)), tree.predict(Z)].sum()

    args = dict(max_leaves=10, min_leaf=12, min_size=240, random_state=0)
    fast = fit_threshold_tree(X, Z, labels, centres, search_rows=3000, **args)
    sample = np.sort(np.random.default_rng(0).choice(len(X), 3000, replace=False))
    searched = fit_threshold_tree(X[sample], Z[sample], labels[sample], centres,
                                  max_leaves=10, min_leaf=3, min_size=60, random_state=0)
    full = fit_threshold_tree(X, Z, labels, centres, **args)
    assert fast.tree.n_leaves == searched.tree.n_leaves <= 10
    assert fast.cost == pytest.approx(cost(fast.tree))  # measured on every row
    assert cost(fast.tree) < cost(searched.tree)  # the polish moved thresholds to fit all rows
    # A sample may lead the local search to another shape: a little worse here (5 cases on
    # 20,000 rows, 5,000 searched: +1.7% cost and -0.4% fidelity on average, -1.6% at worst).
    assert cost(fast.tree) <= 1.03 * cost(full.tree)
    assert fidelity(fast.tree.predict(Z), labels) >= fidelity(full.tree.predict(Z), labels) - 0.01


def test_the_budget_excess_remembered_per_rule_equals_the_excess_of_the_whole_rules():
    from segmentation.pipeline.explain import budget_excess, rules_excess

    frame, catalog = tied_table()
    prepared = prepare(frame, catalog)
    km = KMeans(4, n_init=2, random_state=0).fit(prepared.X)
    fit = fit_threshold_tree(prepared.X, prepared.Z, km.labels_, km.cluster_centers_,
                             max_leaves=12, random_state=0)
    excess = budget_excess(prepared.columns, 4, 2, 1)
    trees = [fit.tree]
    for node in fit.tree.internal()[:4]:  # neighbours sharing most of their rules
        trees += [fit.tree.hoist(node, True), fit.tree.hoist(node, False)]
    seen = [excess(t) for t in trees] + [excess(t) for t in reversed(trees)]
    truth = [rules_excess(tree_rules(t, prepared.columns, 4), 2, 1) for t in trees]
    assert seen == truth + truth[::-1]
    assert max(truth) > 0 and len(set(truth)) > 1
