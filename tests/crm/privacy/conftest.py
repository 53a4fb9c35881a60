"""A customer with everything a shop can hold about them, for the privacy tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse

from campaigns import services as campaign_services
from campaigns.models import Campaign, Delivery, Link
from campaigns.services.provider_events import ProviderReport
from campaigns.tokens import make_token
from crm.models import ConsentStatus, Customer
from crm.privacy.models import ConsentSource, PendingSignup
from crm.privacy.services import set_consent
from segmentation.models import Segment
from tests.campaigns.conftest import (  # noqa: F401  (fixtures)
    SegmentMaker,
    make_campaign,
    make_segment,
    smtp,
    smtp_server,
)
from tests.factories import CustomerFactory, EventFactory, OrderFactory

USER_AGENT = "PrivacyProbe/7.1 (X11; Rulecast-test-agent)"


@dataclass
class Shop:
    ann: Customer  # the customer whose data is erased or exported
    bob: Customer
    segment: Segment
    campaign: Campaign
    delivery: Delivery
    link: Link


@pytest.fixture
def shop(db, make_segment, smtp, admin_user) -> Shop:  # noqa: F811  (imported fixtures)
    """Ann: orders, events, consent history, a sent email opened and clicked (with a user
    agent), a soft bounce naming her address, an admin history entry, a pending sign-up."""
    ann = CustomerFactory(email="ann.privacy@example.com", name="艾安妮Privacy",
                          external_id="SHOP-ANN-77", city="杭州",
                          attributes={"phone": "+86 138 0000 7777"})
    bob = CustomerFactory(email="bob.privacy@example.com", name="Bob Keeper")
    OrderFactory(customer=ann, amount=Decimal("120.00"),
                 attributes={"ship_to": "艾安妮Privacy, 1 West Lake Rd"})
    OrderFactory(customer=ann, amount=Decimal("80.00"))
    OrderFactory(customer=bob)
    EventFactory(customer=ann, properties={"email": "ann.privacy@example.com"})
    set_consent(customer=ann, status=ConsentStatus.WITHDRAWN, source=ConsentSource.ADMIN,
                actor=admin_user)
    set_consent(customer=ann, status=ConsentStatus.GRANTED, source=ConsentSource.API)

    segment = make_segment([ann, bob], name="Everyone")
    segment.rule = {"version": 1, "any": [{"all": [
        {"feature": "frequency", "op": ">=", "value": 1}]}]}
    segment.save(update_fields=["rule"])
    campaign = make_campaign([segment])
    campaign_services.launch_campaign(campaign=campaign)
    campaign_services.send_batch(campaign_id=campaign.pk)
    delivery = Delivery.objects.get(campaign=campaign, customer=ann)
    link = Link.objects.filter(campaign=campaign).first()
    client = Client(HTTP_USER_AGENT=USER_AGENT)
    token = make_token(delivery.pk)
    assert client.get(reverse("campaigns:open", args=[token])).status_code == 200
    assert client.get(reverse("campaigns:click", args=[link.pk, token])).status_code == 302
    campaign_services.record_provider_event(report=ProviderReport(
        esp_name="test", event_type="deferred", recipient=ann.email, event_id="ev-1",
        description=f"452 mailbox of {ann.email} is full",
    ))
    LogEntry.objects.create(
        user=admin_user, content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(ann.pk), object_repr=str(ann), action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Name"]}}]',
    )
    PendingSignup.objects.create(email=ann.email, name=ann.name)
    ann.refresh_from_db()
    return Shop(ann, bob, segment, campaign, delivery, link)
