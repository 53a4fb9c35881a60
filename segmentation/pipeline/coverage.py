"""Which features a run can trust: not missing, not one value, for most customers.

A feature that most customers lack (age without birth dates) or that is one
value for nearly all of them (sessions in a shop that records none, orders in
the last 90 days of a file that ended long ago) says nothing about most
customers; clustering on it invents structure from a few. Such features are
left out of the run, each with a note saying why. Pure pandas; no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["MAX_DOMINANT_SHARE", "MAX_MISSING_SHARE", "Coverage", "usable_features"]

#: Left out when more than this share of customers lack the feature.
MAX_MISSING_SHARE = 0.5
#: Left out when one value covers at least this share of the customers who have it.
MAX_DOMINANT_SHARE = 0.95


@dataclass(frozen=True)
class Coverage:
    kept: list[str]
    dropped: dict[str, str]  # feature -> why
    notes: list[str]


def usable_features(
    frame: pd.DataFrame,
    names: Sequence[str],
    *,
    max_missing_share: float = MAX_MISSING_SHARE,
    max_dominant_share: float = MAX_DOMINANT_SHARE,
) -> Coverage:
    """Split ``names`` into features to cluster on and features to leave out.

    Parameters
    ----------
    frame : pandas.DataFrame
        The customers being clustered (raw values, NaN for missing).
    names : sequence of str
        Candidate columns of ``frame``.

    Returns
    -------
    Coverage
        ``kept`` in the given order; ``dropped`` and one ``notes`` line per
        feature left out. With no rows, everything is kept.
    """
    kept: list[str] = []
    dropped: dict[str, str] = {}
    notes: list[str] = []
    n = len(frame)
    for name in names:
        column = frame[name]
        present = column.dropna()
        missing = 1.0 - len(present) / n if n else 0.0
        dominant = float(present.value_counts(normalize=True).iloc[0]) if len(present) else 1.0
        if n and missing > max_missing_share:
            dropped[name] = "missing"
            notes.append(f"feature {name!r} is unknown for {missing:.0%} of the customers "
                         "clustered and was left out")
        elif n and dominant >= max_dominant_share:
            value = present.value_counts().index[0] if len(present) else None
            dropped[name] = "constant"
            notes.append(f"feature {name!r} is {value:g} for {dominant:.0%} of the customers "
                         "clustered (nearly constant) and was left out"
                         if value is not None and not isinstance(value, str) else
                         f"feature {name!r} is nearly constant and was left out")
        else:
            kept.append(name)
    return Coverage(kept, dropped, notes)
