"""Double opt-in: consent only after the emailed link is confirmed; a link that is
edited, reused or expired is refused and changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import ConsentStatus, Customer
from crm.privacy.models import ConsentRecord, ConsentSource, ErasedAddress, PendingSignup
from crm.privacy.services import address_digest

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]

EMAIL = "new.reader@example.com"


def signup(client, smtp, email: str = EMAIL) -> str:
    """Sign up with the form; return the path of the link the email holds."""
    page = client.get(reverse("crm:signup"))
    assert page.status_code == 200
    response = client.post(reverse("crm:signup"),
                           {"email": email, "name": "Reader", "agree": "on"})
    assert response.status_code == 200 and "inbox" in response.content.decode()
    [message] = smtp.messages_to(email)
    text = message.get_body(preferencelist=("plain",)).get_content()
    url = re.search(r"https?://\S+", text).group(0)
    return urlsplit(url).path


def state() -> tuple:
    return (list(Customer.objects.values_list("email", "consent_status")),
            ConsentRecord.objects.count(), PendingSignup.objects.count())


def test_consent_only_after_confirmation(client, smtp):
    path = signup(client, smtp)
    assert not Customer.objects.filter(email=EMAIL).exists()  # nothing before confirming
    assert client.get(path).status_code == 200  # the page: a button, no consent yet
    assert not Customer.objects.filter(email=EMAIL).exists()
    response = client.post(path)
    assert response.status_code == 200
    customer = Customer.objects.get(email=EMAIL)
    assert customer.consent_status == ConsentStatus.GRANTED
    assert Customer.objects.contactable().filter(pk=customer.pk).exists()
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.status, record.source) == (ConsentStatus.GRANTED, ConsentSource.SIGNUP_FORM)
    assert not PendingSignup.objects.exists()


def test_a_reused_link_is_refused(client, smtp):
    path = signup(client, smtp)
    client.post(path)
    Customer.objects.filter(email=EMAIL).update(consent_status=ConsentStatus.WITHDRAWN)
    before = state()
    response = client.post(path)
    assert response.status_code == 400 and "already used" in response.content.decode()
    assert state() == before


def test_an_edited_link_is_refused(client, smtp):
    path = signup(client, smtp)
    token = path.rstrip("/").rsplit("/", 1)[1]
    pending_id, stamp, signature = token.split(":")
    edited = [f"{pending_id}:{stamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
              f"{pending_id[:-1]}{'0' if pending_id[-1] != '0' else '1'}:{stamp}:{signature}"]
    before = state()
    for token in edited:
        response = client.post(reverse("crm:signup_confirm", args=[token]))
        assert response.status_code == 400 and "not valid" in response.content.decode()
    assert state() == before


def test_an_expired_link_is_refused(client, smtp, settings):
    settings.RULECAST_CRM = {"SIGNUP_CONFIRM_MAX_AGE": 3600}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        path = signup(client, smtp)
        clock.shift(timedelta(seconds=3599))
        assert client.get(path).status_code == 200
        clock.shift(timedelta(seconds=2))
        before = state()
        response = client.post(path)
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert state() == before


def test_a_confirmed_signup_is_new_consent_for_an_erased_address(client, smtp):
    ErasedAddress.objects.create(digest=address_digest(EMAIL))
    client.post(signup(client, smtp))
    assert Customer.objects.get(email=EMAIL).consent_status == ConsentStatus.GRANTED
    assert not ErasedAddress.objects.exists()


def test_the_api_endpoints(smtp):
    client = APIClient()
    response = client.post(reverse("signup"), {"email": EMAIL}, format="json")
    assert response.status_code == 202
    assert not Customer.objects.filter(email=EMAIL).exists()
    [message] = smtp.messages_to(EMAIL)
    text = message.get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"/signup/confirm/([^/\s]+)/", text).group(1)
    refused = client.post(reverse("signup-confirm"), {"token": token + "x"}, format="json")
    assert refused.status_code == 400 and not Customer.objects.filter(email=EMAIL).exists()
    ok = client.post(reverse("signup-confirm"), {"token": token}, format="json")
    assert ok.status_code == 200 and ok.json() == {"confirmed": True}
    assert Customer.objects.get(email=EMAIL).consent_status == ConsentStatus.GRANTED
    again = client.post(reverse("signup-confirm"), {"token": token}, format="json")
    assert again.status_code == 400
    assert client.post(reverse("signup"), {"email": "not an address"},
                       format="json").status_code == 400
