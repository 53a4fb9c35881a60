"""Segment names and descriptions without a language model.

A segment is named RFM-style: "Recent high spenders" / "近期高消费客户",
"Lapsed customers" / "流失客户", "New customers" / "新客户". Built-in
features have meanings below; any other feature falls back to
"High <label>" / "<label>较高". Names are unique within a run: a
distinguishing trait is added (with rules: a further guaranteed word, else a
bound every member meets, "Lapsed customers, total spend more than ¥300"),
then a number as the last resort. A segment whose clauses share no word is
named by a word of each clause, "New or bargain customers" / "新客户或低客单价客户".

Names come from the rule
------------------------
Given the segment's rule, a word may only say what the rule guarantees of
every member against the shop: "recent" needs every clause of the rule to
bound the time since the last order at or below the shop's median (and the
members' median to sit below it too), "high spenders" a lower bound on total
spend at or above the shop's median. Among those words the strongest
(largest distance of the members from the whole, in standard deviations)
come first. So no word of a name contradicts a member;
:func:`name_contradictions` checks a name against a rule and the shop's
medians, and the tests run it on every segment of every run they make.
A word speaks of the members whose value is known: a bound that also lets
unknown values in ("age at most 30 (or unknown)") still guarantees "young",
and a member whose age is unknown does not contradict it.
Without rules (``rules=None``) names follow the z-scores alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..rules.ast import Clause, Condition, Rule
from ..rules.catalog import FeatureInfo
from ..rules.text import format_value, render_text

__all__ = [
    "SEMANTICS",
    "SegmentName",
    "describe_segment",
    "guaranteed",
    "name_agrees_with_rule",
    "name_contradictions",
    "name_segments",
]

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
    direction: str = ""  # "low" / "high" (rule-based traits)


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


def guaranteed(rule: Rule, feature: str, direction: str, shop: float) -> bool:
    """Whether every member of ``rule`` has ``feature`` on ``direction``'s side of ``shop``.

    True when each clause bounds the feature: ``<= v`` / ``< v`` / ``== v``
    with ``v <= shop`` for ``"low"``, ``>= v`` / ``> v`` / ``== v`` with
    ``v >= shop`` for ``"high"`` (a member at the shop's value itself counts as
    on the side). A bound with ``or_unknown`` counts: it bounds every known
    value, and an unknown one is no evidence against the word.
    """
    if not rule.clauses:
        return False
    ops = ("<", "<=", "==") if direction == "low" else (">", ">=", "==")
    for clause in rule.clauses:
        if not any(
            c.feature == feature
            and c.op in ops
            and not isinstance(c.value, str | bool)
            and (float(c.value) <= shop if direction == "low" else float(c.value) >= shop)
            for c in clause.conditions
        ):
            return False
    return True


def _word(feature: str, direction: str, z: float, catalog: Mapping[str, FeatureInfo]) -> _Trait:
    if feature in SEMANTICS and direction in SEMANTICS[feature]:
        en, zh, role = SEMANTICS[feature][direction]
        return _Trait(feature, z, en, zh, role, direction)
    p_en, p_zh = _phrase(feature, 1.0 if direction == "high" else -1.0, catalog)
    return _Trait(feature, z, p_en, p_zh, "generic", direction)


def _rule_traits(
    rule: Rule,
    z: Mapping[str, float],
    profile: Mapping[str, Mapping[str, float | None]],
    catalog: Mapping[str, FeatureInfo],
    check_side: bool = True,
) -> list[_Trait]:
    """Words the rule guarantees of every member, strongest first (with ``check_side``,
    only where the members' median sits on the word's side too)."""
    out = []
    for feature, stats in profile.items():
        shop, members = stats.get("overall_median"), stats.get("median")
        if shop is None or members is None:
            continue
        for direction in ("low", "high"):
            side_ok = members <= shop if direction == "low" else members >= shop
            if (side_ok or not check_side) and guaranteed(rule, feature, direction, shop):
                out.append(_word(feature, direction, z.get(feature, 0.0), catalog))
    return sorted(out, key=lambda t: -abs(t.z))


def _shared_bounds(rule: Rule, z: Mapping[str, float]) -> list[Condition]:
    """Bounds every clause has on one feature and side, loosest value, strongest first."""
    if not rule.clauses:
        return []
    out = []
    for feature in sorted({c.feature for c in rule.clauses[0].conditions}):
        for ops, loosest in (((">", ">="), min), (("<", "<="), max)):
            per_clause = []
            for clause in rule.clauses:
                bounds = [c for c in clause.conditions if c.feature == feature and c.op in ops
                          and not isinstance(c.value, str | bool)]
                if not bounds:
                    break
                per_clause.append(loosest(bounds, key=lambda c: float(c.value)))
            else:
                value = loosest(float(c.value) for c in per_clause)
                same = [c for c in per_clause if float(c.value) == value]
                # at equal values the non-strict operator is the looser one
                out.append(next((c for c in same if c.op in (">=", "<=")), same[0]))
    return sorted(out, key=lambda c: -abs(z.get(c.feature, 0.0)))


def _rule_phrase(
    rule: Rule, z: Mapping[str, float], catalog: Mapping[str, FeatureInfo],
    skip: set[str] = frozenset(), count: int = 2, avoid: set[Condition] = frozenset(),
) -> tuple[str, str, set[str]] | None:
    """The rule's shared bounds as words ("orders at least 6, recency at most 100 days").

    At most ``count`` features, none of ``skip``, no bound of ``avoid``;
    returns ``(en, zh, features)``.
    """
    bounds = [c for c in _shared_bounds(rule, z) if c.feature not in skip and c not in avoid]
    features = list(dict.fromkeys(c.feature for c in bounds))[:count]
    if not features:
        return None
    parts = []
    for feature in features:  # both bounds of a feature read as one range
        mine = tuple(c for c in bounds if c.feature == feature)
        parts.append(Rule((Clause(mine),)))
    en = ", ".join(render_text(p, catalog, "en") for p in parts)
    zh = "，".join(render_text(p, catalog, "zh") for p in parts)
    return en, zh, set(features)


def _either_name(
    rule: Rule,
    z: Mapping[str, float],
    profile: Mapping[str, Mapping[str, float | None]],
    catalog: Mapping[str, FeatureInfo],
) -> tuple[str, str, set[str]] | None:
    """"New or bargain customers": the strongest word each clause guarantees of its
    members, joined by "or" (every member meets one clause, so one of the words holds).

    None unless every clause guarantees a word and they are not all the same word.
    """
    words: list[_Trait] = []
    for clause in rule.clauses:
        found = _rule_traits(Rule((clause,)), z, profile, catalog, check_side=False)
        if not found:
            return None
        if all(found[0].en != w.en for w in words):
            words.append(found[0])
    if len(words) < 2:
        return None
    # In the features' order, not by strength: segments with the same words get the
    # same name, which the disambiguation then tells apart.
    order = list(profile)
    words.sort(key=lambda w: (order.index(w.feature), w.direction))
    en_parts = [w.en if w.role == "noun" else f"{w.en} {_DEFAULT_NOUN[0]}" for w in words]
    if all(w.role != "noun" for w in words):  # "new or bargain customers"
        en_parts = [w.en for w in words[:-1]] + [en_parts[-1]]
    en = ", ".join(en_parts[:-1]) + " or " + en_parts[-1]
    zh = "或".join(w.zh if w.role == "noun" else w.zh + _DEFAULT_NOUN[1] for w in words)
    return en, zh, {w.feature for w in words}


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
    rules: Sequence[Rule] | None = None,
) -> list[SegmentName]:
    """Name and describe every segment of a run, names unique in each language.

    Parameters
    ----------
    zscores : sequence of mapping
        Per segment, ``{feature: z}`` (mean of the scaled feature in the segment).
    profiles : sequence of mapping
        Per segment, the raw-unit profile (see :func:`describe_segment`).
    catalog : mapping of str to FeatureInfo
    rules : sequence of Rule, optional
        Each segment's rule; when given, a name only uses words the rule
        guarantees of every member (see the module docstring).

    Returns
    -------
    list of SegmentName
    """
    bases = []
    for a, z in enumerate(zscores):
        if rules is None:
            traits = _traits(z, catalog)
        else:
            traits = _rule_traits(rules[a], z, profiles[a], catalog)
        en, zh, used = _base_name(traits)
        if rules is not None and not traits:  # no word holds for every member:
            # a word for each clause ("New or bargain customers"), else the shared bounds
            fallback = (_either_name(rules[a], z, profiles[a], catalog)
                        or _rule_phrase(rules[a], z, catalog))
            if fallback is not None:
                en, zh, used = fallback
                en = en[0].upper() + en[1:]
        bases.append([en, zh, used, traits])
    _disambiguate(bases, zscores, catalog, rules)
    out = []
    for (en, zh, _, _), z, profile in zip(bases, zscores, profiles, strict=True):
        d_en, d_zh = describe_segment(profile, z, catalog)
        out.append(SegmentName(en, zh, d_en, d_zh))
    return out


def _disambiguate(bases: list[list], zscores, catalog, rules: Sequence[Rule] | None) -> None:
    """Make names unique: a further word, else (with rules) a bound, numbers last."""
    by_rule = rules is not None
    for lang in (0, 1):
        groups: dict[str, list[int]] = {}
        for i, b in enumerate(bases):
            groups.setdefault(b[lang], []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            for i in members:  # add the strongest trait not yet in the name
                en, zh, used, traits = bases[i]
                z = zscores[i]
                if by_rule:  # only words the rule guarantees, else one of its shared bounds
                    trait = next((t for t in traits if t.feature not in used), None)
                    if trait is not None:
                        sign = 1.0 if trait.direction == "high" else -1.0
                        p_en, p_zh = _phrase(trait.feature, sign, catalog)
                        extra = {trait.feature}
                    else:
                        # a bound the namesakes do not share tells them apart
                        others = {c for j in members if j != i
                                  for c in _shared_bounds(rules[j], zscores[j])}
                        bound = _rule_phrase(rules[i], z, catalog, skip=used, count=1,
                                             avoid=others)
                        if bound is None:
                            continue
                        p_en, p_zh, extra = bound
                    bases[i][0], bases[i][1] = f"{en}, {p_en}", f"{zh}（{p_zh}）"
                    used |= extra
                    continue
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


def _claims(catalog: Mapping[str, FeatureInfo]) -> list[tuple[re.Pattern, str, str, str]]:
    """(pattern, feature, direction, language) for every word a name can use."""
    out = []
    for feature, meanings in SEMANTICS.items():
        for direction, (en, zh, _) in meanings.items():
            out.append((re.compile(rf"(?<![\w-]){re.escape(en)}(?![\w-])", re.I), feature,
                        direction, "en"))
            out.append((re.compile(re.escape(zh)), feature, direction, "zh"))
    for feature in catalog:
        for direction in ("low", "high"):
            p_en, p_zh = _phrase(feature, 1.0 if direction == "high" else -1.0, catalog)
            out.append((re.compile(rf"(?<![\w-]){re.escape(p_en)}(?![\w-])", re.I), feature,
                        direction, "en"))
            out.append((re.compile(re.escape(p_zh)), feature, direction, "zh"))
    return out


def name_contradictions(
    name_en: str,
    name_zh: str,
    rule: Rule,
    shop_medians: Mapping[str, float | None],
    catalog: Mapping[str, FeatureInfo],
) -> list[str]:
    """Words of a segment's names that its rule does not guarantee of every member.

    Parameters
    ----------
    name_en, name_zh : str
    rule : Rule
        The segment's rule.
    shop_medians : mapping of str to float
        The shop's median of each feature (a segment profile's ``overall_median``).
    catalog : mapping of str to FeatureInfo

    Returns
    -------
    list of str
        One line per word that claims a side of the shop's median the rule
        does not bound every member to (a word shared by two features, like
        "frequent", passes if either holds); empty when the names agree. A name
        of alternatives ("New or bargain customers") agrees when each clause
        guarantees the words of one alternative.
    """
    claims = _claims(catalog)
    problems = []
    for lang, name in (("en", name_en), ("zh", name_zh)):
        parts = [_claimed(part, lang, claims) for part in _EITHER[lang].split(name)]
        parts = [part for part in parts if part]
        if len(parts) > 1:  # "new or bargain customers": each clause must make one part true
            if not all(any(_part_holds(part, Rule((clause,)), shop_medians) for part in parts)
                       for clause in rule.clauses):
                words = " / ".join(", ".join(part) for part in parts)
                problems.append(f"{lang} alternatives {words!r}: some clause guarantees none")
            continue
        for word, meanings in (parts[0] if parts else {}).items():
            if not _part_holds({word: meanings}, rule, shop_medians):
                problems.append(f"{lang} word {word!r} "
                                f"({', '.join(f'{f} {d}' for f, d in meanings)}) "
                                "is not guaranteed by the rule")
    return problems


#: Where a name lists alternatives ("New or bargain customers"); "(or unknown)" is no such place.
_EITHER = {"en": re.compile(r" or (?!unknown)"), "zh": re.compile(r"或(?!未知)")}


def _claimed(text: str, lang: str, claims) -> dict[str, list[tuple[str, str]]]:
    """The claim words in ``text``: word -> the (feature, direction) meanings it may have."""
    found: dict[str, list[tuple[str, str]]] = {}
    for pattern, feature, direction, claim_lang in claims:
        if claim_lang == lang:
            for match in pattern.finditer(text):
                found.setdefault(match.group(0).lower(), []).append((feature, direction))
    return found


def _part_holds(words: Mapping[str, list[tuple[str, str]]], rule: Rule,
                shop_medians: Mapping[str, float | None]) -> bool:
    """Whether the rule guarantees every word (a word with two meanings: either)."""
    return all(
        any(shop_medians.get(f) is not None and guaranteed(rule, f, d, float(shop_medians[f]))
            for f, d in meanings)
        for meanings in words.values()
    )


def name_agrees_with_rule(
    name_en: str,
    name_zh: str,
    rule: Rule,
    shop_medians: Mapping[str, float | None],
    catalog: Mapping[str, FeatureInfo],
) -> bool:
    """Whether no word of the names contradicts a member (see :func:`name_contradictions`)."""
    return not name_contradictions(name_en, name_zh, rule, shop_medians, catalog)
