"""A campaign's rate limit, shared by every worker (GCRA, a token bucket in one number).

``acquire(key, per_minute)`` takes one message slot and returns 0, or returns
how many seconds to wait before asking again. The Redis limiter keeps the
bucket in Redis and updates it in one Lua script with Redis's own clock, so it
holds across worker processes and machines; the local one is for the eager demo.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings

from .conf import campaigns_settings

# GCRA: the bucket is one timestamp, the "theoretical arrival time" (tat) of the next
# message. A message may go when tat - now <= burst * interval; it pushes tat by interval.
GCRA_LUA = """
local now
if ARGV[3] then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - burst * interval - now
if wait > 0 then return tostring(wait) end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
return '0'
"""


def _shape(per_minute: int) -> tuple[float, float]:
    """Seconds between messages and the burst allowed (about one second's worth)."""
    interval = 60.0 / per_minute
    burst = max(1.0, per_minute / 60.0)
    return interval, burst - 1.0


class RedisRateLimiter:
    """A limiter shared through Redis.

    ``clock``: seconds now, for tests; by default Redis's own clock, one for every worker.
    """

    def __init__(self, url: str, clock: Callable[[], float] | None = None) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(GCRA_LUA)
        self._clock = clock

    def acquire(self, key: str, per_minute: int) -> float:
        interval, burst = _shape(per_minute)
        args = [interval, burst] + ([repr(self._clock())] if self._clock else [])
        return float(self._script(keys=[f"rulecast:ratelimit:{key}"], args=args))


class LocalRateLimiter:
    """The same algorithm in this process only (no broker: the demo runs tasks eagerly)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._clock = clock

    def acquire(self, key: str, per_minute: int) -> float:
        interval, burst = _shape(per_minute)
        with self._lock:
            now = self._clock()
            tat = max(self._tat.get(key, 0.0), now)
            wait = tat - burst * interval - now
            if wait > 0:
                return wait
            self._tat[key] = tat + interval
            return 0.0


@lru_cache(maxsize=4)
def _limiter_for(url: str | None) -> RedisRateLimiter | LocalRateLimiter:
    return RedisRateLimiter(url) if url else LocalRateLimiter()


def get_rate_limiter() -> RedisRateLimiter | LocalRateLimiter:
    """The configured limiter: RATE_LIMIT_REDIS_URL, else the Redis broker, else local."""
    url = campaigns_settings.RATE_LIMIT_REDIS_URL
    if url is None:
        broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
        url = broker if broker.startswith(("redis://", "rediss://")) else None
    return _limiter_for(url)
