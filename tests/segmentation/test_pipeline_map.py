"""The review page's customer map draws every segment in proportion (a stratified sample)."""

import numpy as np

from segmentation.pipeline.run import MAP_POINTS, map_sample


def test_every_segment_appears_in_proportion_even_when_sorted_last():
    # Sorted labels, the largest group last: the first rows of a sorted sample would
    # show only the small groups (the bug: 5 of 7 segments, the 55% one missing).
    sizes = {0: 300, 1: 500, 2: 800, 3: 1200, 4: 1700, 5: 40, -1: 60, 6: 5500}
    labels = np.concatenate([np.full(n, label) for label, n in sizes.items()])
    total = len(labels)
    chosen = map_sample(labels, MAP_POINTS, np.random.default_rng(0))
    assert len(chosen) == MAP_POINTS and len(np.unique(chosen)) == MAP_POINTS
    drawn = dict(zip(*np.unique(labels[chosen], return_counts=True), strict=True))
    assert set(drawn) == set(sizes)
    for label, n in sizes.items():
        assert abs(drawn[label] - MAP_POINTS * n / total) <= 1, (label, drawn[label])


def test_a_tiny_segment_still_gets_a_point_and_small_tables_are_drawn_whole():
    labels = np.array([0] * 5000 + [1])
    chosen = map_sample(labels, 100, np.random.default_rng(1))
    assert 1 in labels[chosen]
    assert map_sample(np.array([0, 1, 1]), 100, np.random.default_rng(1)).tolist() == [0, 1, 2]


def test_the_sample_is_random_within_a_segment_and_reproducible():
    labels = np.zeros(10_000, dtype=int)
    first = map_sample(labels, 500, np.random.default_rng(7))
    assert first.max() > 5000  # not the first rows
    assert (map_sample(labels, 500, np.random.default_rng(7)) == first).all()
