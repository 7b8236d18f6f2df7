"""The provider's send rate, held across every worker.

SEND_RATE_PER_SECOND is the ESP's limit for the whole account, so it must hold however many
worker processes on however many machines are sending: with a Redis broker the bucket lives
in Redis (pyrate-limiter's RedisBucket, one sorted set, updated by a Lua script so that
concurrent workers cannot both take the last slot); without one, in this process's memory.
"""

from __future__ import annotations

import os
from functools import cache

from django.conf import settings
from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate, RedisBucket

BUCKET_KEY = "digest:send-rate"


def _rate(per_second: float) -> Rate:
    if per_second >= 1:
        return Rate(int(per_second), Duration.SECOND)
    return Rate(1, int(Duration.SECOND.value / per_second))


@cache
def _limiter(pid: int) -> Limiter:
    # Keyed by pid: a limiter made before a worker forked must not be shared by its children.
    rates = [_rate(settings.SEND_RATE_PER_SECOND)]
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")) and not settings.CELERY_TASK_ALWAYS_EAGER:
        import redis

        client = redis.Redis.from_url(broker, socket_timeout=5)
        return Limiter(RedisBucket.init(rates, client, BUCKET_KEY))
    return Limiter(InMemoryBucket(rates))


def wait_for_send_slot() -> None:
    """Block until one more message may go out."""
    _limiter(os.getpid()).try_acquire("send", blocking=True)


def reset() -> None:
    _limiter.cache_clear()
