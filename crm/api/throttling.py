"""Throttles as the settings name them at request time, keyed on the real client.

The client is ``REMOTE_ADDR`` unless ``REST_FRAMEWORK["NUM_PROXIES"]`` says how many
proxies of our own stand in front: then it is the address the outermost of them saw,
counted from the right of ``X-Forwarded-For`` (entries further left are the client's
to invent). DRF's own default (``NUM_PROXIES`` unset) trusts the whole header, so a
client could rotate it to escape every throttle; here unset counts as 0. Throttle
counts live in the default cache, shared by every process (Redis, or the database).
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


def client_ip(request) -> str:
    """The address of the client, as far as our own proxies (NUM_PROXIES) vouch for it.

    Also django-axes' ``AXES_CLIENT_IP_CALLABLE``, so admin logins count the same client.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote


def current_throttles() -> list:
    """The throttles ``REST_FRAMEWORK`` names now, with the rates it gives now.

    DRF binds both when its modules are imported; reading them per request lets a host
    project's settings and ``override_settings`` in tests apply. Each identifies the
    client with ``client_ip``.
    """
    throttles = []
    for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES:
        throttle = throttle_class.__new__(throttle_class)
        if isinstance(throttle, SimpleRateThrottle):
            throttle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        throttle.__init__()
        throttle.get_ident = client_ip
        throttles.append(throttle)
    return throttles
