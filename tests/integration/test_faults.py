"""The real parts fail, and the service carries on: Redis restarted, PostgreSQL restarted and
the SMTP server refusing for a while, all during one send, with the default settings (only
the send rate and batch size are set, as an operator would for a small provider).

Counted where readers would see it, at a real SMTP server on 127.0.0.1: nobody missing, at
most one second copy per fault (the message in flight), and everyone served within two
minutes of the last fault. Beat's part (the planner once, `recover_sends` every minute) is
played by a thread that queues those tasks as beat would, and fails as beat would while
Redis is down.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection

from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.integration.conftest import RedisServer, SMTPInbox, Workers, wait_until
from tests.integration.test_sending_for_real import PLAN, RECOVER, populate

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

READERS = 600
# An operator's settings for a small provider; everything else is the default, as deployed
# (DEBUG off, database connections kept for a minute).
OPERATOR = {
    "SEND_RATE_PER_SECOND": "20",
    "SEND_BATCH_SIZE": "100",
    "DEBUG": "false",
    "DB_CONN_MAX_AGE": "60",
}
SERVED_WITHIN = 120.0  # seconds after the last fault


class Beat(threading.Thread):
    """The planner once, then recover_sends every minute, as django-celery-beat runs them."""

    def __init__(self, workers: Workers) -> None:
        super().__init__(daemon=True)
        self.workers = workers
        self.stopped = threading.Event()

    def run(self) -> None:
        self.queue(PLAN)
        while not self.stopped.wait(60):
            self.queue(RECOVER)

    def queue(self, task: str) -> None:
        # While Redis is down, beat's own publish fails the same way.
        with contextlib.suppress(Exception):
            self.workers.call(task)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=70)


def db_count(query) -> int:
    """A count from this test's own connection, which a PostgreSQL restart breaks once."""
    for _ in range(30):
        try:
            return query()
        except OperationalError:
            connection.close()
            time.sleep(1)
    return query()


def settled() -> bool:
    return (
        db_count(lambda: Delivery.objects.exclude(status__in=["queued", "sending"]).count())
        == READERS
    )


@pytest.fixture
def sending(redis_server: RedisServer, smtp: SMTPInbox, worker_env) -> Iterator[Workers]:
    workers = Workers(env=worker_env(redis_server.url, smtp, **OPERATOR), logs=worker_env.logs)
    yield workers
    workers.stop_all()


@pytest.fixture
def beat(sending: Workers) -> Iterator[Beat]:
    clock = Beat(sending)
    yield clock
    clock.stop()


def start_sending(workers: Workers, beat: Beat, smtp: SMTPInbox) -> list[str]:
    emails = populate(READERS)
    workers.start("w1")
    beat.start()
    wait_until(lambda: len(smtp.received()) >= 60, 60, "sending to start")
    return emails


def assert_everyone_served(
    workers: Workers, smtp: SMTPInbox, emails: list[str], *, faults: int, last_fault: float
) -> None:
    deadline = last_fault + SERVED_WITHIN + 30
    while time.monotonic() < deadline and not settled():
        time.sleep(1)
    received = smtp.received()
    missing = set(emails) - set(received)
    twice = {email: n for email, n in received.items() if n > 1}
    late = [t for t in smtp.arrivals() if t > last_fault + SERVED_WITHIN]
    served_after = max(smtp.arrivals()) - last_fault
    print(
        f"faults={faults} missing={len(missing)} duplicated={sum(n - 1 for n in twice.values())} "
        f"last_digest_after_last_fault_s={served_after:.0f}"
    )
    assert not missing, f"{len(missing)} readers got nothing\n{workers.log_tail()}"
    assert sum(n - 1 for n in twice.values()) <= faults, f"duplicates: {twice}"
    assert not late, f"{len(late)} digests came over {SERVED_WITHIN:.0f} s after the last fault"


def sending_again(smtp: SMTPInbox, what: str) -> None:
    """Wait for the digests to flow again after a fault: the next one lands mid-send."""
    before = len(smtp.arrivals())
    wait_until(lambda: len(smtp.arrivals()) >= before + 20, 120, f"sending again after {what}")


def test_redis_and_postgresql_restarts_and_a_refusing_provider_lose_nobody(
    sending, beat, smtp, redis_server, postgres_server
):
    emails = start_sending(sending, beat, smtp)

    redis_server.restart()
    sending_again(smtp, "the Redis restart")
    postgres_server.restart()
    sending_again(smtp, "the PostgreSQL restart")
    smtp.refuse_everyone_for(15)
    last_fault = time.monotonic() + 15

    assert_everyone_served(sending, smtp, emails, faults=3, last_fault=last_fault)
    assert db_count(lambda: Subscriber.objects.filter(status="active").count()) == READERS


def test_the_same_faults_in_quick_succession_lose_nobody(
    sending, beat, smtp, redis_server, postgres_server
):
    emails = start_sending(sending, beat, smtp)

    redis_server.restart()
    time.sleep(8)
    postgres_server.restart()
    time.sleep(8)
    smtp.refuse_everyone_for(15)
    last_fault = time.monotonic() + 15

    assert_everyone_served(sending, smtp, emails, faults=3, last_fault=last_fault)


def test_a_postgresql_restart_and_a_refusing_provider_lose_nobody(
    sending, beat, smtp, postgres_server
):
    emails = start_sending(sending, beat, smtp)

    postgres_server.restart()
    sending_again(smtp, "the PostgreSQL restart")
    smtp.refuse_everyone_for(15)
    last_fault = time.monotonic() + 15

    assert_everyone_served(sending, smtp, emails, faults=2, last_fault=last_fault)


def test_an_address_the_provider_refuses_for_good_is_failed_and_only_it_is_suppressed(
    sending, beat, smtp
):
    emails = populate(READERS)
    refused = emails[7]
    smtp.refuse_for_good(refused)
    sending.start("w1")
    beat.start()

    wait_until(
        lambda: Delivery.objects.exclude(status__in=["queued", "sending"]).count() == READERS,
        120,
        "every delivery to settle",
    )

    received = smtp.received()
    assert refused not in received
    assert set(received) == set(emails) - {refused}
    assert max(received.values()) == 1
    assert Delivery.objects.get(subscriber__email=refused).status == "failed"
    assert list(Subscriber.objects.exclude(status="active").values_list("email", "status")) == [
        (refused, "bounced")
    ]
