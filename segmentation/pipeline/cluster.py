"""The reference clustering: strategies, choice of k, merging of tiny clusters.

Each algorithm is a strategy with the same two methods:

* ``labels_for_k(X_sample, ks)``: labels on a sample for each candidate k
  (used to choose k by silhouette);
* ``fit(X, k, sample)``: labels and centres for every row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, ward
from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances_argmin,
)

from .metrics import silhouette

__all__ = [
    "AgglomerativeStrategy",
    "ClusterStrategy",
    "KMeansStrategy",
    "MiniBatchKMeansStrategy",
    "choose_k",
    "group_means",
    "merge_small_clusters",
    "nearest_centre",
    "strategy_for",
]


def group_means(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Return the mean of each group ``0..k-1`` (zeros for an empty group)."""
    counts = np.bincount(labels, minlength=k).astype(float)
    # One bincount per column: np.add.at is an order of magnitude slower on large tables.
    sums = np.column_stack([np.bincount(labels, weights=X[:, j], minlength=k)
                            for j in range(X.shape[1])]) if X.shape[1] else np.zeros((k, 0))
    return sums / np.maximum(counts, 1.0)[:, None]


def nearest_centre(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return the index of the nearest centre for each row (chunked)."""
    return pairwise_distances_argmin(X, centres)


class ClusterStrategy:
    """Base class of the clustering strategies."""

    name = "base"

    def __init__(self, random_state: int) -> None:
        self.random_state = random_state

    def labels_for_k(self, X_sample: np.ndarray, ks: list[int]) -> dict[int, np.ndarray]:
        """Return sample labels for each candidate k."""
        return {k: self._model(k, choosing=True).fit_predict(X_sample) for k in ks}

    def fit(self, X: np.ndarray, k: int, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(labels, centres)`` for all rows of ``X``."""
        labels = np.asarray(self._model(k).fit_predict(X))
        return labels, group_means(X, labels, k)

    def _model(self, k: int, choosing: bool = False):  # pragma: no cover - overridden
        raise NotImplementedError


class KMeansStrategy(ClusterStrategy):
    """Lloyd k-means with scikit-learn's ten restarts, so its cost is scikit-learn's.

    Choosing k only compares silhouettes on a sample, where three restarts
    rank the candidates the same; the final fit pays for all ten. On a table
    larger than ``seed_rows`` the ten restarts run on a random sample of that
    many rows and one Lloyd run on every row starts from the best of them: the
    restarts only choose a basin, and a sample shows the basins as well as the
    whole table does (the cost stays within 0.5% of ten restarts on every row,
    see the tests), at a fraction of the time.
    """

    name = "kmeans"
    n_init = 10
    n_init_choosing = 3

    def __init__(self, random_state: int, seed_rows: int = 20_000) -> None:
        super().__init__(random_state)
        self.seed_rows = seed_rows

    def _model(self, k: int, choosing: bool = False) -> KMeans:
        n_init = self.n_init_choosing if choosing else self.n_init
        return KMeans(n_clusters=k, n_init=n_init, random_state=self.random_state)

    def fit(self, X: np.ndarray, k: int, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(X) <= self.seed_rows:
            return super().fit(X, k, sample)
        rng = np.random.default_rng(self.random_state)
        seed = np.sort(rng.choice(len(X), self.seed_rows, replace=False))
        start = self._model(k).fit(X[seed]).cluster_centers_
        model = KMeans(n_clusters=k, init=start, n_init=1, random_state=self.random_state)
        labels = np.asarray(model.fit_predict(X))
        return labels, group_means(X, labels, k)


class MiniBatchKMeansStrategy(ClusterStrategy):
    """Mini-batch k-means for large tables."""

    name = "minibatch_kmeans"
    n_init = 3
    batch_size = 4096

    def _model(self, k: int, choosing: bool = False) -> MiniBatchKMeans:
        return MiniBatchKMeans(
            n_clusters=k,
            n_init=self.n_init,
            batch_size=self.batch_size,
            random_state=self.random_state,
        )

    def fit(self, X: np.ndarray, k: int, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model = self._model(k).fit(X)
        labels = nearest_centre(X, model.cluster_centers_)
        centres = group_means(X, labels, k)
        for _ in range(3):  # a few full Lloyd steps polish the mini-batch centres
            labels = nearest_centre(X, centres)
            centres = group_means(X, labels, k)
        return labels, centres


class AgglomerativeStrategy(ClusterStrategy):
    """Ward agglomerative clustering on a sample; other rows go to the nearest centroid."""

    name = "agglomerative"

    def labels_for_k(self, X_sample: np.ndarray, ks: list[int]) -> dict[int, np.ndarray]:
        linkage = ward(X_sample)  # one ward tree, cut at each k
        return {k: fcluster(linkage, k, criterion="maxclust") - 1 for k in ks}

    def fit(self, X: np.ndarray, k: int, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sample_labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(X[sample])
        centres = group_means(X[sample], sample_labels, k)
        labels = nearest_centre(X, centres)
        labels[sample] = sample_labels
        return labels, group_means(X, labels, k)


def strategy_for(
    algorithm: str, n_rows: int, large_table_rows: int, random_state: int
) -> ClusterStrategy:
    """Return the strategy for an algorithm name.

    k-means stays k-means at every size (its cost is what the price of
    explainability is measured against); above ``large_table_rows`` rows it
    seeds its restarts on a sample of that many rows.
    """
    if algorithm == "agglomerative":
        return AgglomerativeStrategy(random_state)
    if algorithm == "minibatch_kmeans":
        return MiniBatchKMeansStrategy(random_state)
    return KMeansStrategy(random_state, seed_rows=large_table_rows)


@dataclass(frozen=True)
class KScore:
    """Quality of one candidate k on the sample."""

    k: int
    silhouette: float | None
    davies_bouldin: float | None
    calinski_harabasz: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """Return a JSON-friendly dict."""
        return {
            "k": self.k,
            "silhouette": self.silhouette,
            "davies_bouldin": self.davies_bouldin,
            "calinski_harabasz": self.calinski_harabasz,
        }


def score_labels(X: np.ndarray, labels: np.ndarray, k: int, random_state: int) -> KScore:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz of one labelling."""
    n_groups = len(np.unique(labels))
    if not 2 <= n_groups <= len(X) - 1:
        return KScore(k, None, None, None)
    return KScore(
        k,
        silhouette(X, labels, random_state),
        float(davies_bouldin_score(X, labels)),
        float(calinski_harabasz_score(X, labels)),
    )


def choose_k(
    strategy: ClusterStrategy, X_sample: np.ndarray, ks: list[int], random_state: int
) -> tuple[int, list[KScore]]:
    """Choose k by the best silhouette on a sample.

    Parameters
    ----------
    strategy : ClusterStrategy
    X_sample : ndarray
        Scaled rows (at most ``sample_size``).
    ks : list of int
        Candidate k values.
    random_state : int

    Returns
    -------
    (k, scores)
        The chosen k and the scores of every candidate.
    """
    labels = strategy.labels_for_k(X_sample, ks)
    scores = [score_labels(X_sample, labels[k], k, random_state) for k in ks]
    valid = [s for s in scores if s.silhouette is not None]
    if not valid:
        return ks[0], scores
    return max(valid, key=lambda s: s.silhouette).k, scores


def merge_small_clusters(
    X: np.ndarray, labels: np.ndarray, centres: np.ndarray, min_share: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Merge clusters under ``min_share`` of rows into their nearest cluster.

    Returns
    -------
    (labels, centres, merged)
        Labels renumbered ``0..k'-1``, their means, and how many clusters merged.
    """
    labels = labels.copy()
    k = len(centres)
    alive = list(range(k))
    merged = 0
    while len(alive) > 2:
        sizes = np.bincount(labels, minlength=k)
        small = [a for a in alive if sizes[a] < min_share * len(labels)]
        if not small:
            break
        a = min(small, key=lambda c: sizes[c])
        others = [b for b in alive if b != a]
        dist = ((centres[others] - centres[a]) ** 2).sum(1)
        b = others[int(dist.argmin())]
        labels[labels == a] = b
        alive.remove(a)
        centres = group_means(X, labels, k)
        merged += 1
    remap = np.full(k, -1)
    remap[alive] = np.arange(len(alive))
    labels = remap[labels]
    return labels, group_means(X, labels, len(alive)), merged
