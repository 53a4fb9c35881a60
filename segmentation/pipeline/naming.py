"""Segment names and descriptions without a language model.

A segment is named RFM-style from the features where it differs most from
the whole (z-scores of the scaled features): "Recent high spenders" /
"近期高消费客户", "Lapsed customers" / "流失客户", "New customers" / "新客户".
Built-in features have meanings below; any other feature falls back to
"High <label>" / "<label>较高". Names are unique within a run: a
distinguishing trait is added, then a number as the last resort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..rules.catalog import FeatureInfo
from ..rules.text import format_value

__all__ = ["SEMANTICS", "SegmentName", "describe_segment", "name_segments"]

#: Trait threshold: |z| at which a feature counts as distinctive.
TRAIT_Z = 0.5

# feature -> direction -> (English word, Chinese word, role); role "noun" heads the name.
SEMANTICS: dict[str, dict[str, tuple[str, str, str]]] = {
    "recency_days": {"low": ("recent", "近期", "adj"), "high": ("lapsed", "流失", "adj")},
    "frequency": {"high": ("loyal", "忠实", "adj"), "low": ("occasional", "偶尔购买", "adj")},
    "orders_90d": {"high": ("frequent", "高频", "adj"), "low": ("inactive", "沉寂", "adj")},
    "total_spend": {
        "high": ("high spenders", "高消费客户", "noun"),
        "low": ("low spenders", "低消费客户", "noun"),
    },
    "avg_order_value": {
        "high": ("premium", "高客单价", "adj"),
        "low": ("bargain", "低客单价", "adj"),
    },
    "tenure_days": {"low": ("new", "新", "adj"), "high": ("long-standing", "老", "adj")},
    "age_years": {"low": ("young", "年轻", "adj"), "high": ("older", "年长", "adj")},
    "mean_days_between_orders": {
        "low": ("frequent", "高频", "adj"),
        "high": ("infrequent", "低频", "adj"),
    },
    "top_category_share": {
        "high": ("category-focused", "专注品类", "adj"),
        "low": ("multi-category", "多品类", "adj"),
    },
    "sessions_30d": {"high": ("engaged", "活跃", "adj"), "low": ("quiet", "少访问", "adj")},
}

_BROWSERS = ("browsers", "浏览型客户", "noun")
_DEFAULT_NOUN = ("customers", "客户")
_TYPICAL = ("Typical customers", "普通客户")


@dataclass(frozen=True)
class SegmentName:
    """A segment's names and descriptions in both languages."""

    name_en: str
    name_zh: str
    description_en: str
    description_zh: str


@dataclass(frozen=True)
class _Trait:
    feature: str
    z: float
    en: str
    zh: str
    role: str  # "adj", "noun" or "generic"


def _traits(z: Mapping[str, float], catalog: Mapping[str, FeatureInfo]) -> list[_Trait]:
    out = []
    for feature, value in sorted(z.items(), key=lambda kv: -abs(kv[1])):
        if abs(value) < TRAIT_Z:
            continue
        direction = "high" if value > 0 else "low"
        if feature in SEMANTICS and direction in SEMANTICS[feature]:
            en, zh, role = SEMANTICS[feature][direction]
        else:
            info = catalog.get(feature)
            label_en = info.label_en if info else feature
            label_zh = info.label_zh if info else feature
            en, zh, role = (
                f"{direction} {label_en}",
                f"{label_zh}{'较高' if value > 0 else '较低'}",
                "generic",
            )
        out.append(_Trait(feature, value, en, zh, role))
    orders = min(z.get("orders_90d", 0.0), z.get("frequency", 0.0))
    if z.get("sessions_30d", 0.0) >= TRAIT_Z and orders <= -0.3:
        out.insert(0, _Trait("sessions_30d", z["sessions_30d"], *_BROWSERS))
    return out


def _base_name(traits: list[_Trait]) -> tuple[str, str, set[str]]:
    known = [t for t in traits if t.role != "generic"]
    if not known:
        if not traits:
            return (*_TYPICAL, set())
        t = traits[0]
        return t.en[0].upper() + t.en[1:], t.zh, {t.feature}
    noun = next((t for t in known if t.role == "noun"), None)
    used = {noun.feature} if noun else set()
    adjectives: list[_Trait] = []
    for t in known:
        if t.role == "adj" and t.feature not in used and len(adjectives) < 2:
            if all(t.en != a.en for a in adjectives):
                adjectives.append(t)
                used.add(t.feature)
    noun_en, noun_zh = (noun.en, noun.zh) if noun else _DEFAULT_NOUN
    en = " ".join([a.en for a in adjectives] + [noun_en])
    zh = "".join(a.zh for a in adjectives) + noun_zh
    return en[0].upper() + en[1:], zh, used


def _phrase(feature: str, z: float, catalog: Mapping[str, FeatureInfo]) -> tuple[str, str]:
    info = catalog.get(feature)
    label_en = info.label_en if info else feature
    label_zh = info.label_zh if info else feature
    return f"{'high' if z > 0 else 'low'} {label_en}", f"{label_zh}{'较高' if z > 0 else '较低'}"


def describe_segment(
    profile: Mapping[str, Mapping[str, float | None]],
    z: Mapping[str, float],
    catalog: Mapping[str, FeatureInfo],
    n_features: int = 3,
) -> tuple[str, str]:
    """One sentence per language naming the most distinctive features.

    Parameters
    ----------
    profile : mapping
        ``{feature: {mean, median, overall_mean, overall_median}}`` in raw units.
    z : mapping
        ``{feature: z-score}``; the largest ``|z|`` are described.
    catalog : mapping of str to FeatureInfo
    n_features : int

    Returns
    -------
    (description_en, description_zh)
    """
    chosen = [f for f, _ in sorted(z.items(), key=lambda kv: -abs(kv[1])) if f in profile]
    chosen = chosen[:n_features]
    if not chosen:
        return "Close to the average customer.", "与整体客户接近。"
    parts_en, parts_zh = [], []
    for feature in chosen:
        info = catalog.get(feature)
        stats = profile[feature]
        kind_en, kind_zh, seg, whole = "median", "中位数", stats["median"], stats["overall_median"]
        if seg is None or whole is None or seg == whole:
            kind_en, kind_zh, seg, whole = "mean", "均值", stats["mean"], stats["overall_mean"]
        if seg is None or whole is None:
            continue
        shown = FeatureInfo(
            feature if info is None else info.name,
            info.label_en if info else feature,
            info.label_zh if info else feature,
            info.unit if info else "",
            decimals=(info.decimals if info else 1) + (kind_en == "mean"),
        )
        s_en = format_value(seg, shown, "en", exact=False)
        w_en = format_value(whole, shown, "en", exact=False)
        s_zh = format_value(seg, shown, "zh", exact=False)
        w_zh = format_value(whole, shown, "zh", exact=False)
        higher = z[feature] > 0
        word = "higher" if higher else "lower"
        parts_en.append(f"{word} {shown.label_en} ({kind_en} {s_en} vs {w_en} overall)")
        parts_zh.append(
            f"{shown.label_zh}{'较高' if higher else '较低'}（{kind_zh}{s_zh}，整体{w_zh}）"
        )
    if not parts_en:
        return "Close to the average customer.", "与整体客户接近。"
    en = parts_en[0] if len(parts_en) == 1 else ", ".join(parts_en[:-1]) + " and " + parts_en[-1]
    return en[0].upper() + en[1:] + ".", "，".join(parts_zh) + "。"


def name_segments(
    zscores: Sequence[Mapping[str, float]],
    profiles: Sequence[Mapping[str, Mapping[str, float | None]]],
    catalog: Mapping[str, FeatureInfo],
) -> list[SegmentName]:
    """Name and describe every segment of a run, names unique in each language.

    Parameters
    ----------
    zscores : sequence of mapping
        Per segment, ``{feature: z}`` (mean of the scaled feature in the segment).
    profiles : sequence of mapping
        Per segment, the raw-unit profile (see :func:`describe_segment`).
    catalog : mapping of str to FeatureInfo

    Returns
    -------
    list of SegmentName
    """
    bases = []
    for z in zscores:
        traits = _traits(z, catalog)
        en, zh, used = _base_name(traits)
        bases.append([en, zh, used, traits])
    _disambiguate(bases, zscores, catalog)
    out = []
    for (en, zh, _, _), z, profile in zip(bases, zscores, profiles, strict=True):
        d_en, d_zh = describe_segment(profile, z, catalog)
        out.append(SegmentName(en, zh, d_en, d_zh))
    return out


def _disambiguate(bases: list[list], zscores, catalog) -> None:
    for lang in (0, 1):
        groups: dict[str, list[int]] = {}
        for i, b in enumerate(bases):
            groups.setdefault(b[lang], []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            for i in members:  # add the strongest trait not yet in the name
                en, zh, used, _ = bases[i]
                z = zscores[i]
                extra = next(
                    (f for f, _ in sorted(z.items(), key=lambda kv: -abs(kv[1])) if f not in used),
                    None,
                )
                if extra is None:
                    continue
                p_en, p_zh = _phrase(extra, z[extra], catalog)
                bases[i][0], bases[i][1] = f"{en}, {p_en}", f"{zh}（{p_zh}）"
                used.add(extra)
    for lang in (0, 1):  # last resort: numbers
        seen: dict[str, int] = {}
        for b in bases:
            seen[b[lang]] = seen.get(b[lang], 0) + 1
        count: dict[str, int] = {}
        for b in bases:
            if seen[b[lang]] > 1:
                count[b[lang]] = count.get(b[lang], 0) + 1
                b[lang] = f"{b[lang]} {count[b[lang]]}"
