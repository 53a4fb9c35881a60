"""Throttles key on the real client, count in the shared cache; admin logins are limited."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

THROTTLED = {
    **settings.REST_FRAMEWORK,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": "3/minute"},
}


def guess(client: APIClient, forwarded: str, remote: str = "203.0.113.7") -> int:
    return client.post("/api/v1/token/", {"username": "boss", "password": "guess"}, format="json",
                       HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote).status_code


@override_settings(REST_FRAMEWORK={**THROTTLED, "NUM_PROXIES": 0})
def test_rotating_x_forwarded_for_does_not_escape_the_throttle(superuser):
    client = APIClient()
    statuses = [guess(client, f"198.51.100.{n}") for n in range(5)]
    assert statuses == [400, 400, 400, 429, 429]


@override_settings(REST_FRAMEWORK={**THROTTLED, "NUM_PROXIES": None})
def test_unset_proxies_trust_no_header(superuser):
    """DRF alone would trust the whole header here; Rulecast's views do not."""
    client = APIClient()
    assert [guess(client, f"198.51.100.{n}") for n in range(4)][-1] == 429


@override_settings(REST_FRAMEWORK={**THROTTLED, "NUM_PROXIES": 1})
def test_behind_one_proxy_the_address_it_saw_counts(superuser):
    client = APIClient()
    # The client invents the left part; our proxy appends the address it saw.
    statuses = [guess(client, f"10.9.9.{n}, 192.0.2.1", remote="10.0.0.2") for n in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert guess(client, "192.0.2.99", remote="10.0.0.2") == 400  # another real client


@override_settings(REST_FRAMEWORK=THROTTLED)
def test_counts_live_in_the_shared_cache(superuser):
    cache = caches["default"]
    assert isinstance(cache, DatabaseCache)  # no CACHE_URL here: the database, not memory
    guess(APIClient(), "198.51.100.1")
    assert len(cache.get("throttle_anon_203.0.113.7")) == 1


@override_settings(AXES_FAILURE_LIMIT=3)
def test_admin_logins_are_locked_out_after_failures(superuser):
    from django.test import Client

    def login(password: str, remote: str = "203.0.113.7", forwarded: str = "") -> int:
        return Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded).post(
            "/admin/login/", {"username": "boss", "password": password,
                              "next": "/admin/"}).status_code

    assert [login("guess", forwarded=f"198.51.100.{n}") for n in range(3)] == [200, 200, 429]
    assert login("pw-not-used-1") == 429  # even the right password, from that client
    assert login("pw-not-used-1", remote="192.0.2.50") == 302  # the owner, elsewhere


def test_the_project_trusts_no_proxy_by_default():
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
