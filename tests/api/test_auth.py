"""Tokens, sessions and throttling."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_a_token_from_a_username_and_password_authenticates(superuser):
    client = APIClient()
    response = client.post("/api/v1/token/", {"username": "boss", "password": "pw-not-used-1"},
                           format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert client.get("/api/v1/customers/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/customers/").status_code == 200
    # The same token again; JSON only (a form is 415, as documented).
    again = APIClient().post("/api/v1/token/", {"username": "boss", "password": "pw-not-used-1"},
                             format="json")
    assert again.json() == {"token": token}


@pytest.mark.parametrize("body", [
    {"username": "boss", "password": "wrong"}, {"username": "boss"}, {"username": 1,
                                                                      "password": 2},
])
def test_bad_credentials_get_no_token(superuser, body):
    response = APIClient().post("/api/v1/token/", body, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_session_authenticates_too(superuser):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert client.get("/api/v1/customers/").status_code == 200
    # Session writes need the CSRF token, as in the admin.
    assert client.post("/api/v1/customers/", {"email": "x@example.com"},
                       format="json").status_code == 403


THROTTLED = {
    **settings.REST_FRAMEWORK,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"},
}


@override_settings(REST_FRAMEWORK=THROTTLED)
def test_a_user_over_the_rate_is_throttled(api):
    assert [api.get("/api/v1/customers/").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/api/v1/customers/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


@override_settings(REST_FRAMEWORK=THROTTLED)
def test_guessing_passwords_is_throttled(superuser):
    client = APIClient()
    statuses = [client.post("/api/v1/token/", {"username": "boss", "password": "guess"},
                            format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
