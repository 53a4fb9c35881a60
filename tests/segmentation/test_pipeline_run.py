"""run_pipeline end to end: algorithms, errors, k choice, names, JSON, pickling."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from segmentation.pipeline import PipelineConfig, PipelineError, run_pipeline
from segmentation.pipeline.synthetic import (
    make_lognormal_groups,
    make_retail_customers,
    retail_catalog,
)
from segmentation.rules import FeatureInfo, evaluate, make_catalog

FAST = {"sample_size": 800, "random_state": 0}


@pytest.fixture(scope="module")
def retail():
    return make_retail_customers(3000, random_state=3, missing=0.02), retail_catalog()


@pytest.fixture(scope="module")
def retail_run(retail):
    frame, catalog = retail
    calls = []
    result = run_pipeline(
        frame,
        catalog,
        PipelineConfig(k_min=3, k_max=5, **FAST),
        progress=lambda stage, fraction: calls.append((stage, fraction)),
    )
    return result, calls


def test_result_shape_and_progress(retail, retail_run):
    frame, _ = retail
    result, calls = retail_run
    stages = ["preprocess", "cluster", "explain", "profile", "compare", "diagnostics"]
    assert [s for s, _ in calls[::2]] == stages
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert set(result.timings) == set(stages)
    assert result.diagnostics is None and result.metrics["cv_accuracy"]["tree"] is not None
    assert result.labels.shape == result.cluster_labels.shape == (len(frame),)
    assert result.k == len(result.segments) == len(set(result.labels[result.labels >= 0]))
    for seg in result.segments:  # rule membership is the truth
        assert (
            seg.size
            == int(evaluate(seg.rule, frame).sum())
            == int((result.labels == seg.index).sum())
        )
        assert seg.share >= 0.02
        assert set(seg.profile["total_spend"]) == {
            "mean",
            "median",
            "overall_mean",
            "overall_median",
        }
    sizes = [s.size for s in result.segments]
    assert sizes == sorted(sizes, reverse=True)


def test_metrics_are_json(retail_run):
    result, _ = retail_run
    m = json.loads(json.dumps(result.metrics, allow_nan=False))
    for key in (
        "fidelity",
        "price_of_explainability",
        "silhouette_clusters",
        "silhouette_rules",
        "davies_bouldin",
        "calinski_harabasz",
        "k_scores",
        "cv_accuracy",
        "n_leaves",
        "sizes",
        "notes",
    ):
        assert key in m
    assert [s["k"] for s in m["k_scores"]] == [3, 4, 5]
    assert set(m["cv_accuracy"]) == {"tree", "logistic_regression", "random_forest"}
    assert all(0.5 < v <= 1 for v in m["cv_accuracy"].values())
    assert m["fidelity"] >= 0.9 and m["price_of_explainability"] <= 1.1
    assert m["n_leaves"] <= 2 * result.k
    assert any("missing" in note for note in m["notes"])


def test_names_unique_and_bilingual(retail_run):
    result, _ = retail_run
    assert len({s.name_en for s in result.segments}) == result.k
    assert len({s.name_zh for s in result.segments}) == result.k
    for s in result.segments:
        assert s.description_en.endswith(".") and s.description_zh.endswith("。")
        assert "median" in s.description_en or "mean" in s.description_en


def test_model_pickles_and_predicts(retail, retail_run):
    frame, _ = retail
    result, _ = retail_run
    model = pickle.loads(pickle.dumps(result.model))
    assert (model.predict(frame) == result.labels).all()
    assert model.transform(frame.head(5)).shape[0] == 5


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch_kmeans", "agglomerative"])
def test_each_algorithm(algorithm):
    frame, groups, catalog = make_lognormal_groups(1500, 4, random_state=7, separation=4.0)
    config = PipelineConfig(algorithm=algorithm, n_clusters=4, **FAST)
    result = run_pipeline(frame, catalog, config)
    assert result.metrics["algorithm"] == algorithm
    assert result.k == 4
    assert result.metrics["fidelity"] >= 0.9


def test_kmeans_stays_kmeans_on_large_tables():
    # Above large_table_rows k-means seeds on a sample; it never turns mini-batch.
    frame, _, catalog = make_lognormal_groups(1200, 3, random_state=1, separation=4.0)
    config = PipelineConfig(n_clusters=3, large_table_rows=1000, **FAST)
    assert run_pipeline(frame, catalog, config).metrics["algorithm"] == "kmeans"


def test_chooses_k_on_clear_data():
    frame, groups, catalog = make_lognormal_groups(2000, 5, random_state=11, separation=6.0)
    result = run_pipeline(frame, catalog, PipelineConfig(k_min=3, k_max=8, **FAST))
    assert result.k == 5
    assert result.metrics["fidelity"] >= 0.95


def test_constant_feature_dropped_with_note():
    frame, _, catalog = make_lognormal_groups(600, 3, random_state=2, separation=5.0, n_features=3)
    frame["flat"] = 7.0
    catalog = {**catalog, "flat": FeatureInfo("flat", "flat", "常数")}
    result = run_pipeline(frame, catalog, PipelineConfig(n_clusters=3, **FAST))
    assert any("'flat' is constant" in note for note in result.metrics["notes"])
    assert "flat" not in result.model.features


def test_tiny_cluster_is_merged_with_a_note():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": np.r_[rng.normal(0, 1, 500), rng.normal(20, 1, 490), rng.normal(-40, 1, 6)]}
    )
    catalog = make_catalog([FeatureInfo("x", "x", "x")])
    result = run_pipeline(frame, catalog, PipelineConfig(n_clusters=3, **FAST))
    assert result.k == 2
    assert any("merged" in note for note in result.metrics["notes"])


def test_categorical_feature(retail):
    frame, catalog = retail
    frame = frame.head(1500).copy()
    frame["channel"] = np.where(frame["sessions_30d"] > 10, "app", "web")
    catalog = {**catalog, "channel": FeatureInfo("channel", "channel", "渠道", kind="categorical")}
    result = run_pipeline(frame, catalog, PipelineConfig(n_clusters=3, **FAST))
    assert (result.model.predict(frame) == result.labels).all()


def small_catalog():
    return make_catalog([FeatureInfo("x", "x", "x"), FeatureInfo("y", "y", "y")])


@pytest.mark.parametrize(
    ("frame", "config", "message"),
    [
        (pd.DataFrame({"x": [], "y": []}, dtype=float), PipelineConfig(), "no rows"),
        (
            pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 1.0]}),
            PipelineConfig(n_clusters=3),
            "has 2 rows but k=3",
        ),
        (pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 1.0]}), PipelineConfig(), "fewer than k_min=3"),
        (
            pd.DataFrame({"x": [1.0, 2.0, 1.0, 2.0], "y": [0.0, 1.0, 0.0, 1.0]}),
            PipelineConfig(n_clusters=3),
            "larger than the number of distinct customers (2)",
        ),
        (
            pd.DataFrame({"x": [1.0, 1.0, 1.0], "y": [2.0, 2.0, np.nan]}),
            PipelineConfig(),
            "all features are constant",
        ),
        (pd.DataFrame({"x": [1.0, 2.0], "z": [1.0, 2.0]}), PipelineConfig(), "unknown column 'z'"),
        (
            pd.DataFrame({"x": [1.0, "a"], "y": [1.0, 2.0]}),
            PipelineConfig(),
            "should be numeric but contains 'a'",
        ),
        (pd.DataFrame({"x": [1.0, np.inf], "y": [1.0, 2.0]}), PipelineConfig(), "infinite values"),
        (
            pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0]}),
            PipelineConfig(algorithm="dbscan"),
            "unknown algorithm",
        ),
        (
            pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0]}),
            PipelineConfig(k_min=5, k_max=3),
            "k_min <= k_max",
        ),
    ],
)
def test_bad_input_raises_pipeline_error(frame, config, message):
    with pytest.raises(PipelineError) as info:
        run_pipeline(frame, small_catalog(), config)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_no_django_import():
    code = (
        "import sys; import segmentation.rules, segmentation.pipeline; "
        "sys.exit('django' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


DIAGNOSTICS = ("cv_accuracy", "silhouette_clusters", "silhouette_rules", "davies_bouldin",
               "calinski_harabasz", "davies_bouldin_rules", "calinski_harabasz_rules", "map")


def test_deferred_diagnostics_come_after_and_match(retail, retail_run):
    # A deferred run has its segments, fidelity and price at once; the diagnostics
    # computed afterwards are the ones an inline run computes.
    frame, catalog = retail
    inline, _ = retail_run
    calls = []
    deferred = run_pipeline(
        frame, catalog, PipelineConfig(k_min=3, k_max=5, **FAST),
        progress=lambda stage, fraction: calls.append(stage), defer_diagnostics=True)
    assert "compare" not in calls and "diagnostics" not in calls
    assert not set(DIAGNOSTICS) & set(deferred.metrics)
    assert deferred.metrics["fidelity"] == inline.metrics["fidelity"]
    assert (deferred.labels == inline.labels).all()
    extra, timings = deferred.diagnostics()
    assert set(timings) == {"compare", "diagnostics"}
    for name in DIAGNOSTICS:
        assert extra[name] == inline.metrics[name], name
