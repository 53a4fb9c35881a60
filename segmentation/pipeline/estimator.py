"""The pipeline as a scikit-learn estimator: one object segments, assigns and is scored.

::

    segmenter = RuleSegmenter(catalog, n_clusters=5).fit(features)
    segmenter.segments_[0].rule            # the rule of the largest segment
    segmenter.predict(new_customers)       # their segments, by the rules
    evaluate(segmenter, features)          # fidelity, price of explainability, ...

Parameters live in ``__init__`` unchanged (``get_params`` / ``set_params`` /
``clone`` from :class:`sklearn.base.BaseEstimator`); ``fit`` runs
:func:`~segmentation.pipeline.run.run_pipeline` and sets the trailing-underscore
attributes; scores are the separate :func:`~segmentation.pipeline.evaluation.evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin

from ..rules.catalog import FeatureInfo
from .config import PipelineConfig
from .run import run_pipeline

__all__ = ["RuleSegmenter"]


class RuleSegmenter(ClusterMixin, BaseEstimator):
    """Explainable customer segments: a clustering stated as one rule per segment.

    Parameters
    ----------
    catalog : mapping of str to FeatureInfo
        What each feature column is (labels, units, kind).
    algorithm, n_clusters, k_min, k_max, max_leaves, sample_size, large_table_rows,
    min_segment_share, max_conditions, max_clauses, budget_tolerance, random_state, threads
        As in :class:`~segmentation.pipeline.config.PipelineConfig`.

    Attributes
    ----------
    result_ : PipelineResult
        Everything the fit produced (segments, metrics, timings).
    segments_ : tuple of SegmentResult
    rules_ : tuple of Rule
    labels_ : ndarray of int
        Rule segment of each fitted row (``-1``: none).
    cluster_labels_ : ndarray of int
        Reference cluster of each fitted row.
    n_segments_ : int
    model_ : SegmentModel
    """

    def __init__(
        self,
        catalog: Mapping[str, FeatureInfo] | None = None,
        *,
        algorithm: str = "kmeans",
        n_clusters: int | None = None,
        k_min: int = 3,
        k_max: int = 8,
        max_leaves: int | None = None,
        sample_size: int = 10_000,
        large_table_rows: int = 20_000,
        min_segment_share: float = 0.02,
        max_conditions: int | None = 3,
        max_clauses: int | None = 2,
        budget_tolerance: float | None = 0.02,
        random_state: int = 0,
        threads: int | None = 1,
    ) -> None:
        self.catalog = catalog
        self.algorithm = algorithm
        self.n_clusters = n_clusters
        self.k_min = k_min
        self.k_max = k_max
        self.max_leaves = max_leaves
        self.sample_size = sample_size
        self.large_table_rows = large_table_rows
        self.min_segment_share = min_segment_share
        self.max_conditions = max_conditions
        self.max_clauses = max_clauses
        self.budget_tolerance = budget_tolerance
        self.random_state = random_state
        self.threads = threads

    @classmethod
    def from_config(
        cls, catalog: Mapping[str, FeatureInfo], config: PipelineConfig
    ) -> RuleSegmenter:
        """Return an unfitted segmenter with a config's parameters."""
        return cls(catalog, **{f.name: getattr(config, f.name) for f in fields(config)})

    def config(self) -> PipelineConfig:
        """Return the parameters as a :class:`PipelineConfig` (validated when fitting)."""
        params = self.get_params()
        return PipelineConfig(**{f.name: params[f.name] for f in fields(PipelineConfig)})

    def fit(
        self,
        X: pd.DataFrame,
        y: None = None,
        progress: Callable[[str, float], None] | None = None,
    ) -> RuleSegmenter:
        """Segment the customers of ``X`` (raw features, one row each)."""
        if self.catalog is None:
            raise ValueError("RuleSegmenter needs a feature catalog")
        result = run_pipeline(X, self.catalog, self.config(), progress=progress)
        self.result_ = result
        self.segments_ = result.segments
        self.rules_ = tuple(s.rule for s in result.segments)
        self.labels_ = result.labels
        self.cluster_labels_ = result.cluster_labels
        self.n_segments_ = result.k
        self.model_ = result.model
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return each customer's segment by the rules (``-1`` where none matches)."""
        return self.model_.predict(X)

    def predict_clusters(self, X: pd.DataFrame) -> np.ndarray:
        """Return each customer's nearest reference centre (the clustering's view)."""
        return self.model_.predict_clusters(X)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Return the scaled features the clustering saw."""
        return self.model_.transform(X)
