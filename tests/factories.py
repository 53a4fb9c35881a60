"""factory_boy factories for the test suite, one section per app."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from crm.models import ConsentStatus, Customer, Event, Gender, Order, OrderStatus

# --- crm ---------------------------------------------------------------------------------


class CustomerFactory(DjangoModelFactory):
    """A contactable customer (email, consent granted) who signed up a year ago."""

    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"C{n:06d}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Faker("name", locale="zh_CN")
    gender = Gender.FEMALE
    birth_date = date(1990, 5, 17)
    city = "上海"
    country = "CN"
    signed_up_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=365))
    consent_status = ConsentStatus.GRANTED
    consent_source = "signup form"
    consent_at = factory.SelfAttribute("signed_up_at")
    unsubscribed_at = None
    attributes = factory.Dict({})


class OrderFactory(DjangoModelFactory):
    """A completed order placed a week ago."""

    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=7))
    amount = Decimal("199.00")
    currency = "CNY"
    item_count = 1
    category = "服装"
    channel = "web"
    status = OrderStatus.COMPLETED


class EventFactory(DjangoModelFactory):
    """A session an hour ago."""

    class Meta:
        model = Event

    customer = factory.SubFactory(CustomerFactory)
    event_type = "session"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    properties = factory.Dict({"channel": "app"})
