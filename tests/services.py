"""Real services for the tests: PostgreSQL, Redis, a Celery worker.

Under ``CI=true`` a missing service fails the test that needs it; on a
developer's laptop the test is skipped with the reason.
"""

from __future__ import annotations

import os

import pytest


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Fail (CI) or skip (laptop) when a service the test needs is missing."""
    if available:
        return
    message = f"{what} is not available"
    if running_in_ci():
        pytest.fail(f"{message}; CI must provide it (see .ci/run).", pytrace=False)
    pytest.skip(f"{message}; start it to run this test.")


def redis_available(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False
