import numpy as np

from segmentation.pipeline.matching import match_segments


def test_relabelled_segments_match_their_predecessors():
    old = np.array([0, 0, 0, 1, 1, 2, 2, 2, -1])
    new = np.array([2, 2, 1, 0, 0, 1, 1, 1, 0])  # new 2 ~ old 0, new 0 ~ old 1, new 1 ~ old 2
    matching = match_segments(old, new, 3, 3)
    assert matching.pairs == {2: 0, 0: 1, 1: 2}
    assert matching.movement[0, 2] == 2 and matching.movement[0, 1] == 1
    assert matching.movement[3, 0] == 1  # the customer who was in no segment
    assert matching.movement.sum() == len(old)
    assert 0 < matching.adjusted_rand_index < 1


def test_identical_runs_have_ari_one_and_a_new_segment_without_overlap_is_unmatched():
    old = np.array([0, 0, 1, 1])
    assert match_segments(old, old, 2, 2).adjusted_rand_index == 1.0
    matching = match_segments(np.array([0, 0, 0, 0]), np.array([0, 0, 1, 1]), 1, 2)
    assert len(matching.pairs) == 1
