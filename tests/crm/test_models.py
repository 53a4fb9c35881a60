from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import ConsentStatus, Customer, Order, OrderStatus, normalize_email
from tests.factories import CustomerFactory, EventFactory, OrderFactory

pytestmark = pytest.mark.django_db


def _years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a leap day)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("  Li.Wei@Example.COM ", "li.wei@example.com"), ("", None), ("   ", None), (None, None)],
)
def test_normalize_email(raw, stored):
    assert normalize_email(raw) == stored


def test_email_is_stored_trimmed_and_lower_cased():
    customer = CustomerFactory(email="  Zhang.San@Example.COM ")
    customer.refresh_from_db()
    assert customer.email == "zhang.san@example.com"


def test_blank_email_and_external_id_are_stored_as_null():
    with_id = CustomerFactory(email="", external_id=" shop-1 ")
    with_email = CustomerFactory(external_id="   ")
    with_id.refresh_from_db()
    with_email.refresh_from_db()
    assert with_id.email is None and with_id.external_id == "shop-1"
    assert with_email.external_id is None


def test_customers_without_email_do_not_clash():
    CustomerFactory(email=None)
    CustomerFactory(email=None)
    assert Customer.objects.filter(email__isnull=True).count() == 2


def test_email_uniqueness_ignores_case():
    CustomerFactory(email="wang.fang@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(email="Wang.Fang@EXAMPLE.com ")
    assert Customer.objects.count() == 1


def test_external_id_is_unique():
    CustomerFactory(external_id="C-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(external_id="C-1")


def test_customer_needs_an_email_or_an_external_id():
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="无名")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(email="  ", external_id="")
    assert not Customer.objects.exists()


def test_constraint_message_in_validation():
    with pytest.raises(ValidationError, match="needs an email or an external id"):
        Customer(name="Nobody").validate_constraints()


def test_age_from_birth_date():
    today = date.today()
    birthday_today = CustomerFactory.build(birth_date=_years_before(today, 30))
    birthday_tomorrow = CustomerFactory.build(
        birth_date=_years_before(today, 30) + timedelta(days=1)
    )
    birthday_yesterday = CustomerFactory.build(
        birth_date=_years_before(today, 30) - timedelta(days=1)
    )
    assert birthday_today.age == 30
    assert birthday_tomorrow.age == 29
    assert birthday_yesterday.age == 30
    assert CustomerFactory.build(birth_date=None).age is None


def test_str_prefers_email_then_name_then_external_id():
    assert str(CustomerFactory.build(email="a@example.com")) == "a@example.com"
    assert str(CustomerFactory.build(email=None, name="李娜")) == "李娜"
    assert str(CustomerFactory.build(email=None, name="", external_id="X1")) == "#X1"


def test_contactable_needs_email_consent_and_no_unsubscribe():
    ok = CustomerFactory()
    CustomerFactory(consent_status=ConsentStatus.UNKNOWN)
    CustomerFactory(consent_status=ConsentStatus.WITHDRAWN)
    CustomerFactory(unsubscribed_at=timezone.now())
    CustomerFactory(email=None)
    assert list(Customer.objects.contactable()) == [ok]


def test_completed_orders_exclude_cancelled_and_refunded():
    completed = OrderFactory()
    OrderFactory(customer=completed.customer, status=OrderStatus.CANCELLED)
    OrderFactory(customer=completed.customer, status=OrderStatus.REFUNDED)
    assert list(Order.objects.completed()) == [completed]
    assert list(completed.customer.orders.completed()) == [completed]


def test_factories_make_related_rows():
    event = EventFactory()
    order = OrderFactory(customer=event.customer)
    assert event.customer.events.get() == event
    assert order.customer.orders.get() == order
    assert order.amount.as_tuple().exponent == -2
    assert CustomerFactory().email != CustomerFactory().email
