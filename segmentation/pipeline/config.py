"""Pipeline parameters and the pipeline's error type."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALGORITHMS", "PipelineConfig", "PipelineError"]

ALGORITHMS = ("kmeans", "minibatch_kmeans", "agglomerative")


class PipelineError(ValueError):
    """The input cannot be segmented; the message says why, for a person."""


@dataclass(frozen=True)
class PipelineConfig:
    """What :func:`~segmentation.pipeline.run_pipeline` does.

    Parameters
    ----------
    algorithm : str
        ``"kmeans"``, ``"minibatch_kmeans"`` or ``"agglomerative"``; ``"kmeans"``
        switches to mini-batch k-means above ``large_table_rows``.
    n_clusters : int or None
        None chooses k in ``[k_min, k_max]`` by silhouette.
    k_min, k_max : int
        The range of k tried.
    max_leaves : int or None
        Leaf budget of the explanation tree; None means ``2 * k``.
    sample_size : int
        Rows used for silhouette scores and for agglomerative fitting.
    large_table_rows : int
        Above this many rows, k-means runs its ten restarts on a sample of this
        many rows, then Lloyd on every row from the best restart.
    min_segment_share : float
        No segment smaller than this share of customers.
    max_conditions : int or None
        Complexity budget: most conditions in one clause of a rule (None: no limit).
    max_clauses : int or None
        Complexity budget: most clauses (OR-ed parts) in one segment's rule.
    budget_tolerance : float or None
        How much the budget may cost: the shortest rules whose tree costs at
        most this share of the k-means cost more than the best tree without
        the budget win (None: the budget always wins, whatever it costs).
    random_state : int
        Seed of every random step.
    threads : int or None
        OpenMP and BLAS threads the pipeline may use (None: the libraries' own
        choice, one per core). One by default: a worker shares its machine with
        other workers, and OpenMP threads waiting for a busy core spin; on a
        loaded two-core machine k-means took ten times longer with two.
    """

    algorithm: str = "kmeans"
    n_clusters: int | None = None
    k_min: int = 3
    k_max: int = 8
    max_leaves: int | None = None
    sample_size: int = 10_000
    large_table_rows: int = 20_000
    min_segment_share: float = 0.02
    max_conditions: int | None = 3
    max_clauses: int | None = 2
    budget_tolerance: float | None = 0.02
    random_state: int = 0
    threads: int | None = 1

    def validate(self) -> None:
        """Raise :class:`PipelineError` for inconsistent parameters."""
        if self.algorithm not in ALGORITHMS:
            raise PipelineError(
                f"unknown algorithm {self.algorithm!r}: use one of {', '.join(ALGORITHMS)}"
            )
        if self.n_clusters is not None and self.n_clusters < 2:
            raise PipelineError(f"n_clusters must be at least 2, got {self.n_clusters}")
        if self.n_clusters is None and not 2 <= self.k_min <= self.k_max:
            raise PipelineError(
                f"need 2 <= k_min <= k_max, got k_min={self.k_min}, k_max={self.k_max}"
            )
        if self.max_leaves is not None and self.max_leaves < 2:
            raise PipelineError(f"max_leaves must be at least 2, got {self.max_leaves}")
        if self.sample_size < 100:
            raise PipelineError(f"sample_size must be at least 100, got {self.sample_size}")
        for name in ("max_conditions", "max_clauses"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise PipelineError(f"{name} must be at least 1 or None, got {value}")
        if self.threads is not None and self.threads < 1:
            raise PipelineError(f"threads must be at least 1 or None, got {self.threads}")
        if not 0.0 <= self.min_segment_share < 0.5:
            raise PipelineError(
                f"min_segment_share must be in [0, 0.5), got {self.min_segment_share}"
            )
