"""The pipeline as an estimator: one object segments, assigns a new customer and is scored."""

import numpy as np
import pytest
from sklearn.base import clone

from segmentation.pipeline import PipelineConfig, RuleSegmenter, evaluate, run_pipeline
from segmentation.pipeline.synthetic import make_lognormal_groups


@pytest.fixture(scope="module")
def fitted():
    frame, _, catalog = make_lognormal_groups(2000, 4, random_state=2, separation=3.5)
    return frame, catalog, RuleSegmenter(catalog, n_clusters=4, random_state=0).fit(frame)


def test_parameters_in_one_place(fitted):
    _, catalog, segmenter = fitted
    params = segmenter.get_params()
    assert params["n_clusters"] == 4 and params["max_conditions"] == 3
    copy = clone(segmenter).set_params(n_clusters=5)
    assert copy.n_clusters == 5 and not hasattr(copy, "segments_")
    config = PipelineConfig(n_clusters=6, max_clauses=1)
    assert RuleSegmenter.from_config(catalog, config).config() == config


def test_fit_segments_like_run_pipeline(fitted):
    frame, catalog, segmenter = fitted
    direct = run_pipeline(frame, catalog, segmenter.config())
    assert segmenter.n_segments_ == direct.k == len(segmenter.rules_)
    assert [s.rule for s in direct.segments] == list(segmenter.rules_)
    assert (segmenter.labels_ == direct.labels).all()


def test_predict_assigns_new_customers_by_the_rules(fitted):
    frame, catalog, segmenter = fitted
    new, _, _ = make_lognormal_groups(300, 4, random_state=2, separation=3.5)
    labels = segmenter.predict(new)
    assert labels.shape == (300,)
    from segmentation.rules import evaluate as evaluate_rule

    for a, rule in enumerate(segmenter.rules_):
        assert (evaluate_rule(rule, new)[labels == a]).all()
    assert (segmenter.predict(frame) == segmenter.labels_).all()


def test_scored_by_a_separate_function(fitted):
    frame, _, segmenter = fitted
    scores = evaluate(segmenter, frame)
    assert scores["fidelity"] == pytest.approx(segmenter.result_.metrics["fidelity"])
    assert scores["price_of_explainability"] == pytest.approx(
        segmenter.result_.metrics["price_of_explainability"]
    )
    assert sum(scores["sizes"]) + scores["unassigned"] == len(frame)
    assert np.isfinite(scores["silhouette_rules"])


def test_fit_without_a_catalog_is_refused():
    frame, _, _ = make_lognormal_groups(200, 3, random_state=1)
    with pytest.raises(ValueError, match="catalog"):
        RuleSegmenter().fit(frame)
