"""Numbers for people: whole days, percentages, money in the shop's currency."""

from django.template import Context, Template
from django.utils import translation

from segmentation.templatetags.rulecast_format import count, money, percent, whole_days


def test_days_are_whole_and_shares_are_percentages():
    assert whole_days(1263.27135) == "1,263 days"
    assert whole_days(1) == "1 day"
    assert whole_days(None) == "—"
    with translation.override("zh-hans"):
        assert whole_days(1263.27135) == "1,263天"
    assert percent(0.5524042950513539) == "55%"
    assert percent(0.034) == "3.4%"
    assert percent(0.5524, 1) == "55.2%"
    assert count(1098) == "1,098"


def test_money_uses_the_shops_currency(settings):
    assert money(1263.2) == "¥1,263.20"
    settings.RULECAST_CRM = {"DEFAULT_CURRENCY": "USD"}
    assert money(-5) == "-$5.00"
    settings.RULECAST_CRM = {"DEFAULT_CURRENCY": "CHF"}
    assert money(10) == "CHF 10.00"


def test_the_filters_in_a_template():
    page = Template("{% load rulecast_format %}{{ d|whole_days }} {{ s|percent }} {{ m|money }}")
    assert page.render(Context({"d": 12.6, "s": 0.25, "m": 3})) == "13 days 25% ¥3.00"
