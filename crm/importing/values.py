"""Parsers for one cell: text as a spreadsheet writes it, to a typed value.

Each parser takes a stripped, non-empty string and returns the value or raises
``ValueError`` with a short reason a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from ..models import ConsentStatus, Gender, OrderStatus, normalize_email

Parser = Callable[[str], Any]

# --- text -------------------------------------------------------------------


# A quote before a formula-like text is how exports neutralize it (crm.exporting): drop it.
_NEUTRALIZED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def text_parser(max_length: int) -> Parser:
    """A parser keeping text as is (formulas included), refusing what does not fit."""

    def parse(value: str) -> str:
        if value[0] == "'" and value.startswith(_NEUTRALIZED):
            value = value[1:]
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return value

    return parse


_validate_email = EmailValidator()
# The plain ASCII addresses EmailValidator accepts, checked without its lazy regexes;
# anything else (quoted local parts, IDN domains, localhost) goes to EmailValidator.
_PLAIN_EMAIL_RE = re.compile(
    r"[-!#$%&'*+/=?^_`{}|~0-9a-z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}(?<!-)"
)


def parse_email(value: str) -> str:
    """Trim, lower-case and validate an address (Django's EmailValidator)."""
    email = normalize_email(value) or ""
    if len(email) > 254:
        raise ValueError("email address longer than 254 characters")
    if _PLAIN_EMAIL_RE.fullmatch(email):
        return email
    try:
        _validate_email(email)
    except ValidationError:
        raise ValueError("not a valid email address") from None
    return email


def _choice_parser(table: dict[str, str], what: str) -> Parser:
    table = {key.casefold(): choice for key, choice in table.items()}

    def parse(value: str) -> str:
        try:
            return table[value.casefold()]
        except KeyError:
            raise ValueError(f"unknown {what}") from None

    return parse


parse_gender = _choice_parser(
    {
        "female": Gender.FEMALE, "f": Gender.FEMALE, "woman": Gender.FEMALE,
        "女": Gender.FEMALE, "女性": Gender.FEMALE,
        "male": Gender.MALE, "m": Gender.MALE, "man": Gender.MALE,
        "男": Gender.MALE, "男性": Gender.MALE,
        "other": Gender.OTHER, "o": Gender.OTHER, "non-binary": Gender.OTHER,
        "nonbinary": Gender.OTHER, "diverse": Gender.OTHER, "其他": Gender.OTHER,
        "unknown": Gender.UNKNOWN, "u": Gender.UNKNOWN, "未知": Gender.UNKNOWN,
        "prefer not to say": Gender.UNKNOWN,
    },
    "gender (expected Male, Female, M, F, 男, 女 or Other)",
)

parse_consent = _choice_parser(
    {
        **dict.fromkeys(
            ["granted", "yes", "y", "true", "1", "opt-in", "opted in", "subscribed",
             "是", "同意"],
            ConsentStatus.GRANTED,
        ),
        **dict.fromkeys(
            ["withdrawn", "no", "n", "false", "0", "opt-out", "opted out", "unsubscribed",
             "否", "拒绝"],
            ConsentStatus.WITHDRAWN,
        ),
        "unknown": ConsentStatus.UNKNOWN, "未知": ConsentStatus.UNKNOWN,
    },
    "consent status (expected granted, withdrawn or unknown)",
)

_parse_order_status = _choice_parser(
    {
        **dict.fromkeys(
            ["completed", "complete", "paid", "done", "delivered", "shipped", "fulfilled",
             "processing", "partially_refunded", "partially refunded", "已完成", "完成"],
            OrderStatus.COMPLETED,
        ),
        **dict.fromkeys(["cancelled", "canceled", "voided", "failed", "已取消", "取消"],
                        OrderStatus.CANCELLED),
        **dict.fromkeys(["refunded", "returned", "refund", "已退款", "退款"],
                        OrderStatus.REFUNDED),
    },
    "order status (expected completed, cancelled or refunded)",
)


def parse_order_status(value: str) -> str:
    """An order's status; shops' own words (Shopify's "paid", WooCommerce's
    "wc-processing") included."""
    if value[:3].casefold() == "wc-":
        value = value[3:]
    return _parse_order_status(value)


def parse_currency(value: str) -> str:
    """A three-letter ISO 4217 code, or a known symbol (¥, $, €, £)."""
    code = _CURRENCY_WORDS.get(value.casefold(), value.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("not a three-letter currency code")
    return code


# --- numbers ----------------------------------------------------------------

_CURRENCY_WORDS = {
    "¥": "CNY", "￥": "CNY", "元": "CNY", "rmb": "CNY", "cny": "CNY",
    "$": "USD", "us$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP",
}
_MONEY_RE = re.compile(
    r"^(?P<sign1>[-+]?)\s*(?P<pre>[^\d\s.,+\-()]*)\s*(?P<sign2>[-+]?)\s*"
    r"(?P<number>\d[\d,.\s\u00a0\u202f']*)\s*(?P<post>[^\d\s.,]*)$"
)
_THOUSANDS_RE = re.compile(r"^\d{1,3}(,\d{3})+$")
_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal(10) ** 12


def parse_money(value: str) -> tuple[Decimal, str | None]:
    """A money amount such as ``1,234.50``, ``¥1,234.50`` or ``1.234,50 €``.

    Returns the amount rounded to cents and the currency its symbol names, if any.
    """
    negative = False
    if value.startswith("(") and value.endswith(")"):  # accounting style
        negative, value = True, value[1:-1].strip()
    match = _MONEY_RE.match(value)
    if not match:
        raise ValueError("not an amount")
    symbol = (match["pre"] or match["post"]).casefold()
    currency = None
    if symbol:
        currency = _CURRENCY_WORDS.get(symbol)
        if currency is None and re.fullmatch(r"[a-z]{3}", symbol):
            currency = symbol.upper()
        if currency is None:
            raise ValueError("not an amount")
    negative ^= "-" in (match["sign1"] + match["sign2"])
    number = re.sub(r"[\s\u00a0\u202f']", "", match["number"])
    if "," in number and "." in number:
        # The last of the two is the decimal separator.
        if number.rfind(",") > number.rfind("."):
            number = number.replace(".", "").replace(",", ".")
        else:
            number = number.replace(",", "")
    elif "," in number:
        if _THOUSANDS_RE.match(number):
            number = number.replace(",", "")
        elif number.count(",") == 1:
            number = number.replace(",", ".")
        else:
            raise ValueError("not an amount")
    try:
        amount = Decimal(number).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError("not an amount") from None
    if amount >= _MAX_AMOUNT:
        raise ValueError("amount too large")
    return (-amount if negative else amount), currency


def parse_amount(value: str) -> Decimal:
    """The amount of :func:`parse_money`, without its currency."""
    return parse_money(value)[0]


_INT_RE = re.compile(r"^[-+]?\d+(\.0*)?$")


def parse_count(value: str) -> int:
    """A whole number, zero or more (``7`` or ``7.0``)."""
    if not _INT_RE.match(value):
        raise ValueError("not a whole number")
    number = int(float(value)) if "." in value else int(value)
    if number < 0:
        raise ValueError("must not be negative")
    if number > 2_147_483_647:
        raise ValueError("too large")
    return number


def parse_age(value: str) -> int:
    """An age in whole years, 0 to 130."""
    age = parse_count(value)
    if age > 130:
        raise ValueError("not a plausible age")
    return age


_ATTR_INT_RE = re.compile(r"^-?(0|[1-9]\d{0,17})$")
_ATTR_FLOAT_RE = re.compile(r"^-?(0|[1-9]\d*)\.\d+$")


def parse_attribute(value: str) -> Any:
    """An extra column's value: numbers and true/false typed, anything else text.

    Numbers with leading zeros or a leading ``+`` (postcodes, phone numbers) stay text.
    """
    first = value[0]
    if first.isdigit() or first == "-":
        if _ATTR_INT_RE.match(value):
            return int(value)
        if _ATTR_FLOAT_RE.match(value):
            return float(value)
    elif first == "'" and value.startswith(_NEUTRALIZED):
        return value[1:]
    elif first in "tTfF":
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return value


# --- dates ------------------------------------------------------------------

_NUMERIC_DATE_RE = re.compile(
    r"^(?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?:(?:[ T]+|T)(?P<time>.+))?$"
)
_COMPACT_DATE_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:[ T]?(?P<time>.+))?$")
_CHINESE_DATE_RE = re.compile(
    r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?(?:\s*(?P<time>.+))?$"
)
_TIME_RE = re.compile(
    r"^(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2})(?:\.(?P<f>\d{1,6})\d*)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_EXCEL_SERIAL_RE = re.compile(r"^\d{5,7}(\.\d+)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_NAMED_MONTH_FORMATS = ("%d %b %Y", "%d-%b-%Y", "%b %d, %Y", "%B %d, %Y", "%d %B %Y", "%b %d %Y")
AMBIGUOUS = "ambiguous date (day or month first?); give a date format such as %d/%m/%Y"


def _parse_time(text: str | None) -> tuple[time, tzinfo | None]:
    if not text:
        return time(), None
    match = _TIME_RE.match(text.strip())
    if not match:
        raise ValueError("not a time of day")
    hour, minute = int(match["h"]), int(match["mi"])
    second = int(match["s"] or 0)
    micro = int((match["f"] or "0").ljust(6, "0"))
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueError("not a time of day")
        hour = hour % 12 + (12 if match["ampm"][0] in "Pp" else 0)
    offset = None
    if match["tz"]:
        offset = datetime.fromisoformat(f"2000-01-01T00:00:00{match['tz']}").tzinfo
    return time(hour, minute, second, micro), offset


def _day_month_order(a: int, b: int, sep: str) -> tuple[int, int]:
    """Day and month of ``a/b/yyyy``: dots are day first; else whichever is unambiguous."""
    if sep == "." or (a > 12 >= b):
        return a, b
    if b > 12 >= a:
        return b, a
    if a == b:
        return a, b
    raise ValueError(AMBIGUOUS)


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("not a valid date") from None


def _detect(value: str) -> tuple[date, time, tzinfo | None]:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        return parsed.date(), parsed.timetz().replace(tzinfo=None), parsed.tzinfo
    match = _NUMERIC_DATE_RE.match(value)
    if match:
        a, b, c = match["a"], int(match["b"]), match["c"]
        if len(a) == 4:
            year, month, day = int(a), b, int(c)
        elif len(c) == 4:
            day, month = _day_month_order(int(a), b, match["sep"])
            year = int(c)
        else:
            raise ValueError("year must have four digits, or give a date format such as %d/%m/%y")
        return _make_date(year, month, day), *_parse_time(match["time"])
    match = _CHINESE_DATE_RE.match(value) or _COMPACT_DATE_RE.match(value)
    if match:
        day = _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
        return day, *_parse_time(match["time"])
    if _EXCEL_SERIAL_RE.match(value) and 10_000 <= float(value) <= 2_958_465:
        moment = _EXCEL_EPOCH + timedelta(days=float(value))
        moment = moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))
        return moment.date(), moment.time(), None
    for fmt in _NAMED_MONTH_FORMATS:
        try:
            return datetime.strptime(value, fmt).date(), time(), None
        except ValueError:
            continue
    raise ValueError("not a date")


def _with_format(value: str, date_format: str) -> tuple[date, time, tzinfo | None] | None:
    for fmt in (date_format, f"{date_format} %H:%M:%S", f"{date_format} %H:%M"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.date(), parsed.time(), None
    return None


@lru_cache(maxsize=8192)
def _parse_moment(value: str, date_format: str) -> tuple[date, time, tzinfo | None]:
    if not date_format:
        return _detect(value)
    parsed = _with_format(value, date_format)
    if parsed is not None:
        return parsed
    try:
        return _detect(value)
    except ValueError:
        raise ValueError(f"not a date in the format {date_format}") from None


def parse_date(value: str, date_format: str = "") -> date:
    """A calendar date as spreadsheets write it (ISO, 2024/03/20, 20/03/2024, Excel serial...).

    Day-first or month-first is decided when the value is unambiguous (20/03 or 03/20);
    otherwise ``date_format`` (strptime) must say which.
    """
    if not date_format:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return _parse_moment(value, date_format)[0]


def parse_datetime(value: str, date_format: str = "", tz: tzinfo | None = None) -> datetime:
    """A date with an optional time of day, aware: naive values are in ``tz``."""
    if not date_format:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment
            if tz is None:
                raise ValueError("no time zone for a naive date")
            return moment.replace(tzinfo=tz)
    return _parse_datetime(value, date_format, tz)


def date_parser(date_format: str = "") -> Parser:
    """:func:`parse_date` with its format fixed (what a column's cells are parsed with)."""
    if date_format:
        return lambda value: _parse_moment(value, date_format)[0]
    from_iso = date.fromisoformat

    def parse(value: str) -> date:
        try:
            return from_iso(value)
        except ValueError:
            return _parse_moment(value, "")[0]

    return parse


def datetime_parser(date_format: str, tz: tzinfo) -> Parser:
    """:func:`parse_datetime` with its format and time zone fixed."""
    if date_format:
        return lambda value: _parse_datetime(value, date_format, tz)
    from_iso = datetime.fromisoformat

    def parse(value: str) -> datetime:
        try:
            moment = from_iso(value)
        except ValueError:
            return _parse_datetime(value, "", tz)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)

    return parse


@lru_cache(maxsize=8192)
def _parse_datetime(value: str, date_format: str, tz: tzinfo | None) -> datetime:
    day, clock, offset = _parse_moment(value, date_format)
    moment = datetime.combine(day, clock)
    if offset is not None:
        return moment.replace(tzinfo=offset)
    if tz is None:
        raise ValueError("no time zone for a naive date")
    return moment.replace(tzinfo=tz)
