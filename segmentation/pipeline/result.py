"""What a pipeline run returns: frozen results and the picklable segment model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..rules.ast import Rule
from ..rules.evaluate import evaluate

if TYPE_CHECKING:  # scikit-learn is loaded by what fits or applies the model
    from sklearn.compose import ColumnTransformer

__all__ = ["PipelineResult", "SegmentModel", "SegmentResult", "assign_segments"]


def assign_segments(rules: tuple[Rule, ...] | list[Rule], frame: pd.DataFrame) -> np.ndarray:
    """Return the index of the first rule selecting each row, ``-1`` where none does.

    Parameters
    ----------
    rules : sequence of Rule
    frame : pandas.DataFrame
        Raw features (NaN for missing).

    Returns
    -------
    ndarray of int, shape (len(frame),)
    """
    labels = np.full(len(frame), -1, dtype=np.intp)
    for index, rule in enumerate(rules):
        hit = evaluate(rule, frame) & (labels < 0)
        labels[hit] = index
    return labels


@dataclass(frozen=True, eq=False)
class SegmentModel:
    """The fitted segmentation, small and picklable.

    ``predict`` applies the rules (the truth); ``transform`` gives the scaled
    features the clustering saw. Pickle it with :mod:`pickle` or joblib; it
    holds only the rules, column names and a fitted scikit-learn transformer,
    so unpickling needs the same scikit-learn version. The rules' JSON
    (``Rule.to_dict``) is the durable form.
    """

    rules: tuple[Rule, ...]
    features: tuple[str, ...]
    preprocessor: ColumnTransformer
    centres: np.ndarray
    categorical: tuple[str, ...] = ()

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Return each row's segment index by the rules, ``-1`` where none matches.

        Categorical values are compared as text (``1`` and ``"1"`` are the same
        category), as they were when the rules were fitted.
        """
        if self.categorical:
            frame = frame.copy()
            for name in self.categorical:
                col = frame[name]
                frame[name] = col.astype(object).where(col.isna(), col.astype(str))
        return assign_segments(self.rules, frame)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the scaled, encoded features (missing values imputed)."""
        return np.asarray(self.preprocessor.transform(frame[list(self.features)]), dtype=float)

    def predict_clusters(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the nearest reference centre of each row (the clustering's view)."""
        from .cluster import nearest_centre

        return nearest_centre(self.transform(frame), self.centres)


@dataclass(frozen=True)
class SegmentResult:
    """One segment: its rule (the truth), size, names and profile."""

    index: int
    rule: Rule
    size: int
    share: float
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    profile: dict[str, dict[str, float | None]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """Everything a run produced.

    ``labels`` are the rule-defined segments of each row of the input frame
    (``-1``: no rule matched, because of missing values); ``cluster_labels`` the
    reference clustering, numbered like the segments. ``metrics`` holds only
    JSON-serialisable values.
    """

    k: int
    segments: tuple[SegmentResult, ...]
    labels: np.ndarray
    cluster_labels: np.ndarray
    metrics: dict[str, Any]
    timings: dict[str, float]
    model: SegmentModel
    # Deferred diagnostics (``run_pipeline(defer_diagnostics=True)``): call it after saving
    # for ``(metrics, timings)`` to merge; None when they are already in ``metrics``.
    diagnostics: Callable[[], tuple[dict[str, Any], dict[str, float]]] | None = None

    def segment_rules(self) -> Mapping[int, Rule]:
        """Return ``{segment index: rule}``."""
        return {s.index: s.rule for s in self.segments}
