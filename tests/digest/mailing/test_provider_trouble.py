"""When the provider fails as a whole (down, throttling, refusing everyone for now), every
worker pauses and the batch gives back what it did not try, with no attempt counted: an
outage never fails a digest. One recipient refused for now is retried alone; the database
failing under a batch lets its task take its own claims back at once."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from anymail.exceptions import AnymailAPIError
from django.conf import settings
from django.db import OperationalError

from digest import tasks
from digest.mailing import dispatch, planning, throttle
from digest.models import Delivery
from tests.digest.conftest import make_paper, make_reader
from tests.support import scripted_backend
from tests.support.flaky_backend import TransientProviderError

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T08:00:00+00:00")
GREYLISTED = smtplib.SMTPRecipientsRefused({"x@example.com": (451, b"4.7.1 try later")})


@pytest.fixture(autouse=True)
def scripted(settings):
    settings.EMAIL_BACKEND = "tests.support.scripted_backend.ScriptedBackend"
    settings.SEND_RETRY_BASE_SECONDS = 30
    scripted_backend.reset()
    yield scripted_backend
    scripted_backend.reset()


def readers(count: int) -> list[int]:
    make_paper("A retrieval paper", "retrieval-and-rag", upvotes=20)
    for n in range(count):
        make_reader(f"reader{n}@example.com", ["retrieval-and-rag"])
    return sorted(planning.plan(NOW).created)


def outbox_files() -> list[Path]:
    return sorted(Path(settings.OUTBOX_DIR).glob("*.eml"))


def states() -> list[tuple[str, int]]:
    return list(Delivery.objects.order_by("pk").values_list("status", "attempts"))


def test_a_provider_down_mid_batch_pauses_sending_and_gives_back_the_rest_untried(scripted, caplog):
    ids = readers(5)
    scripted.script.extend([None, smtplib.SMTPServerDisconnected("Connection unexpectedly closed")])

    outcome = dispatch.send_deliveries(ids, NOW)

    assert states() == [("sent", 1), ("queued", 1), ("queued", 0), ("queued", 0), ("queued", 0)]
    assert outcome.sent == 1 and outcome.retry == [ids[1]] and outcome.held == ids[2:]
    assert throttle.paused_until() > 0, "every worker holds its sending"
    untried = Delivery.objects.filter(status="queued", attempts=0)
    [pause_end] = {d.next_attempt_at for d in untried}
    assert pause_end is not None
    assert (pause_end - NOW).total_seconds() == pytest.approx(5, abs=1), "the provider's pause"
    assert all(d.enqueued_at is None for d in untried), "recovery queues them if the task won't"
    held = [r.getMessage() for r in caplog.records if "send_batch held" in r.getMessage()]
    assert held == [
        f"send_batch held: SMTPServerDisconnected: Connection unexpectedly closed; "
        f"3 deliveries back in line until {pause_end.isoformat(timespec='seconds')}"
    ]


def test_a_provider_that_cannot_be_reached_leaves_every_delivery_untried(scripted):
    ids = readers(3)
    scripted.refuse_connections.append(ConnectionRefusedError(111, "Connection refused"))

    outcome = dispatch.send_deliveries(ids, NOW)

    assert states() == [("queued", 0)] * 3
    assert outcome.held == ids and not outcome.retry


def test_an_outage_never_fails_a_digest_however_long_it_lasts(scripted, settings):
    settings.SEND_MAX_ATTEMPTS = 2
    [delivery_id] = readers(1)
    scripted.refuse_connections.append(ConnectionRefusedError(111, "Connection refused"))
    moment = NOW

    for _ in range(10):
        dispatch.send_deliveries([delivery_id], moment)
        moment += timedelta(hours=1)
        throttle.reset()

    assert states() == [("queued", 0)]
    scripted.refuse_connections.clear()
    assert dispatch.send_deliveries([delivery_id], moment).sent == 1


def test_one_recipient_refused_for_now_is_retried_alone_and_the_batch_goes_on(scripted):
    ids = readers(4)
    scripted.script.extend([None, GREYLISTED])

    outcome = dispatch.send_deliveries(ids, NOW)

    assert states() == [("sent", 1), ("queued", 1), ("sent", 1), ("sent", 1)]
    assert outcome.retry == [ids[1]]
    assert not throttle.paused_until()


@pytest.mark.parametrize(
    "refusal",
    [
        smtplib.SMTPDataError(451, b"4.3.0 try again later"),
        TransientProviderError(),
    ],
    ids=["smtp-451-to-the-message", "api-503"],
)
def test_one_message_refused_for_now_among_acceptances_pauses_no_one(scripted, refusal):
    ids = readers(4)
    scripted.script.extend([None, refusal, None, refusal])

    outcome = dispatch.send_deliveries(ids, NOW)

    assert states() == [("sent", 1), ("queued", 1), ("sent", 1), ("queued", 1)]
    assert outcome.retry == [ids[1], ids[3]] and not outcome.held
    assert not throttle.paused_until()


def test_three_recipients_refused_in_a_row_mean_the_provider_refuses_everyone(scripted):
    ids = readers(6)
    scripted.script.extend([GREYLISTED, GREYLISTED, GREYLISTED])

    dispatch.send_deliveries(ids, NOW)

    assert states() == [("queued", 1)] * 3 + [("queued", 0)] * 3
    assert throttle.paused_until() > 0


def test_a_batch_that_starts_during_a_long_pause_gives_everything_back_untried(scripted):
    ids = readers(3)
    throttle.pause(120, "the provider asked")

    outcome = dispatch.send_deliveries(ids, NOW)

    assert states() == [("queued", 0)] * 3
    assert outcome.held_until is not None
    assert (outcome.held_until - NOW).total_seconds() == pytest.approx(120, abs=2)


class Throttled(AnymailAPIError):
    """What anymail raises when the ESP answers 429 with a Retry-After."""

    def __init__(self, retry_after: str) -> None:
        super().__init__("429 Too Many Requests", status_code=429)
        self.response = SimpleNamespace(headers={"Retry-After": retry_after})

    def describe_response(self) -> None:
        return None


def test_the_providers_retry_after_is_the_pause():
    until = dispatch.provider_failed(Throttled("42"))

    assert (until - datetime.now(until.tzinfo)).total_seconds() == pytest.approx(42, abs=2)


def test_the_pause_doubles_while_the_provider_keeps_failing_and_resets_when_it_answers():
    down = ConnectionRefusedError(111, "Connection refused")
    lengths = []
    for _ in range(3):
        until = dispatch.provider_failed(down)
        lengths.append(round((until - datetime.now(until.tzinfo)).total_seconds()))
        throttle.reset()
    dispatch.provider_answered()
    until = dispatch.provider_failed(down)

    assert lengths == [5, 10, 20]
    assert round((until - datetime.now(until.tzinfo)).total_seconds()) == 5


# --- the database fails under a batch -----------------------------------------------------------


class FailingRecord:
    """The per-message record fails from the `after`-th message on: the database is gone."""

    def __init__(self, monkeypatch, after: int) -> None:
        self.calls = 0
        real = dispatch.SentRecorder.__call__

        def record(recorder, delivery_id, subject):
            self.calls += 1
            if self.calls > after:
                raise OperationalError("terminating connection due to administrator command")
            return real(recorder, delivery_id, subject)

        monkeypatch.setattr(dispatch.SentRecorder, "__call__", record)


def test_a_batch_the_database_interrupts_takes_back_its_own_claims_at_once(monkeypatch, scripted):
    ids = readers(4)
    FailingRecord(monkeypatch, after=2)

    with pytest.raises(dispatch.BatchInterrupted) as stopped:
        dispatch.send_deliveries(ids, NOW)
    monkeypatch.undo()
    scripted_backend.reset()

    # Two recorded as accepted (and finished), the third accepted but not recorded, the
    # fourth not tried: both still claimed.
    assert [s for s, _ in states()] == ["sent", "sent", "sending", "sending"]
    # A minute later, long before the lease ends, the task takes them back with its lease.
    later = NOW + timedelta(minutes=1)
    assert dispatch.send_deliveries(ids, later).sent == 0, "nobody else can"
    outcome = dispatch.send_deliveries(ids, later, reclaim=stopped.value.claimed_until)

    assert outcome.sent == 2
    assert [s for s, _ in states()] == ["sent"] * 4
    # The message in flight when the database went went twice; nobody else did.
    assert len(outbox_files()) == 5


def test_a_send_task_the_database_interrupts_comes_back_with_its_lease(monkeypatch):
    until = NOW + timedelta(minutes=2)

    def interrupted(ids, **kwargs):
        raise dispatch.BatchInterrupted(until, OperationalError("server closed the connection"))

    monkeypatch.setattr(dispatch, "send_deliveries", interrupted)
    retried: list[dict] = []

    def retry(**options):
        retried.append(options)
        raise RuntimeError("retried")

    task = SimpleNamespace(request=SimpleNamespace(is_eager=False, retries=0), retry=retry)
    with pytest.raises(RuntimeError, match="retried"):
        tasks.send_batch.run.__func__(task, [1, 2])  # type: ignore[attr-defined]

    assert retried[0]["args"] == [[1, 2]]
    assert retried[0]["kwargs"] == {"reclaim": until.isoformat(), "interrupted": 1}
    assert retried[0]["countdown"] == 5.0


# --- lost tasks -------------------------------------------------------------------------------


def test_after_the_broker_lost_its_tasks_recovery_queues_every_waiting_delivery(
    django_capture_on_commit_callbacks,
):
    ids = readers(3)
    dispatch.mark_enqueued(ids, NOW)  # their tasks were queued a minute ago, then lost
    queued: list[list[int]] = []

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.recover(NOW + timedelta(minutes=1), queued.append) == (0, 0)
        assert dispatch.recover(NOW + timedelta(minutes=1), queued.append, tasks_lost=True) == (
            0,
            3,
        )

    assert queued == [ids]


def test_a_send_task_that_cannot_be_queued_is_left_for_recovery(monkeypatch):
    ids = readers(2)
    dispatch.mark_enqueued(ids, NOW)

    def down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(tasks.send_batch, "apply_async", down)
    tasks.enqueue_send(ids)

    assert list(Delivery.objects.values_list("enqueued_at", flat=True)) == [None, None]
    assert dispatch.needing_a_task(NOW) == ids
