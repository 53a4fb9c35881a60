"""The rate limit is one bucket per campaign, shared by every worker through Redis."""

import uuid

import pytest

from campaigns.ratelimit import LocalRateLimiter, RedisRateLimiter, get_rate_limiter


def take(limiter, key: str, per_minute: int, attempts: int) -> int:
    return sum(limiter.acquire(key, per_minute) == 0 for _ in range(attempts))


def test_a_burst_of_one_second_then_waiting():
    limiter = LocalRateLimiter()
    assert take(limiter, "c1", 600, 25) == 10  # 10 a second: a burst of 10
    wait = limiter.acquire("c1", 600)
    assert 0 < wait <= 0.1 + 1e-6
    assert take(limiter, "c2", 60, 3) == 1  # another campaign, its own bucket


@pytest.mark.redis
def test_two_workers_share_one_bucket(redis_url):
    key = f"test-{uuid.uuid4().hex}"
    first, second = RedisRateLimiter(redis_url), RedisRateLimiter(redis_url)
    granted = sum(take(limiter, key, 1200, 10) for limiter in (first, second, first))
    assert granted == 20  # 20 a second between them, not 20 each
    assert 0 < second.acquire(key, 1200) <= 0.05 + 1e-3


def test_the_broker_decides_which_limiter(settings):
    settings.CELERY_BROKER_URL = ""
    assert isinstance(get_rate_limiter(), LocalRateLimiter)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    assert isinstance(get_rate_limiter(), RedisRateLimiter)
