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


def _label(groups, catalog, lang) -> dict[str, str]:
    """The groups with the feature's name replaced by its label in ``lang``."""
    info = catalog.get(groups["name"])
    return {**groups, "name": info.label(lang) if info else groups["name"]}


def _constant(groups, catalog, lang) -> str:
    return gettext("The feature “%(name)s” has the same value for everyone and was left out.") \
        % _label(groups, catalog, lang)


def _budget(groups, catalog, lang) -> str:
    text = gettext("The rules exceed the complexity budget (%(conditions)s conditions per "
                   "clause, %(clauses)s clauses per segment, one threshold per feature and "
                   "direction) %(times)s time(s).") % groups
    if groups["tolerance"] is None:
        return text + " " + gettext("No tree keeping to it was found.")
    return text + " " + gettext("Keeping to it would have cost more than %(tolerance)s of the "
                                "k-means cost.") % groups


FEATURE = r"'(?P<name>[a-z_][a-z0-9_]*)'"


NOTES: list[tuple[re.Pattern[str], Translate]] = [
    (re.compile(rf"^feature {FEATURE} is constant and was left out$"), _constant),
    (re.compile(rf"^feature {FEATURE} is nearly constant and was left out$"),
     lambda g, c, lang: gettext("The feature “%(name)s” is nearly constant and was left out.")
     % _label(g, c, lang)),
    (re.compile(rf"^feature {FEATURE} is unknown for (?P<share>\d+%) of the customers "
                r"clustered and was left out$"),
     lambda g, c, lang: gettext("The feature “%(name)s” is unknown for %(share)s of the "
                                "customers clustered and was left out.") % _label(g, c, lang)),
    (re.compile(rf"^feature {FEATURE} is (?P<value>\S+) for (?P<share>\d+%) of the customers "
                r"clustered \(nearly constant\) and was left out$"),
     lambda g, c, lang: gettext("The feature “%(name)s” is %(value)s for %(share)s of the "
                                "customers clustered (nearly constant) and was left out.")
     % _label(g, c, lang)),
    (re.compile(r"^The latest order or event is on (?P<latest>\d{4}-\d{2}-\d{2}), "
                r"(?P<days>\d+) days ago: the features are measured as of "
                r"(?P<as_of>\d{4}-\d{2}-\d{2} \d{2}:\d{2}) \(the day after it\), not today\. "
                r"Give another time with segment --as-of\.$"),
     lambda g, c, lang: gettext(
         "The latest order or event is on %(latest)s, %(days)s days ago: the features are "
         "measured as of %(as_of)s (the day after it), not today. Give another time with "
         "segment --as-of.") % g),
    (re.compile(r"^the rules exceed the complexity budget \((?P<conditions>\d+) conditions "
                r"per clause, (?P<clauses>\d+) clauses per segment, one threshold per feature "
                r"and direction\) (?P<times>\d+) time\(s\): (?:no tree keeping to it was found"
                r"|keeping to it would have cost more than (?P<tolerance>\d+%) of the k-means "
                r"cost)$"),
     _budget),
    (re.compile(r"^(?P<count>[\d,]+) customers have no completed order: they were not "
                r"clustered; (?P<added>\d+) segment\(s\) of their own were added to the "
                r"(?P<segments>\d+) of the (?P<buyers>[\d,]+) buyers\.$"),
     lambda g, c, lang: gettext(
         "%(count)s customers have no completed order: they were not clustered; %(added)s "
         "segment(s) of their own were added to the %(segments)s of the %(buyers)s buyers.")
     % g),
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
