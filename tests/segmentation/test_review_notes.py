"""Run notes, stored in English by the pipeline, read in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from segmentation.features import registry
from segmentation.review.notes import translate_note

# As the pipeline and the services write them (coverage, as-of, budget, non-buyers).
NOTES = [
    "feature 'sessions_30d' is 0 for 100% of the customers clustered (nearly constant) and "
    "was left out",
    "feature 'age_years' is unknown for 62% of the customers clustered and was left out",
    "feature 'gender' is nearly constant and was left out",
    "The latest order or event is on 1998-09-23, 10296 days ago: the features are measured "
    "as of 1998-09-24 00:00 (the day after it), not today. Give another time with "
    "segment --as-of.",
    "the rules exceed the complexity budget (3 conditions per clause, 2 clauses per segment, "
    "one threshold per feature and direction) 3 time(s): keeping to it would have cost more "
    "than 2% of the k-means cost",
    "the rules exceed the complexity budget (3 conditions per clause, 2 clauses per segment, "
    "one threshold per feature and direction) 1 time(s): no tree keeping to it was found",
    "2,670 customers have no completed order: they were not clustered; 1 segment(s) of their "
    "own were added to the 4 of the 9,466 buyers.",
]


@pytest.mark.parametrize("note", NOTES)
def test_each_note_reads_in_chinese_with_its_numbers(note):
    with translation.override("zh-hans"):
        text = translate_note(note, registry.catalog(), "zh")
    assert not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,} [A-Za-z]{3,}", text), text
    numbers = re.findall(r"\d(?:[\d,.:-]*\d)?%?", note.split(": keeping")[0].split(": no tree")[0])
    assert all(number in text for number in numbers), (numbers, text)


def test_a_feature_is_named_by_its_label():
    with translation.override("zh-hans"):
        text = translate_note(NOTES[0], registry.catalog(), "zh")
    assert "近30天访问次数" in text and "sessions_30d" not in text
