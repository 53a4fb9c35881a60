"""Features missing or one value for most customers are left out, with a note."""

import numpy as np
import pandas as pd

from segmentation.pipeline.coverage import usable_features


def test_missing_and_nearly_constant_features_are_left_out():
    n = 100
    frame = pd.DataFrame({
        "age_years": [30.0] * 20 + [np.nan] * 80,  # 80% unknown
        "orders_90d": [0.0] * 97 + [1.0, 2.0, 1.0],  # 97% zero
        "total_spend": np.linspace(1, 500, n),
        "recency_days": [np.nan] * 30 + list(range(70)),  # 30% unknown: imputed later
    })
    coverage = usable_features(frame, list(frame.columns))
    assert coverage.kept == ["total_spend", "recency_days"]
    assert coverage.dropped == {"age_years": "missing", "orders_90d": "constant"}
    assert any("'age_years' is unknown for 80%" in note for note in coverage.notes)
    assert any("'orders_90d' is 0 for 97%" in note for note in coverage.notes)


def test_no_rows_keeps_everything():
    assert usable_features(pd.DataFrame({"a": []}), ["a"]).kept == ["a"]
