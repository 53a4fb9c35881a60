"""``run_pipeline``: preprocess, cluster, explain, compare, profile.

The entry point the Celery task calls. Pure Python over numpy, pandas and
scikit-learn; no Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
from threadpoolctl import ThreadpoolController

from ..rules.catalog import FeatureInfo
from .cluster import choose_k, merge_small_clusters, score_labels, strategy_for
from .compare import compare_models
from .config import PipelineConfig, PipelineError
from .evaluation import separation_scores
from .explain import explain_clusters, rule_complexity
from .metrics import fidelity, json_safe, pair_counts, price_of_explainability
from .naming import name_segments
from .preprocess import prepare
from .profile import segment_profiles, segment_zscores
from .result import PipelineResult, SegmentModel, SegmentResult

__all__ = ["STAGES", "run_pipeline"]

#: Stages reported to ``progress`` and in ``timings``, with their share of the work.
STAGES = {"preprocess": 0.1, "cluster": 0.35, "explain": 0.3, "profile": 0.1, "compare": 0.1,
          "diagnostics": 0.05}


class _Stages:
    def __init__(self, progress: Callable[[str, float], None] | None) -> None:
        self.progress = progress
        self.done = 0.0
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        if self.progress is not None:
            self.progress(stage, round(self.done, 4))
        start = time.perf_counter()
        yield
        self.timings[stage] = time.perf_counter() - start
        self.done = min(1.0, self.done + STAGES[stage])
        if self.progress is not None:
            self.progress(stage, round(self.done, 4))


@cache
def _threadpools() -> ThreadpoolController:
    """The process's BLAS/OpenMP pools, found once (finding them costs ~0.1 s a run)."""
    return ThreadpoolController()


def _distinct_rows(X: np.ndarray, need: int) -> int:
    """Count distinct rows, stopping early once ``need`` are found in a prefix."""
    for prefix in (1_000, 50_000):
        head = len(np.unique(X[:prefix], axis=0))
        if head >= need or len(X) <= prefix:
            return head
    return len(np.unique(X, axis=0))


def _candidate_ks(config: PipelineConfig, X: np.ndarray) -> list[int]:
    n = len(X)
    if config.n_clusters is not None:
        k = config.n_clusters
        if n < k:
            raise PipelineError(
                f"the table has {n} rows but k={k} segments were asked for: "
                "need at least as many customers as segments"
            )
        distinct = _distinct_rows(X, k)
        if distinct < k:
            raise PipelineError(
                f"k={k} is larger than the number of distinct customers ({distinct}): "
                "only that many different feature rows exist"
            )
        return [k]
    if n < config.k_min:
        raise PipelineError(
            f"the table has {n} rows, fewer than k_min={config.k_min} segments: "
            "need at least as many customers as segments"
        )
    distinct = _distinct_rows(X, config.k_max + 1)
    ks = [k for k in range(config.k_min, config.k_max + 1) if k <= distinct and k < n]
    if not ks:
        raise PipelineError(
            f"k_min={config.k_min} is larger than the number of distinct customers "
            f"({distinct}) usable to choose k"
        )
    return ks


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size, replace=False)) if n > size else np.arange(n)


def run_pipeline(
    frame: pd.DataFrame,
    catalog: Mapping[str, FeatureInfo],
    config: PipelineConfig,
    progress: Callable[[str, float], None] | None = None,
    *,
    shop_medians: Mapping[str, float] | None = None,
    defer_diagnostics: bool = False,
) -> PipelineResult:
    """Segment customers and state every segment as a rule.

    Parameters
    ----------
    frame : pandas.DataFrame
        Index: customer ids. One column per feature of ``catalog`` (a subset of
        the catalog is fine); numeric columns float, categoricals text; NaN for
        missing values.
    catalog : mapping of str to FeatureInfo
    config : PipelineConfig
    progress : callable, optional
        ``progress(stage, fraction)`` at the start and end of each stage
        (``"preprocess"``, ``"cluster"``, ``"explain"``, ``"profile"``, then
        ``"compare"`` and ``"diagnostics"``); ``fraction`` is the overall share
        done, 0 to 1.
    shop_medians : mapping of str to float, optional
        The medians that names and profiles compare segments with (default:
        ``frame``'s own). A caller segmenting part of the shop (its buyers)
        passes the whole shop's, so that "low spenders" holds against it.
    defer_diagnostics : bool
        Leave out what only describes the result (cross-validated comparison
        models, silhouettes, Davies-Bouldin and Calinski-Harabasz scores, the
        map): ``result.diagnostics()`` computes them later and returns
        ``(metrics, timings)`` to merge. Segments, rules, names, fidelity and
        the price of explainability never wait for them.

    Returns
    -------
    PipelineResult

    Raises
    ------
    PipelineError
        No rows, fewer rows than k, k larger than the number of distinct rows,
        all features constant, an unknown column, bad values or parameters.
    """
    config.validate()
    with _threadpools().limit(limits=config.threads):
        return _run(frame, catalog, config, progress, defer_diagnostics, shop_medians)


def _run(
    frame: pd.DataFrame,
    catalog: Mapping[str, FeatureInfo],
    config: PipelineConfig,
    progress: Callable[[str, float], None] | None,
    defer_diagnostics: bool,
    shop_medians: Mapping[str, float] | None,
) -> PipelineResult:
    stages = _Stages(progress)
    rs = config.random_state
    rng = np.random.default_rng(rs)
    with stages("preprocess"):
        prepared = prepare(frame, catalog)
        X, Z = prepared.X, prepared.Z
        notes = list(prepared.notes)
        ks = _candidate_ks(config, X)
        sample = _sample(len(X), config.sample_size, rng)
    with stages("cluster"):
        strategy = strategy_for(config.algorithm, len(X), config.large_table_rows, rs)
        if len(ks) > 1:
            k, k_scores = choose_k(strategy, X[sample], ks, rs)
        else:
            k, k_scores = ks[0], []
        cluster_labels, centres = strategy.fit(X, k, sample)
        cluster_labels, centres, merged = merge_small_clusters(
            X, cluster_labels, centres, config.min_segment_share
        )
        if merged:
            notes.append(
                f"{merged} cluster(s) under {config.min_segment_share:.0%} of customers merged "
                f"into their nearest neighbour: k is {len(centres)} instead of {k}"
            )
    with stages("explain"):
        clean = prepared.clean
        explained = explain_clusters(prepared, clean, cluster_labels, centres, catalog, config, rng)
        notes += explained.notes
        cluster_labels, centres = explained.cluster_labels, explained.centres
        rules, labels = explained.rules, explained.labels
        k = len(rules)
    with stages("profile"):
        numeric = list(prepared.numeric)
        profiles = segment_profiles(clean[numeric], labels, k)
        for profile in profiles if shop_medians else ():
            for feature, stats in profile.items():
                if shop_medians.get(feature) is not None:
                    stats["overall_median"] = float(shop_medians[feature])
        zscores = segment_zscores(X[:, : len(numeric)], numeric, labels, k)
        names = name_segments(zscores, profiles, catalog, rules=rules)
        sizes = np.bincount(labels[labels >= 0], minlength=k)
        segments = tuple(
            SegmentResult(
                index=a,
                rule=rules[a],
                size=int(sizes[a]),
                share=float(sizes[a] / len(labels)),
                name_en=names[a].name_en,
                name_zh=names[a].name_zh,
                description_en=names[a].description_en,
                description_zh=names[a].description_zh,
                profile=profiles[a],
            )
            for a in range(k)
        )
        metrics = {
            "algorithm": strategy.name,
            "k": k,
            "fidelity": fidelity(labels, cluster_labels),
            "fidelity_before_rounding": explained.fidelity_before_rounding,
            "rounding_changed_share": explained.rounding_changed_share,
            "price_of_explainability": price_of_explainability(X, labels, cluster_labels),
            "complexity": rule_complexity(rules),
            "complexity_budget": {
                "max_conditions": config.max_conditions,
                "max_clauses": config.max_clauses,
                **(explained.budget or {}),
            },
            "readable": explained.readable.__dict__ if explained.readable else None,
            "k_scores": [s.as_dict() for s in k_scores],
            "n_leaves": explained.n_leaves,
            "max_leaves": explained.max_leaves,
            "explain_rows": explained.rows,
            "sizes": sizes.tolist(),
            "cluster_sizes": np.bincount(cluster_labels, minlength=k).tolist(),
            "unassigned": int((labels < 0).sum()),
            "confusion": confusion(labels, cluster_labels, k),
            "notes": notes,
        }
    model = SegmentModel(
        rules=tuple(rules),
        features=tuple(prepared.numeric + prepared.categorical),
        preprocessor=prepared.transformer,
        centres=centres,
        categorical=prepared.categorical,
    )
    diagnostics = Diagnostics(
        X=X, Z=Z, labels=labels, cluster_labels=cluster_labels, sample=sample, k=k,
        k_given=not k_scores, max_leaves=explained.max_leaves, random_state=rs,
        threads=config.threads,
        # Deferred, they run after the run is saved: no progress reports then.
        stages=_Stages(None) if defer_diagnostics else stages,
    )
    timings = dict(stages.timings)
    if not defer_diagnostics:
        extra, extra_timings = diagnostics()
        metrics.update(extra)
        timings.update(extra_timings)
    return PipelineResult(
        k=k,
        segments=segments,
        labels=labels,
        cluster_labels=cluster_labels,
        metrics=json_safe(metrics),
        timings=timings,
        model=model,
        diagnostics=diagnostics if defer_diagnostics else None,
    )


@dataclass(eq=False)
class Diagnostics:
    """What describes a finished segmentation without changing it, computed on call.

    Cross-validated comparison models, silhouettes (sampled), Davies-Bouldin and
    Calinski-Harabasz scores and the 2-D map: a notebook would not pay for them
    before the segments exist, so a run saves its segments first and calls this
    afterwards. Returns ``(metrics, timings)``.
    """

    X: np.ndarray
    Z: np.ndarray
    labels: np.ndarray
    cluster_labels: np.ndarray
    sample: np.ndarray
    k: int
    k_given: bool
    max_leaves: int
    random_state: int
    threads: int | None
    stages: _Stages

    def __call__(self) -> tuple[dict, dict[str, float]]:
        with _threadpools().limit(limits=self.threads):
            return self._compute()

    def _compute(self) -> tuple[dict, dict[str, float]]:
        X, labels, clusters, sample, rs = (self.X, self.labels, self.cluster_labels,
                                           self.sample, self.random_state)
        with self.stages("compare"):
            cv = compare_models(X, self.Z, clusters, max_leaves=self.max_leaves,
                                random_state=rs)
        with self.stages("diagnostics"):
            metrics = {
                "cv_accuracy": cv,
                **separation_scores(X, labels, clusters, sample, rs),
                **_full_scores(X, clusters),
                "map": customer_map(X, labels, map_sample(labels, MAP_POINTS,
                                                          np.random.default_rng(rs)), rs),
            }
            if self.k_given:  # k was given: score the one clustering as choosing k would
                metrics["k_scores"] = [score_labels(X[sample], clusters[sample], self.k,
                                                    rs).as_dict()]
        timings = {stage: self.stages.timings[stage] for stage in ("compare", "diagnostics")}
        return json_safe(metrics), timings


MAP_POINTS = 1_500


def map_sample(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices for the map, stratified by label: each group gets its share of ``size``.

    Largest remainders round the shares, and every non-empty group gets at least one
    point, so small segments still appear; rows are drawn at random within a group
    (a sorted sample's first rows would over-represent whatever sorts first).
    """
    n = len(labels)
    if n <= size:
        return np.arange(n)
    groups, counts = np.unique(labels, return_counts=True)
    exact = counts * size / n
    quota = np.maximum(np.floor(exact).astype(np.int64), 1)
    spare = size - int(quota.sum())
    if spare > 0:
        quota[np.argsort(-(exact - np.floor(exact)), kind="stable")[:spare]] += 1
    quota = np.minimum(quota, counts)
    chosen = [rng.choice(np.flatnonzero(labels == group), int(q), replace=False)
              for group, q in zip(groups, quota, strict=True)]
    return np.sort(np.concatenate(chosen))


def confusion(rule_labels: np.ndarray, cluster_labels: np.ndarray, k: int) -> list[list[int]]:
    """``[i][j]``: customers the rules put in segment i and the clustering in cluster j."""
    keep = rule_labels >= 0
    return pair_counts(rule_labels[keep], cluster_labels[keep], k).tolist()


def customer_map(X: np.ndarray, labels: np.ndarray, sample: np.ndarray,
                 random_state: int) -> dict[str, list]:
    """A 2-D picture of the scaled customers (PCA of a sample), coloured by segment."""
    if X.shape[1] < 2 or len(sample) < 3:
        return {"x": [], "y": [], "segment": [], "explained": []}
    pca = PCA(n_components=2, random_state=random_state).fit(X[sample])
    points = pca.transform(X[sample])
    return {
        "x": np.round(points[:, 0], 3).tolist(),
        "y": np.round(points[:, 1], 3).tolist(),
        "segment": labels[sample].tolist(),
        "explained": np.round(pca.explained_variance_ratio_, 3).tolist(),
    }


def _full_scores(X: np.ndarray, labels: np.ndarray) -> dict[str, float | None]:
    """Davies-Bouldin and Calinski-Harabasz of the clustering on all rows (O(n k))."""
    if len(np.unique(labels)) < 2:
        return {"davies_bouldin": None, "calinski_harabasz": None}
    return {
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
    }
