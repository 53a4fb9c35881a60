"""The feature catalog: what a feature is called and how its values read.

The Django side declares features once in its registry and hands the
pipeline and the renderers a ``Mapping[str, FeatureInfo]``; nothing here
imports Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["FEATURE_NAME_RE", "KINDS", "MONEY_UNITS", "UNITS", "FeatureInfo", "make_catalog"]

#: A feature (column) name: lower-case identifier, safe to quote in SQL.
FEATURE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")

#: Units a feature can be stated in; they drive how values are rendered.
UNITS = ("days", "orders", "yuan", "years", "sessions", "share", "rate", "", "money")

#: Units of amounts of money: shown in the feature's ``currency`` ("yuan" is the old name).
MONEY_UNITS = ("money", "yuan")

#: Kinds of features.
KINDS = ("numeric", "categorical")


@dataclass(frozen=True)
class FeatureInfo:
    """How one feature is named and shown.

    Parameters
    ----------
    name : str
        Column name, ``[a-z_][a-z0-9_]*``.
    label_en, label_zh : str
        Human labels, e.g. ``"orders in the last 90 days"`` / ``"近90天订单数"``.
    unit : str
        One of :data:`UNITS`. ``"money"`` renders in ``currency``
        (``¥1,200``, ``$1,200``); ``"yuan"`` is its old name; ``"share"`` and
        ``"rate"`` are fractions rendered as percentages.
    kind : str
        ``"numeric"`` or ``"categorical"``.
    skewed : bool
        Heavy-tailed count or money: the pipeline applies ``log1p`` before scaling.
    decimals : int
        Digits shown when rendering thresholds (for shares: digits of the percentage).
    currency : str
        ISO 4217 code of a money feature's amounts (``"money"`` and ``"yuan"`` units);
        the feature registry fills in the shop's currency.
    """

    name: str
    label_en: str
    label_zh: str
    unit: str = ""
    kind: str = "numeric"
    skewed: bool = False
    decimals: int = 0
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not FEATURE_NAME_RE.match(self.name):
            raise ValueError(f"invalid feature name {self.name!r}: use [a-z_][a-z0-9_]*")
        if self.unit not in UNITS:
            raise ValueError(f"feature {self.name!r}: unknown unit {self.unit!r}")
        if self.kind not in KINDS:
            raise ValueError(f"feature {self.name!r}: unknown kind {self.kind!r}")
        if not isinstance(self.decimals, int) or not 0 <= self.decimals <= 6:
            raise ValueError(f"feature {self.name!r}: decimals must be an int in 0..6")
        if not (isinstance(self.currency, str) and len(self.currency) == 3
                and self.currency.isalpha() and self.currency.isupper()):
            raise ValueError(f"feature {self.name!r}: currency must be an ISO 4217 code")

    def label(self, lang: str = "en") -> str:
        """Return the label in ``lang`` (``"en"`` or ``"zh"``)."""
        return self.label_zh if lang == "zh" else self.label_en


def make_catalog(features: Iterable[FeatureInfo]) -> Mapping[str, FeatureInfo]:
    """Index feature infos by name, refusing duplicates.

    Parameters
    ----------
    features : iterable of FeatureInfo

    Returns
    -------
    dict
        ``{name: FeatureInfo}`` in the given order.
    """
    catalog: dict[str, FeatureInfo] = {}
    for info in features:
        if info.name in catalog:
            raise ValueError(f"feature {info.name!r} declared twice")
        catalog[info.name] = info
    return catalog
