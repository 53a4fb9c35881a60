"""Parsing one cell: dates, amounts, genders, emails and extra columns."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.importing import values
from crm.importing.rows import estimate_birth_date

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-20", date(2024, 3, 20)),
        ("2024/03/20", date(2024, 3, 20)),
        ("2024/3/5", date(2024, 3, 5)),
        ("2024.03.20", date(2024, 3, 20)),
        ("20/03/2024", date(2024, 3, 20)),  # day first: 20 cannot be a month
        ("03/20/2024", date(2024, 3, 20)),  # month first: 20 cannot be a month
        ("20.03.2024", date(2024, 3, 20)),
        ("05.04.2024", date(2024, 4, 5)),  # dots are always day first
        ("2024年3月20日", date(2024, 3, 20)),
        ("20240320", date(2024, 3, 20)),
        ("45371", date(2024, 3, 20)),  # an Excel serial number
        ("2024-03-20 10:30:00", date(2024, 3, 20)),
        ("20 Mar 2024", date(2024, 3, 20)),
        ("04/04/2024", date(2024, 4, 4)),  # ambiguous in form only
    ],
)
def test_dates_as_spreadsheets_write_them(text, expected):
    assert values.parse_date(text) == expected


def test_an_ambiguous_date_needs_a_format():
    with pytest.raises(ValueError, match="ambiguous"):
        values.parse_date("03/04/2024")
    assert values.parse_date("03/04/2024", "%d/%m/%Y") == date(2024, 4, 3)
    assert values.parse_date("03/04/2024", "%m/%d/%Y") == date(2024, 3, 4)
    # ISO dates still read with a format given.
    assert values.parse_date("2024-04-03", "%d/%m/%Y") == date(2024, 4, 3)


@pytest.mark.parametrize("text", ["31/02/2020", "2024-13-01", "yesterday", "12/31/24", "1.5"])
def test_bad_dates_are_refused(text):
    with pytest.raises(ValueError):
        values.parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-20 14:30", datetime(2024, 3, 20, 14, 30, tzinfo=SHANGHAI)),
        ("2024-03-20T14:30:15", datetime(2024, 3, 20, 14, 30, 15, tzinfo=SHANGHAI)),
        ("2024-03-20", datetime(2024, 3, 20, tzinfo=SHANGHAI)),
        ("3/20/2024 2:30 PM", datetime(2024, 3, 20, 14, 30, tzinfo=SHANGHAI)),
        ("2024/03/20 08:05:09", datetime(2024, 3, 20, 8, 5, 9, tzinfo=SHANGHAI)),
        ("2024-03-20T06:30:00Z", datetime(2024, 3, 20, 6, 30, tzinfo=UTC)),
        ("2024-03-20 14:30:00+08:00", datetime(2024, 3, 20, 6, 30, tzinfo=UTC)),
        ("45371.5", datetime(2024, 3, 20, 12, 0, tzinfo=SHANGHAI)),
    ],
)
def test_datetimes_are_aware_in_the_current_zone(text, expected):
    parsed = values.parse_datetime(text, "", SHANGHAI)
    assert parsed == expected
    assert parsed.tzinfo is not None


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_read_back_in_every_unambiguous_form(day):
    assert values.parse_date(day.isoformat()) == day
    assert values.parse_date(day.strftime("%Y/%m/%d")) == day
    assert values.parse_date(day.strftime("%d/%m/%Y"), "%d/%m/%Y") == day
    if day.day > 12:
        assert values.parse_date(day.strftime("%d/%m/%Y")) == day
        assert values.parse_date(day.strftime("%m/%d/%Y")) == day


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("1,234.50", Decimal("1234.50"), None),
        ("¥1,234.50", Decimal("1234.50"), "CNY"),
        ("￥ 88", Decimal("88.00"), "CNY"),
        ("1.234,50 €", Decimal("1234.50"), "EUR"),
        ("12,5", Decimal("12.50"), None),
        ("-5", Decimal("-5.00"), None),
        ("(5.00)", Decimal("-5.00"), None),
        ("USD 10", Decimal("10.00"), "USD"),
        ("741.0899999", Decimal("741.09"), None),
        ("1 234,50", Decimal("1234.50"), None),
    ],
)
def test_amounts(text, amount, currency):
    assert values.parse_money(text) == (amount, currency)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "12..5", "¥", "1e5", "99999999999999"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(ValueError):
        values.parse_money(text)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2))
def test_amounts_read_back_as_spreadsheets_format_them(amount):
    assert values.parse_money(f"{amount:,.2f}")[0] == amount
    assert values.parse_money(f"¥{amount:.2f}")[0] == amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Male", "male"), ("M", "male"), ("男", "male"), ("female", "female"), ("F", "female"),
     ("女", "female"), ("Other", "other"), ("unknown", "")],
)
def test_genders(text, expected):
    assert values.parse_gender(text) == expected


def test_an_unknown_gender_is_refused():
    with pytest.raises(ValueError, match="gender"):
        values.parse_gender("yes")


@pytest.mark.parametrize(("text", "expected"), [("yes", "granted"), ("是", "granted"),
                                                ("opt-out", "withdrawn"), ("unknown", "unknown")])
def test_consent(text, expected):
    assert values.parse_consent(text) == expected


def test_emails_are_normalized_and_validated():
    assert values.parse_email(" Ann@Example.COM ") == "ann@example.com"
    assert values.parse_email("o'brien+tag@mail.example.co.uk") == "o'brien+tag@mail.example.co.uk"
    assert values.parse_email("user@bücher.de") == "user@bücher.de"  # IDN, via EmailValidator
    for bad in ["not-an-email", "a@b", "a@@b.com", "a b@c.com", "@example.com"]:
        with pytest.raises(ValueError, match="email"):
            values.parse_email(bad)


def test_extra_columns_keep_types_a_person_expects():
    assert values.parse_attribute("5") == 5
    assert values.parse_attribute("-5") == -5
    assert values.parse_attribute("1.5") == 1.5
    assert values.parse_attribute("TRUE") is True
    assert values.parse_attribute("00123") == "00123"  # a postcode stays text
    assert values.parse_attribute("+8613800000000") == "+8613800000000"
    assert values.parse_attribute("=1+2") == "=1+2"
    assert values.parse_attribute("'=1+2") == "=1+2"  # as exports neutralize it
    assert values.parse_attribute("'quoted") == "'quoted"


def test_text_longer_than_the_field_is_refused():
    parse = values.text_parser(5)
    assert parse("=A1") == "=A1"  # formulas are stored as text
    assert parse("'-A1") == "-A1"  # the quote an export adds is dropped
    with pytest.raises(ValueError, match="longer than 5"):
        parse("toolong")


def test_birth_date_estimated_from_an_age_on_a_day():
    estimate = estimate_birth_date(53, date(2024, 3, 20))
    assert estimate.year == 2024 - 53
    # Anyone born then is exactly 53 on the day.
    on = date(2024, 3, 20)
    assert on.year - estimate.year - ((on.month, on.day) < (estimate.month, estimate.day)) == 53
    assert estimate_birth_date(30, date(2024, 2, 29)) == date(1994, 1, 1) + timedelta(days=29)
