"""The ML pipeline: preprocess, cluster, explain as rules, compare, profile.

Pure Python over numpy, pandas and scikit-learn; no Django import here.
"""

from .config import ALGORITHMS, PipelineConfig, PipelineError
from .result import PipelineResult, SegmentModel, SegmentResult, assign_segments
from .run import STAGES, run_pipeline

__all__ = [
    "ALGORITHMS",
    "STAGES",
    "PipelineConfig",
    "PipelineError",
    "PipelineResult",
    "SegmentModel",
    "SegmentResult",
    "assign_segments",
    "run_pipeline",
]
