"""The provider's send rate, held across every worker, and the pause every worker takes
when the provider says to slow down.

- **The rate.** SEND_RATE_PER_SECOND is the ESP's limit for the whole account, so it must
  hold however many worker processes on however many machines are sending: with a Redis
  broker the bucket lives in Redis (pyrate-limiter's RedisBucket, one sorted set, updated by
  a Lua script so that concurrent workers cannot both take the last slot); without one, in
  this process's memory.
- **Redis restarts.** Redis forgets its scripts when it restarts or fails over, and
  pyrate-limiter calls its script by the hash it loaded once: every send then failed with
  `NoScriptError` until the worker was restarted. The bucket loads the script again when
  Redis says it has none.
- **Redis down.** Sending waits for it, trying again every few seconds: it neither fails a
  delivery nor goes past the rate meanwhile. After REDIS_WAIT_SECONDS the batch gives its
  unsent deliveries back (`Held`), to be sent when Redis is back.
- **The provider's pause.** When the provider refuses for a while (dispatch decides when:
  a 421, a 429, a dropped connection, a refusal to everyone), `pause()` holds every
  worker's sending until then: a key in Redis that expires with the pause, or this
  process's memory without a broker. A short pause is waited out; a longer one makes the
  batch give its deliveries back until it ends.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.conf import settings
from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate, RedisBucket
from pyrate_limiter.buckets.redis_bucket import LuaScript

log = logging.getLogger(__name__)

BUCKET_KEY = "digest:send-rate"
PAUSE_KEY = "digest:send-paused-until"
# While Redis is unreachable: the waits between tries, and how long a batch waits at most.
REDIS_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0)
REDIS_WAIT_SECONDS = 60.0
# A pause this long or shorter is waited out in the batch; a longer one gives the batch's
# deliveries back until it ends.
WAIT_OUT_SECONDS = 10.0
# How often a process asks Redis whether the service is paused: at most once a second,
# not once a message.
PAUSE_CHECK_SECONDS = 1.0


class Held(Exception):
    """Sending cannot go on before `until`: the batch gives its unsent deliveries back."""

    def __init__(self, until: datetime, reason: str):
        super().__init__(reason)
        self.until = until
        self.reason = reason


def _rate(per_second: float) -> Rate:
    if per_second >= 1:
        return Rate(int(per_second), Duration.SECOND)
    return Rate(1, int(Duration.SECOND.value / per_second))


class ReloadingRedisBucket(RedisBucket):
    """pyrate-limiter's RedisBucket, loading its Lua script again when Redis lost it."""

    def _check_and_insert(self, item: Any) -> Any:
        from redis.exceptions import NoScriptError

        try:
            return super()._check_and_insert(item)
        except NoScriptError:
            log.warning("send rate: Redis lost the rate's script (a restart?); loading it again")
            self.script_hash = str(self.redis.script_load(LuaScript.PUT_ITEM))
            return super()._check_and_insert(item)


def _redis_url() -> str | None:
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")) and not settings.CELERY_TASK_ALWAYS_EAGER:
        return broker
    return None


@cache
def _redis(pid: int) -> Any:
    """This process's Redis client (keyed by pid: one made before a fork is not shared)."""
    import redis

    url = _redis_url()
    assert url is not None
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


@cache
def _limiter(pid: int) -> Limiter:
    # Keyed by pid: a limiter made before a worker forked must not be shared by its children.
    rates = [_rate(settings.SEND_RATE_PER_SECOND)]
    if _redis_url() is not None:
        return Limiter(ReloadingRedisBucket.init(rates, _redis(pid), BUCKET_KEY))
    return Limiter(InMemoryBucket(rates))


def wait_for_send_slot() -> None:
    """Block until one more message may go out: after any pause the provider asked for, and
    within the rate. Raises Held when the batch should give its deliveries back instead."""
    _wait_out_pause()
    from redis.exceptions import RedisError

    started = time.monotonic()
    tries = 0
    while True:
        try:
            _limiter(os.getpid()).try_acquire("send", blocking=True)
            return
        except RedisError as exc:
            waited = time.monotonic() - started
            if waited >= REDIS_WAIT_SECONDS:
                raise Held(
                    _at(time.time() + REDIS_RETRY_SECONDS[-1] * 4),
                    f"the send rate's Redis is unreachable ({type(exc).__name__})",
                ) from None
            if tries == 0:
                log.warning(
                    "send rate: Redis is unreachable (%s); sending waits for it",
                    type(exc).__name__,
                )
            time.sleep(REDIS_RETRY_SECONDS[min(tries, len(REDIS_RETRY_SECONDS) - 1)])
            tries += 1


# --- the pause --------------------------------------------------------------------------
_local_pause = 0.0  # epoch seconds: the pause without Redis, or as this process last saw it
_pause_checked = float("-inf")  # time.monotonic() of the last look in Redis


def pause(seconds: float, reason: str) -> datetime:
    """Hold every worker's sending for `seconds` from now (a longer pause already set
    stands). Returns when it ends."""
    global _local_pause
    until = time.time() + seconds
    _local_pause = max(_local_pause, until)
    if _redis_url() is not None:
        from redis.exceptions import RedisError

        try:
            client = _redis(os.getpid())
            current = client.get(PAUSE_KEY)
            if current is None or float(current) < until:
                client.set(PAUSE_KEY, f"{until:.3f}", px=max(1, int(seconds * 1000)))
        except RedisError:
            pass  # this process pauses all the same; the others find out themselves
    log.warning("sending paused for %.0f s: %s", seconds, reason)
    return _at(_local_pause)


def paused_until() -> float:
    """When the current pause ends (epoch seconds), or 0: asking Redis once a second."""
    global _local_pause, _pause_checked
    if _redis_url() is not None and time.monotonic() - _pause_checked >= PAUSE_CHECK_SECONDS:
        from redis.exceptions import RedisError

        _pause_checked = time.monotonic()
        try:
            shared = _redis(os.getpid()).get(PAUSE_KEY)
        except RedisError:
            shared = None
        if shared is not None:
            _local_pause = max(_local_pause, float(shared))
    return _local_pause if _local_pause > time.time() else 0.0


def _wait_out_pause() -> None:
    until = paused_until()
    if not until:
        return
    remaining = until - time.time()
    if remaining > WAIT_OUT_SECONDS:
        raise Held(_at(until), "the provider asked to slow down")
    time.sleep(max(0.0, remaining))


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def reset() -> None:
    global _local_pause, _pause_checked
    _limiter.cache_clear()
    _redis.cache_clear()
    _local_pause = 0.0
    _pause_checked = float("-inf")
