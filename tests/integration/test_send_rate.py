"""The send rate and the provider's pause, held in a real Redis, survive Redis restarting:
the rate's script is loaded again, sending waits while Redis is down and goes on when it is
back, and a pause one worker sets holds the others."""

from __future__ import annotations

import threading
import time

import pytest

from digest.mailing import throttle
from tests.integration.conftest import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
def shared_rate(redis_server: RedisServer, settings):
    settings.CELERY_BROKER_URL = redis_server.url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.SEND_RATE_PER_SECOND = 1000.0
    throttle.reset()
    yield redis_server
    throttle.reset()


def test_the_rate_outlives_redis_forgetting_its_script(shared_rate):
    import redis

    throttle.wait_for_send_slot()
    redis.Redis.from_url(shared_rate.url).script_flush()

    throttle.wait_for_send_slot()  # NoScriptError before: every send failed until a restart


def test_the_rate_outlives_a_redis_restart(shared_rate):
    throttle.wait_for_send_slot()
    shared_rate.restart()

    throttle.wait_for_send_slot()


def test_sending_waits_while_redis_is_down_and_goes_on_when_it_is_back(shared_rate, caplog):
    throttle.wait_for_send_slot()
    shared_rate.stop()
    threading.Timer(2.0, shared_rate.start).start()
    started = time.monotonic()

    throttle.wait_for_send_slot()

    assert time.monotonic() - started >= 1.5, "it waited for Redis"
    assert "Redis is unreachable" in caplog.text


def test_a_redis_down_for_too_long_makes_the_batch_give_its_deliveries_back(
    shared_rate, monkeypatch
):
    monkeypatch.setattr(throttle, "REDIS_WAIT_SECONDS", 1.0)
    throttle.wait_for_send_slot()
    shared_rate.stop()

    with pytest.raises(throttle.Held, match="Redis is unreachable"):
        throttle.wait_for_send_slot()


def test_a_pause_one_worker_sets_holds_every_other(shared_rate):
    throttle.pause(60, "429 Too Many Requests")
    throttle.reset()  # another process: nothing of the pause in its memory

    assert throttle.paused_until() - time.time() == pytest.approx(60, abs=2)
    with pytest.raises(throttle.Held):
        throttle.wait_for_send_slot()
