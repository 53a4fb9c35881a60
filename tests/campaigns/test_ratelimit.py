"""The rate limit is one bucket per campaign, shared by every worker through Redis.

Time is a fake clock: grants are counted at fixed instants, never against the real one.
"""

import uuid

import pytest

from campaigns.ratelimit import LocalRateLimiter, RedisRateLimiter, get_rate_limiter


def take(limiter, key: str, per_minute: int, attempts: int) -> int:
    return sum(limiter.acquire(key, per_minute) == 0 for _ in range(attempts))


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_one_second_then_waiting():
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    assert take(limiter, "c1", 600, 25) == 10  # 10 a second: a burst of 10
    wait = limiter.acquire("c1", 600)
    assert wait == pytest.approx(0.1)
    clock.now += 0.1
    assert take(limiter, "c1", 600, 5) == 1  # one more slot per tenth of a second
    assert take(limiter, "c2", 60, 3) == 1  # another campaign, its own bucket


@pytest.mark.redis
def test_two_workers_share_one_bucket(redis_url):
    key = f"test-{uuid.uuid4().hex}"
    clock = FakeClock()
    first, second = (RedisRateLimiter(redis_url, clock=clock),
                     RedisRateLimiter(redis_url, clock=clock))
    granted = sum(take(limiter, key, 1200, 10) for limiter in (first, second, first))
    assert granted == 20  # 20 a second between them, not 20 each
    assert second.acquire(key, 1200) == pytest.approx(0.05)
    clock.now += 0.5
    assert take(first, key, 1200, 20) == 10  # 0.5 s later: ten more, for both together


def test_the_broker_decides_which_limiter(settings):
    settings.CELERY_BROKER_URL = ""
    assert isinstance(get_rate_limiter(), LocalRateLimiter)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    assert isinstance(get_rate_limiter(), RedisRateLimiter)
