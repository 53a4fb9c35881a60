"""The ML pipeline: preprocess, cluster, explain as rules, compare, profile.

Pure Python over numpy, pandas and scikit-learn; no Django import here.
"""

from .config import ALGORITHMS, PipelineConfig, PipelineError
from .estimator import RuleSegmenter
from .evaluation import evaluate, rule_scores
from .result import PipelineResult, SegmentModel, SegmentResult, assign_segments
from .run import STAGES, run_pipeline

__all__ = [
    "ALGORITHMS",
    "STAGES",
    "PipelineConfig",
    "PipelineError",
    "PipelineResult",
    "RuleSegmenter",
    "SegmentModel",
    "SegmentResult",
    "assign_segments",
    "evaluate",
    "rule_scores",
    "run_pipeline",
]
