"""Render rules as sentences in English and Simplified Chinese.

``render_text`` reads a rule aloud with the catalog's labels and units::

    orders in the last 90 days at least 3 and total spend more than ¥1,200
    近90天订单数至少3且累计消费超过¥1,200

Clauses are joined by "; or " / "；或". A lower and an upper bound on the same
feature read as one range ("total spend between ¥500 and ¥1,200"). Money
(units ``money`` and ``yuan``) reads in the feature's currency with the
symbol of the language (Unicode CLDR, through Babel): ``¥1,200`` for yuan in
both languages, ``$1,200`` / ``US$1,200`` for dollars; days "90 days" / "90天";
shares and rates are percentages. On counts (orders, sessions), "at most 0" reads
"no orders in the last 90 days" / "近90天订单数为0". A threshold is shown with the
feature's ``decimals`` unless that would round it, in which case as many more
digits as it needs are shown, so the text never states a different threshold
than the rule.

A condition that also holds for a missing value (``or_unknown``) reads with
"(or unknown)" / "（或未知）" after it: "age at most 30 years (or unknown)",
"年龄不超过30岁（或未知）"; a range reads that way when both its bounds have it.

Languages: ``"en"`` and ``"zh"`` (also ``"zh-hans"``, ``"zh-cn"``, ...); any
other language code falls back to English.
"""

from __future__ import annotations

from collections.abc import Mapping

from crm.currency import currency_symbol

from .ast import Clause, Condition, Rule
from .catalog import MONEY_UNITS, FeatureInfo

__all__ = [
    "PHRASES", "currency_symbol", "format_value", "normalise_lang", "render_condition",
    "render_text",
]

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        ">=": "{label} at least {value}",
        ">": "{label} more than {value}",
        "<=": "{label} at most {value}",
        "<": "{label} less than {value}",
        "==": "{label} exactly {value}",
        "!=": "{label} not equal to {value}",
        "in": "{label} one of {values}",
        "text ==": "{label} is {value}",
        "text !=": "{label} is not {value}",
        "text in": "{label} is {values}",
        "range [x]": "{label} between {low} and {high}",
        "range (x]": "{label} more than {low} and at most {high}",
        "range [x)": "{label} at least {low} and less than {high}",
        "range (x)": "{label} more than {low} and less than {high}",
        "and": " and ",
        "or": "; or ",
        "list_sep": ", ",
        "list_last": " or ",
        "nobody": "nobody",
        "everyone": "everyone",
        "none": "no {label}",
        "or_unknown": "{condition} (or unknown)",
    },
    "zh": {
        ">=": "{label}至少{value}",
        ">": "{label}超过{value}",
        "<=": "{label}不超过{value}",
        "<": "{label}低于{value}",
        "==": "{label}等于{value}",
        "!=": "{label}不等于{value}",
        "in": "{label}为{values}之一",
        "text ==": "{label}为{value}",
        "text !=": "{label}不是{value}",
        "text in": "{label}为{values}",
        "range [x]": "{label}在{low}到{high}之间",
        "range (x]": "{label}超过{low}且不超过{high}",
        "range [x)": "{label}至少{low}且低于{high}",
        "range (x)": "{label}超过{low}且低于{high}",
        "and": "且",
        "or": "；或",
        "list_sep": "、",
        "list_last": "或",
        "nobody": "无客户",
        "everyone": "所有客户",
        "none": "{label}为0",
        "or_unknown": "{condition}（或未知）",
    },
}

_PERCENT_UNITS = ("share", "rate")
#: Units counted in whole numbers: "at most 0" reads "no ...", thresholds show no decimals.
_COUNT_UNITS = ("orders", "sessions")


def _is_none_count(condition: Condition, info: FeatureInfo | None) -> bool:
    """``orders <= 0``, ``orders < 1``, ``orders == 0``: "no orders"."""
    if info is None or info.unit not in _COUNT_UNITS or isinstance(condition.value, str):
        return False
    if condition.op == "in" or isinstance(condition.value, bool):
        return False
    v = float(condition.value)
    return (condition.op == "<=" and 0 <= v < 1) or (condition.op == "<" and 0 < v <= 1) or (
        condition.op == "==" and v == 0
    )


def normalise_lang(lang: str) -> str:
    """Map a language code to ``"en"`` or ``"zh"`` (English for anything else)."""
    return "zh" if lang.lower().replace("_", "-").startswith("zh") else "en"


def _money(text: str, currency: str, lang: str) -> str:
    symbol = currency_symbol(currency, lang)
    if len(symbol) == 3 and symbol.isalpha():  # a bare code reads "EUR 1,200"
        symbol += "\u00a0"
    return "-" + symbol + text[1:] if text.startswith("-") else symbol + text


def _digits(value: float, decimals: int) -> int:
    """Fewest digits >= ``decimals`` that show ``value`` without rounding it."""
    for d in range(decimals, decimals + 8):
        if abs(round(value, d) - value) <= 1e-9 * max(1.0, abs(value)):
            return d
    return decimals + 8


def _number(value: float, decimals: int, exact: bool) -> str:
    d = _digits(value, decimals) if exact else decimals
    return f"{value:,.{d}f}"


def format_value(
    value: float | int | str, info: FeatureInfo | None, lang: str = "en", exact: bool = True
) -> str:
    """Format one value of a feature with its unit.

    Parameters
    ----------
    value : number or str
    info : FeatureInfo or None
        None formats a bare number.
    lang : str
        ``"en"`` or ``"zh"`` (other codes: English).
    exact : bool
        True (thresholds): add digits rather than round the value. False
        (statistics such as medians): round to ``info.decimals``.

    Returns
    -------
    str
        E.g. ``"¥1,200"``, ``"$1,200"`` (``"US$1,200"`` in Chinese), ``"90 days"``,
        ``"90天"``, ``"35%"``.
    """
    if isinstance(value, str):
        return value
    lang = normalise_lang(lang)
    decimals = info.decimals if info is not None else 0
    unit = info.unit if info is not None else ""
    if info is None and not float(value).is_integer():
        decimals = 2
    if unit in _PERCENT_UNITS:
        return _number(float(value) * 100.0, decimals, exact) + "%"
    text = _number(float(value), decimals, exact)
    if unit in MONEY_UNITS:
        return _money(text, info.currency, lang)
    if unit == "days":
        return f"{text}天" if lang == "zh" else f"{text} {'day' if text == '1' else 'days'}"
    if unit == "years":
        if lang == "zh":
            is_age = info.name.startswith("age") or "年龄" in info.label_zh
            return f"{text}{'岁' if is_age else '年'}"
        return f"{text} {'year' if text == '1' else 'years'}"
    return text


def _info(feature: str, catalog: Mapping[str, FeatureInfo]) -> FeatureInfo | None:
    return catalog.get(feature)


def _label(feature: str, info: FeatureInfo | None, lang: str) -> str:
    return info.label(lang) if info is not None else feature


def _join_list(items: list[str], phrases: Mapping[str, str]) -> str:
    if len(items) == 1:
        return items[0]
    return phrases["list_sep"].join(items[:-1]) + phrases["list_last"] + items[-1]


def render_condition(
    condition: Condition, catalog: Mapping[str, FeatureInfo], lang: str = "en"
) -> str:
    """Render one condition, e.g. ``"total spend more than ¥1,200"``.

    Parameters
    ----------
    condition : Condition
    catalog : mapping of str to FeatureInfo
        Features missing from it are shown by their column name.
    lang : str
        ``"en"``, ``"zh"``/``"zh-hans"``; anything else renders English.

    Returns
    -------
    str
    """
    lang = normalise_lang(lang)
    text = _render_test(condition, catalog, lang)
    return PHRASES[lang]["or_unknown"].format(condition=text) if condition.or_unknown else text


def _render_test(condition: Condition, catalog: Mapping[str, FeatureInfo], lang: str) -> str:
    """The condition's test on a present value, without "(or unknown)"."""
    phrases = PHRASES[lang]
    info = _info(condition.feature, catalog)
    label = _label(condition.feature, info, lang)
    values = condition.value if condition.op == "in" else (condition.value,)
    text = any(isinstance(v, str) for v in values) or (
        info is not None and info.kind == "categorical"
    )
    if not text and _is_none_count(condition, info):
        return phrases["none"].format(label=label)
    key = f"text {condition.op}" if text and condition.op in ("==", "!=", "in") else condition.op
    shown = [format_value(v, info, lang) for v in values]
    return phrases[key].format(label=label, value=shown[0], values=_join_list(shown, phrases))


def _render_clause(clause: Clause, catalog: Mapping[str, FeatureInfo], lang: str) -> str:
    phrases = PHRASES[lang]
    if not clause.conditions:
        return phrases["everyone"]
    lows: dict[str, list[Condition]] = {}
    highs: dict[str, list[Condition]] = {}
    for c in clause.conditions:
        if c.op in (">", ">="):
            lows.setdefault(c.feature, []).append(c)
        elif c.op in ("<", "<="):
            highs.setdefault(c.feature, []).append(c)
    ranged = {
        f for f in lows if len(lows[f]) == 1 and len(highs.get(f, ())) == 1
        and lows[f][0].or_unknown == highs[f][0].or_unknown  # one "(or unknown)" for both
    }
    parts: list[str] = []
    done: set[str] = set()
    for c in clause.conditions:
        if c.feature in ranged and c.op in ("<", "<=", ">", ">="):
            if c.feature in done:
                continue
            done.add(c.feature)
            low, high = lows[c.feature][0], highs[c.feature][0]
            if (low.op, high.op) == (">=", "<=") and low.value == high.value:
                # "orders between 1 and 1" reads "orders exactly 1"
                exact = Condition(c.feature, "==", low.value, low.or_unknown)
                parts.append(render_condition(exact, catalog, lang))
                continue
            info = _info(c.feature, catalog)
            left = "(" if low.op == ">" else "["
            key = f"range {left}x{')' if high.op == '<' else ']'}"
            text = phrases[key].format(
                label=_label(c.feature, info, lang),
                low=format_value(low.value, info, lang),
                high=format_value(high.value, info, lang),
            )
            parts.append(phrases["or_unknown"].format(condition=text) if low.or_unknown else text)
        else:
            parts.append(render_condition(c, catalog, lang))
    return phrases["and"].join(parts)


def render_text(rule: Rule, catalog: Mapping[str, FeatureInfo], lang: str = "en") -> str:
    """Render a rule as a readable sentence.

    Parameters
    ----------
    rule : Rule
    catalog : mapping of str to FeatureInfo
    lang : str
        ``"en"``, ``"zh"`` / ``"zh-hans"``; anything else renders English.

    Returns
    -------
    str
        Conditions joined by "and" / "且", clauses by "; or " / "；或".
        An empty rule reads "nobody" / "无客户"; an empty clause "everyone".
    """
    lang = normalise_lang(lang)
    phrases = PHRASES[lang]
    if not rule.clauses:
        return phrases["nobody"]
    return phrases["or"].join(_render_clause(c, catalog, lang) for c in rule.clauses)
