"""Throttles as the settings name them at request time."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


def current_throttles() -> list:
    """The throttles ``REST_FRAMEWORK`` names now, with the rates it gives now.

    DRF binds both when its modules are imported; reading them per request lets a host
    project's settings and ``override_settings`` in tests apply.
    """
    throttles = []
    for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES:
        throttle = throttle_class.__new__(throttle_class)
        if isinstance(throttle, SimpleRateThrottle):
            throttle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        throttle.__init__()
        throttles.append(throttle)
    return throttles
