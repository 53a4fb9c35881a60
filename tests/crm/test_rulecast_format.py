"""Numbers for people: whole days, percentages, money in the shop's currency."""

import pytest
from django.template import Context, Template
from django.utils import translation

from crm.templatetags.rulecast_format import count, money, percent, whole_days


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


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


def test_the_customer_page_shows_amounts_with_their_currency(admin_client, db):
    from decimal import Decimal

    from django.utils import timezone

    from crm.models import Customer, Order

    customer = Customer.objects.create(email="m@example.com")
    Order.objects.create(customer=customer, external_id="o1", placed_at=timezone.now(),
                         amount=Decimal("1263.2"), currency="CNY")
    Order.objects.create(customer=customer, external_id="o2", placed_at=timezone.now(),
                         amount=Decimal("5"), currency="USD")
    page = admin_client.get(f"/admin/crm/customer/{customer.pk}/change/").content.decode()
    assert "¥1,263.20" in page and "$5.00" in page
