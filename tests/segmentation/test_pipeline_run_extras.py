"""The run's review material: confusion between rules and clusters, and a 2-D map."""

import numpy as np

from segmentation.pipeline import PipelineConfig, run_pipeline
from segmentation.pipeline.synthetic import make_retail_customers, retail_catalog


def test_confusion_and_map_describe_the_run():
    frame = make_retail_customers(3000, random_state=1)
    result = run_pipeline(frame, retail_catalog(), PipelineConfig(n_clusters=4, random_state=0))
    confusion = np.array(result.metrics["confusion"])
    assert confusion.shape == (4, 4)
    assert confusion.sum() == (result.labels >= 0).sum()
    assert np.trace(confusion) / confusion.sum() == result.metrics["fidelity"]
    points = result.metrics["map"]
    assert len(points["x"]) == len(points["y"]) == len(points["segment"]) <= 1500
    assert set(points["segment"]) <= set(range(4)) | {-1}
    assert 0 < sum(points["explained"]) <= 1
