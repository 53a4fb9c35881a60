"""The ML pipeline: preprocess, cluster, explain as rules, compare, profile.

Pure Python over numpy, pandas and scikit-learn; no Django import here.

The names below are loaded when first used (PEP 562): importing the package, or its
light modules (``config``, ``coverage``, ``naming``...), does not load scikit-learn
and SciPy, about 90 MB a process that never segments (a web worker, an import) keeps.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import ALGORITHMS, PipelineConfig, PipelineError
    from .estimator import RuleSegmenter
    from .evaluation import evaluate, rule_scores
    from .result import PipelineResult, SegmentModel, SegmentResult, assign_segments
    from .run import STAGES, run_pipeline

_WHERE = {
    "ALGORITHMS": "config", "PipelineConfig": "config", "PipelineError": "config",
    "RuleSegmenter": "estimator",
    "evaluate": "evaluation", "rule_scores": "evaluation",
    "PipelineResult": "result", "SegmentModel": "result", "SegmentResult": "result",
    "assign_segments": "result",
    "STAGES": "run", "run_pipeline": "run",
}

__all__ = [
    "ALGORITHMS", "STAGES", "PipelineConfig", "PipelineError", "PipelineResult",
    "RuleSegmenter", "SegmentModel", "SegmentResult", "assign_segments", "evaluate",
    "rule_scores", "run_pipeline",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
