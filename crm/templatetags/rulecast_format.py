"""Numbers for people on admin pages: whole days, percentages, money in the shop's currency.

Usable as template filters (``{% load rulecast_format %}`` then ``{{ run.share|percent }}``)
and as plain functions from admin code. The shop's currency is
``RULECAST_CRM["DEFAULT_CURRENCY"]`` (an ISO 4217 code); rule sentences get theirs
from the same setting (``segmentation.rules.text``), so the two meet only there.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.translation import gettext, ngettext

from ..conf import crm_settings
from ..currency import currency_symbol as symbol_in

register = template.Library()

EMPTY = "—"


def _as_float(value) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return None


def shop_currency() -> str:
    return str(crm_settings.DEFAULT_CURRENCY or "").upper()


def currency_symbol(code: str | None = None) -> str:
    """The currency's symbol in the active language, as rule sentences have it: "$" in
    English and "US$" in Chinese for USD, "¥" for CNY; an unknown code is followed by a space."""
    from django.utils.translation import get_language

    code = (code or shop_currency()).upper()
    symbol = symbol_in(code, get_language() or "en")
    return f"{symbol} " if symbol == code else symbol


@register.filter
def count(value) -> str:
    """``1263`` → ``1,263``."""
    number = _as_float(value)
    return EMPTY if number is None else f"{round(number):,}"


@register.filter
def whole_days(value) -> str:
    """``1263.27135`` → ``1,263 days`` (``1,263天`` in Chinese)."""
    number = _as_float(value)
    if number is None:
        return EMPTY
    days = round(number)
    return ngettext("%(n)s day", "%(n)s days", days) % {"n": f"{days:,}"}


@register.filter
def percent(value, decimals: int | None = None) -> str:
    """A share (0..1) as a percentage: ``0.5524`` → ``55%``; small shares keep a decimal."""
    number = _as_float(value)
    if number is None:
        return EMPTY
    pct = number * 100
    if decimals is None:
        decimals = 0 if abs(pct) >= 10 or pct == 0 else 1
    return f"{pct:,.{int(decimals)}f}%"


@register.filter
def money(value, code: str | None = None) -> str:
    """An amount in the shop's currency: ``1263.2`` → ``¥1,263.20``."""
    number = _as_float(value)
    if number is None:
        return EMPTY
    sign = "-" if number < 0 else ""
    return f"{sign}{currency_symbol(code)}{abs(number):,.2f}"


@register.filter
def seconds(value) -> str:
    """Durations of run stages: ``0.41`` → ``0.4 s``."""
    number = _as_float(value)
    return EMPTY if number is None else gettext("%(s)s s") % {"s": f"{number:,.1f}"}
