"""The pipeline's run notes in the reader's language.

The pipeline has no Django (and so no gettext): it writes its notes in English
and the run stores them so. Each known note is recognised here by its pattern and
read again through gettext with the same numbers; an unknown note is shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from django.utils.translation import gettext

from ..rules import FeatureInfo

Translate = Callable[[dict[str, str], Mapping[str, FeatureInfo], str], str]


def _constant(groups, catalog, lang) -> str:
    info = catalog.get(groups["name"])
    name = info.label(lang) if info else groups["name"]
    return gettext("The feature “%(name)s” has the same value for everyone and was left out.") \
        % {"name": name}


NOTES: list[tuple[re.Pattern[str], Translate]] = [
    (re.compile(r"^feature '(?P<name>[a-z_][a-z0-9_]*)' is constant and was left out$"),
     _constant),
    (re.compile(r"^(?P<count>\d+) missing values were imputed for clustering \(median\)$"),
     lambda g, c, lang: gettext(
         "%(count)s missing values were filled in with the median for clustering "
         "(the rules still treat them as unknown).") % g),
    (re.compile(r"^the rule of one segment selected under (?P<share>[\d.]+%) of customers; "
                r"its cluster was merged into the nearest: k is (?P<k>\d+)$"),
     lambda g, c, lang: gettext(
         "The rule of one segment selected under %(share)s of customers; its cluster was "
         "merged into the nearest, so there are %(k)s segments.") % g),
    (re.compile(r"^thresholds rounded to readable values: (?P<changed>[\d.]+%) of customers "
                r"changed segment \(fidelity (?P<before>[\d.]+%) before rounding\)$"),
     lambda g, c, lang: gettext(
         "Thresholds were rounded to readable values: %(changed)s of customers changed "
         "segment (fidelity %(before)s before rounding).") % g),
    (re.compile(r"^(?P<merged>\d+) cluster\(s\) under (?P<share>[\d.]+%) of customers merged "
                r"into their nearest neighbour: k is (?P<k>\d+) instead of (?P<was>\d+)$"),
     lambda g, c, lang: gettext(
         "%(merged)s cluster(s) under %(share)s of customers were merged into their nearest "
         "neighbour: %(k)s segments instead of %(was)s.") % g),
    (re.compile(r"^Only (?P<count>\d+) customers have orders: too few to cluster, so the "
                r"segments are RFM groups by recency and frequency tertiles\.$"),
     lambda g, c, lang: gettext(
         "Only %(count)s customers have orders: too few to cluster, so the segments are "
         "RFM groups by recency and frequency tertiles.") % g),
]


def translate_note(note: str, catalog: Mapping[str, FeatureInfo], lang: str) -> str:
    """``note`` in the active language when it is a known pattern, else unchanged."""
    for pattern, translate in NOTES:
        match = pattern.match(note.strip())
        if match:
            return translate(match.groupdict(), catalog, lang)
    return note
