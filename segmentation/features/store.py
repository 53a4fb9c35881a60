"""The materialised feature table (CustomerFeatures): refreshed in bulk or per customer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from django.db import transaction

from ..bulk import insert_frame
from ..models import CustomerFeatures
from .compute import compute_features, iter_feature_batches
from .registry import FeatureRegistry, registry

COLUMN_FEATURES = frozenset(
    field.name for field in CustomerFeatures._meta.concrete_fields
    if field.get_internal_type() == "FloatField"
)


def _split_columns(names: Sequence[str]) -> tuple[list[str], list[str]]:
    columns = [name for name in names if name in COLUMN_FEATURES]
    extra = [name for name in names if name not in COLUMN_FEATURES]
    return columns, extra


def _table_rows(frame: pd.DataFrame, now: datetime, columns: list[str],
                extra: list[str]) -> pd.DataFrame:
    """The feature batch shaped as CustomerFeatures rows."""
    rows = frame[columns].astype("float64").reset_index()
    rows.insert(1, "computed_at", now)
    if extra:
        # pandas writes JSON in C; NaN becomes null.
        rows["extra"] = frame[extra].astype("float64").to_json(
            orient="records", lines=True
        ).splitlines()
    else:
        rows["extra"] = "{}"
    return rows


@transaction.atomic
def refresh_feature_table(
    *,
    now: datetime,
    keep: Sequence[str] | None = None,
    batch_size: int = 100_000,
    features: FeatureRegistry = registry,
) -> pd.DataFrame:
    """Recompute every customer's features, replace the table, return the ``keep`` columns.

    Runs in one transaction: readers see the old table until the new one is whole.
    """
    names = features.names()
    columns, extra = _split_columns(names)
    table = CustomerFeatures._meta.db_table
    CustomerFeatures.objects.all().delete()
    kept: list[pd.DataFrame] = []
    for batch in iter_feature_batches(now=now, names=names, batch_size=batch_size,
                                      features=features):
        insert_frame(table, _table_rows(batch, now, columns, extra))
        kept.append(batch[list(keep)] if keep is not None else batch)
    if not kept:
        return pd.DataFrame(columns=list(keep or names), index=pd.Index([], name="customer_id"))
    return pd.concat(kept)


def refresh_features_of(
    customer_ids: Sequence[int], *, now: datetime, features: FeatureRegistry = registry
) -> pd.DataFrame:
    """Recompute some customers' features, store them, and return them (all features)."""
    frame = compute_features(now=now, customer_ids=list(customer_ids), features=features)
    columns, extra = _split_columns(features.names())
    with transaction.atomic():
        CustomerFeatures.objects.filter(customer_id__in=list(customer_ids)).delete()
        if not frame.empty:
            insert_frame(CustomerFeatures._meta.db_table,
                         _table_rows(frame, now, columns, extra))
    return frame
