"""Currency symbols as a reader of each language knows them (Unicode CLDR, through Babel).

Plain Python, no Django: rule sentences (``segmentation.rules.text``) and the admin's
number filters (``crm.templatetags.rulecast_format``) both read their symbols here.
"""

from __future__ import annotations

from functools import lru_cache

#: CLDR locale whose currency symbols each language uses.
_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}


@lru_cache(maxsize=64)
def currency_symbol(currency: str, lang: str = "en") -> str:
    """The symbol a reader of ``lang`` knows ``currency`` by (``"$"``, ``"US$"``, ``"€"``).

    ``lang`` is ``"en"`` or Chinese (``"zh"``, ``"zh-hans"``, ...). Yuan is ``¥`` in both
    languages (CLDR's English ``CN¥`` is for readers abroad; Rulecast's yuan shops read
    ``¥``). Unknown codes are shown as the code itself.
    """
    code = currency.upper()
    if code == "CNY":
        return "¥"
    from babel.core import UnknownLocaleError
    from babel.numbers import get_currency_symbol

    locale = _LOCALES["zh" if lang.lower().startswith("zh") else "en"]
    try:
        return get_currency_symbol(code, locale)
    except (UnknownLocaleError, ValueError):  # pragma: no cover - CLDR ships both
        return code
