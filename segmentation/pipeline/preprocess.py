"""Turn the raw feature table into the scaled matrix the clustering sees.

One scikit-learn ``ColumnTransformer``: numeric columns are median-imputed,
heavy-tailed ones (``FeatureInfo.skewed``) go through a signed ``log1p``, then
all are standardised; categorical columns are imputed with their most
frequent value and one-hot encoded. Every step is monotone per column, so a
threshold on a scaled column is a threshold on the raw column: the tree is
fitted on both (``X`` scaled for costs, ``Z`` raw for thresholds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ..rules.catalog import FeatureInfo
from .config import PipelineError

__all__ = ["Prepared", "SplitColumn", "prepare", "signed_expm1", "signed_log1p"]


def signed_log1p(X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``sign(x) * log1p(|x|)`` on the masked columns (monotone, defined everywhere)."""
    X = np.asarray(X, dtype=float).copy()
    cols = slice(None) if mask is None else np.asarray(mask, dtype=bool)
    X[:, cols] = np.sign(X[:, cols]) * np.log1p(np.abs(X[:, cols]))
    return X


def signed_expm1(X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`signed_log1p`."""
    X = np.asarray(X, dtype=float).copy()
    cols = slice(None) if mask is None else np.asarray(mask, dtype=bool)
    X[:, cols] = np.sign(X[:, cols]) * np.expm1(np.abs(X[:, cols]))
    return X


@dataclass(frozen=True)
class SplitColumn:
    """One column of ``X``/``Z``: a numeric feature, or one category of a categorical."""

    feature: str
    category: str | None = None


@dataclass
class Prepared:
    """The table as the clustering and the tree see it."""

    X: np.ndarray
    Z: np.ndarray
    columns: tuple[SplitColumn, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    transformer: ColumnTransformer
    #: The kept features in raw units (numeric, then categorical), NaN for missing:
    #: what rules are evaluated on.
    clean: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def raw_columns(self, frame: pd.DataFrame) -> np.ndarray:
        """Return ``Z`` for a frame: imputed raw numbers, one-hot categories."""
        return raw_matrix(self.transformer, frame, self.numeric, self.categorical)

    def imputed_values(self) -> dict[str, float | str]:
        """The value the imputer gave each kept feature that has missing values.

        The median of a numeric feature, the most frequent category of a
        categorical one: where the tree puts a customer whose value is unknown,
        so rules can say "or unknown" on that side (:mod:`.rulebuild`).
        """
        missing = self.clean.isna().any()
        out: dict[str, float | str] = {}
        for name, columns in (("num", self.numeric), ("cat", self.categorical)):
            if not columns:
                continue
            imputer = self.transformer.named_transformers_[name].named_steps["impute"]
            for feature, value in zip(columns, imputer.statistics_, strict=True):
                if missing[feature]:
                    out[feature] = float(value) if name == "num" else str(value)
        return out


def _check_columns(frame: pd.DataFrame, catalog: Mapping[str, FeatureInfo]) -> list[str]:
    unknown = [c for c in frame.columns if c not in catalog]
    if unknown:
        raise PipelineError(f"unknown column {unknown[0]!r}: it is not in the feature catalog")
    if len(frame) == 0:
        raise PipelineError("the table has no rows: there are no customers to segment")
    if not len(frame.columns):
        raise PipelineError("the table has no feature columns")
    return list(frame.columns)


def clean_frame(frame: pd.DataFrame, catalog: Mapping[str, FeatureInfo]) -> pd.DataFrame:
    """Check types and return numeric columns as float and categoricals as object."""
    columns = _check_columns(frame, catalog)
    out = {}
    for name in columns:
        series = frame[name]
        if catalog[name].kind == "categorical":
            values = series.astype(object)
            out[name] = values.where(series.notna(), np.nan).map(
                lambda v: v if isinstance(v, float) else str(v)
            )
            continue
        try:
            numbers = pd.to_numeric(series, errors="raise").astype(float)
        except (TypeError, ValueError):
            bad = next(v for v in series if pd.notna(v) and not _numeric(v))
            raise PipelineError(f"column {name!r} should be numeric but contains {bad!r}") from None
        if np.isinf(numbers.to_numpy()).any():
            raise PipelineError(f"column {name!r} contains infinite values")
        out[name] = numbers
    return pd.DataFrame(out, index=frame.index)


def _numeric(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def median(values: np.ndarray) -> float:
    """The median of a column's observed values (NaN when none): the numeric imputer's statistic.

    ``SimpleImputer(strategy="median")`` sorts a masked copy of the whole table
    (1.3 s at a million rows); ``np.median`` selects by partition, same value.
    """
    return float(np.median(values)) if len(values) else np.nan


def build_transformer(
    numeric: list[str], categorical: list[str], catalog: Mapping[str, FeatureInfo]
) -> ColumnTransformer:
    """Return the unfitted preprocessing ``ColumnTransformer``."""
    skewed = np.array([catalog[c].skewed for c in numeric], dtype=bool)
    numeric_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy=median)),
            (
                "log",
                FunctionTransformer(
                    signed_log1p,
                    inverse_func=signed_expm1,
                    kw_args={"mask": skewed},
                    inv_kw_args={"mask": skewed},
                    check_inverse=False,
                ),
            ),
            ("scale", StandardScaler()),
        ]
    )
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=float)),
        ]
    )
    transformers = []
    if numeric:
        transformers.append(("num", numeric_steps, numeric))
    if categorical:
        transformers.append(("cat", categorical_steps, categorical))
    return ColumnTransformer(transformers, sparse_threshold=0.0)


def raw_matrix(
    transformer: ColumnTransformer,
    frame: pd.DataFrame,
    numeric: tuple[str, ...],
    categorical: tuple[str, ...],
) -> np.ndarray:
    """Return the raw split matrix ``Z`` (imputed numbers, one-hot categories)."""
    parts = []
    if numeric:
        impute = transformer.named_transformers_["num"].named_steps["impute"]
        parts.append(impute.transform(frame[list(numeric)]))
    if categorical:
        parts.append(transformer.named_transformers_["cat"].transform(frame[list(categorical)]))
    return np.hstack(parts).astype(float)


def prepare(frame: pd.DataFrame, catalog: Mapping[str, FeatureInfo]) -> Prepared:
    """Validate, drop constant features, fit the transformer and transform.

    Parameters
    ----------
    frame : pandas.DataFrame
        Index: customer ids; one column per catalog feature (a subset is fine).
    catalog : mapping of str to FeatureInfo

    Returns
    -------
    Prepared

    Raises
    ------
    PipelineError
        No rows, an unknown column, a non-numeric value in a numeric column,
        infinite values, or only constant features.
    """
    clean = clean_frame(frame, catalog)
    notes = []
    kept = []
    for name in clean.columns:
        if clean[name].nunique(dropna=True) <= 1:
            notes.append(f"feature {name!r} is constant and was left out")
        else:
            kept.append(name)
    if not kept:
        raise PipelineError("all features are constant: there is nothing to segment")
    numeric = tuple(c for c in kept if catalog[c].kind != "categorical")
    categorical = tuple(c for c in kept if catalog[c].kind == "categorical")
    transformer = build_transformer(list(numeric), list(categorical), catalog)
    X = np.asarray(transformer.fit_transform(clean[list(kept)]), dtype=float)
    Z = raw_matrix(transformer, clean, numeric, categorical)
    columns = [SplitColumn(c) for c in numeric]
    if categorical:
        encoder = transformer.named_transformers_["cat"].named_steps["onehot"]
        for name, cats in zip(categorical, encoder.categories_, strict=True):
            columns += [SplitColumn(name, str(c)) for c in cats]
    missing = int(clean[list(kept)].isna().to_numpy().sum())
    if missing:
        notes.append(f"{missing} missing values were imputed for clustering (median)")
    return Prepared(X, Z, tuple(columns), numeric, categorical, transformer,
                    clean[list(numeric + categorical)], notes)
