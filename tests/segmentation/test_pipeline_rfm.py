"""The small-shop fallback: named RFM groups that partition the customers."""

import numpy as np
import pandas as pd
import pytest

from segmentation.pipeline import PipelineError
from segmentation.pipeline.rfm import rfm_segments
from segmentation.pipeline.synthetic import retail_catalog
from segmentation.rules import evaluate


def small_shop(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frequency = rng.poisson(3, n).astype(float)
    frequency[:15] = 0
    return pd.DataFrame({
        "recency_days": rng.uniform(1, 400, n).round(),
        "frequency": frequency,
        "total_spend": frequency * rng.lognormal(5, 0.5, n),
    })


def test_rfm_groups_partition_the_shop_and_say_why():
    frame = small_shop()
    result = rfm_segments(frame, retail_catalog())
    masks = np.array([evaluate(segment.rule, frame) for segment in result.segments])
    assert (masks.sum(axis=0) == 1).all()  # everyone in exactly one group
    names = [segment.name_en for segment in result.segments]
    assert "Prospects" in names and "Champions" in names
    assert result.metrics["method"] == "rfm"
    assert "too few to cluster" in result.metrics["notes"][0]
    prospects = result.segments[names.index("Prospects")]
    assert prospects.size == int((frame["frequency"] == 0).sum()) >= 15


def test_rfm_needs_buyers():
    frame = small_shop()
    frame["frequency"] = 0.0
    with pytest.raises(PipelineError, match="no customer has a completed order"):
        rfm_segments(frame, retail_catalog())
