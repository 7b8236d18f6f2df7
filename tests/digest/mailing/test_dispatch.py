"""Sending exactly once: claims, retries with backoff, permanent failures, lost work."""

from __future__ import annotations

import gc
import smtplib
import time
import weakref
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.utils import timezone

from digest import tasks
from digest.mailing import dispatch, messages, planning, throttle
from digest.models import Delivery, DeliveryPaper, Paper
from subscriptions.models import Subscriber, Suppression
from tests.digest.conftest import DAY, make_paper, make_reader

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T08:00:00+00:00")


@pytest.fixture(autouse=True)
def outbox_backend(settings):
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"
    settings.SEND_RETRY_BASE_SECONDS = 30


def outbox_files() -> list[Path]:
    return sorted(Path(settings.OUTBOX_DIR).glob("*.eml"))


def planned(now=NOW) -> list[int]:
    return planning.plan(now).created


def test_a_delivery_sent_twice_in_a_row_goes_out_once(papers, alice):
    ids = planned()

    first = dispatch.send_deliveries(ids, NOW)
    second = dispatch.send_deliveries(ids, NOW)

    assert (first.sent, second.sent) == (1, 0)
    assert len(outbox_files()) == 1


def test_the_same_message_handed_to_the_outbox_twice_is_two_files(papers, alice):
    [delivery_id] = planned()
    dispatch.send_deliveries([delivery_id], NOW)
    message = messages.delivery_message(Delivery.objects.get(pk=delivery_id))

    message.send()

    # A provider would deliver both copies: the outbox keeps both, so tests can count them.
    assert [f.name.count(".eml") for f in outbox_files()] == [1, 1]
    assert len(outbox_files()) == 2


@pytest.fixture
def crashing(settings):
    from tests.support.crashing_backend import CrashingOutbox

    settings.EMAIL_BACKEND = "tests.support.crashing_backend.CrashingOutbox"
    CrashingOutbox.handed_over = []
    CrashingOutbox.unrecorded_at_handover = []
    CrashingOutbox.die_after = None
    return CrashingOutbox


def readers(count: int) -> list[Subscriber]:
    return [make_reader(f"r{n}@example.com", ["retrieval-and-rag"]) for n in range(count)]


def received_per_address() -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in outbox_files():
        to = next(line for line in path.read_text().splitlines() if line.startswith("To: "))
        counts[to[4:]] = counts.get(to[4:], 0) + 1
    return counts


def test_each_message_is_recorded_as_sent_before_the_next_is_handed_over(papers, crashing):
    readers(6)

    outcome = dispatch.send_deliveries(planned(), NOW)

    assert outcome.sent == 6
    assert len(crashing.handed_over) == 6
    assert crashing.unrecorded_at_handover == []


def test_a_worker_killed_right_after_a_hand_over_re_sends_only_that_message(papers, crashing):
    from tests.support.crashing_backend import WorkerKilled

    people = readers(8)
    ids = planned()
    crashing.die_after = 3

    with pytest.raises(WorkerKilled):
        dispatch.send_deliveries(ids, NOW)
    crashing.die_after = None
    # The lease runs out; the task comes back from the broker (or recovery queues it again).
    later = NOW + dispatch.lease_for(len(ids)) + timedelta(seconds=1)
    dispatch.send_deliveries(ids, later)

    received = received_per_address()
    assert set(received) == {p.email for p in people}, "nobody is missed"
    assert sorted(received.values()) == [1] * 7 + [2], "only the message in flight twice"
    assert Delivery.objects.filter(status="sent").count() == 8


def test_recovery_finishes_what_a_killed_worker_recorded_and_queues_the_rest(papers, crashing):
    from tests.support.crashing_backend import WorkerKilled

    readers(5)
    ids = planned()
    crashing.die_after = 3
    with pytest.raises(WorkerKilled):
        dispatch.send_deliveries(ids, NOW)
    # Two recorded as accepted, the third in flight: all three still say "sending".
    assert Delivery.objects.filter(status="sending").count() == 5

    later = NOW + dispatch.lease_for(len(ids)) + timedelta(seconds=1)
    assert planning.requeue_expired(later) == 3

    first, second, in_flight, *rest = Delivery.objects.order_by("pk")
    assert [first.status, second.status] == ["sent", "sent"]
    assert first.attempts == 1 and first.sent_at is not None and first.subject
    assert [d.status for d in (in_flight, *rest)] == ["queued"] * 3
    assert dispatch.send_deliveries(ids, later).sent == 3
    assert len(crashing.handed_over) == 6, "the two recorded are not sent again"


@pytest.fixture
def last_year(db) -> Paper:
    """Featured a year ago and made before the fixture's papers: a lower id than theirs."""
    return make_paper("Sent a year ago", "retrieval-and-rag", day=DAY - timedelta(days=365))


def sent_before(reader: Subscriber, *papers: Paper) -> None:
    day = DAY - timedelta(days=365)
    delivery = Delivery.objects.create(
        subscriber=reader, period=f"daily:{day}", window_start=day, window_end=day, status="sent"
    )
    for n, paper in enumerate(papers, 1):
        DeliveryPaper.objects.create(
            delivery=delivery, paper=paper, subscriber=reader, position=n, reason="earlier"
        )


def test_choosing_reads_a_readers_history_only_from_the_first_paper_it_could_send(
    last_year, papers, alice, monkeypatch
):
    zerosearch = papers[0]  # in today's digest, but alice had it a year ago
    sent_before(alice, last_year, zerosearch)
    read: list[tuple] = []
    history = dispatch._history

    def reading(*args):
        read.extend(history(*args))
        return iter(read)

    monkeypatch.setattr(dispatch, "_history", reading)
    [delivery_id] = planned()

    assert dispatch.send_deliveries([delivery_id], NOW).sent == 1

    chosen = DeliveryPaper.objects.filter(delivery_id=delivery_id).values_list("paper", flat=True)
    assert chosen and zerosearch.pk not in chosen, "never twice, even featured again"
    assert [row[2] for row in read] == [zerosearch.pk], "last year's papers are not read"


def test_sending_costs_one_write_per_message_and_a_dozen_queries_per_batch(
    papers, django_assert_max_num_queries
):
    readers(40)
    ids = planned()

    # One record per message; for the batch a dozen (one asks which of its readers' tastes
    # changed since their last fit), two savepoints of the test's own transaction for each
    # of its two atomic blocks, two on PostgreSQL for fast commits.
    with django_assert_max_num_queries(40 + 20):
        outcome = dispatch.send_deliveries(ids, NOW)

    assert outcome.sent == 40


def test_recovery_queues_a_dead_workers_deliveries_once_their_lease_is_over(
    papers, alice, django_capture_on_commit_callbacks
):
    [delivery_id] = planned()
    dispatch.mark_enqueued([delivery_id], NOW)
    dispatch.claim_many([delivery_id], NOW, timedelta(minutes=2))
    queued: list[list[int]] = []

    assert dispatch.recover(NOW + timedelta(minutes=1), queued.append) == (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.recover(NOW + timedelta(minutes=3), queued.append) == (1, 1)

    assert queued == [[delivery_id]]


def test_a_transient_failure_goes_back_in_line_with_a_backoff(papers, alice, settings, monkeypatch):
    settings.EMAIL_BACKEND = "tests.support.flaky_backend.FlakyBackend"
    monkeypatch.setenv("FLAKY_FAILURE_RATE", "1")

    outcome = dispatch.send_deliveries(planned(), NOW)

    delivery = Delivery.objects.get()
    assert outcome.retry == [delivery.pk]
    assert delivery.status == Delivery.Status.QUEUED
    assert delivery.attempts == 1
    assert "503" in delivery.last_error
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > NOW + timedelta(seconds=10)
    # Not before the backoff is over; then it goes (the provider's pause long over too).
    monkeypatch.setenv("FLAKY_FAILURE_RATE", "0")
    throttle.reset()
    assert dispatch.send_deliveries([delivery.pk], NOW).sent == 0
    later = delivery.next_attempt_at + timedelta(seconds=1)
    assert dispatch.send_deliveries([delivery.pk], later).sent == 1
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_transient_failures_give_up_after_the_attempt_limit(papers, alice, settings, monkeypatch):
    settings.EMAIL_BACKEND = "tests.support.flaky_backend.FlakyBackend"
    settings.SEND_MAX_ATTEMPTS = 3
    monkeypatch.setenv("FLAKY_FAILURE_RATE", "1")
    [delivery_id] = planned()
    moment = NOW
    for _ in range(3):
        dispatch.send_deliveries([delivery_id], moment)
        moment += timedelta(hours=3)
        throttle.reset()  # hours later: the provider's pause is long over

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 3
    assert Subscriber.objects.get(pk=alice.pk).status == Subscriber.Status.ACTIVE


def test_a_refused_address_fails_for_good_and_is_never_emailed_again(papers, alice, settings):
    settings.EMAIL_BACKEND = "tests.support.flaky_backend.RefusingBackend"

    outcome = dispatch.send_deliveries(planned(), NOW)

    assert outcome.failed == 1
    assert Delivery.objects.get().status == Delivery.Status.FAILED
    assert Subscriber.objects.get(pk=alice.pk).status == Subscriber.Status.BOUNCED
    assert Suppression.covers("alice@example.com")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (AnymailRecipientsRefused("refused"), dispatch.PERMANENT),
        (AnymailInvalidAddress("bad"), dispatch.PERMANENT),
        (AnymailAPIError("server", status_code=502), dispatch.TRANSIENT),
        (AnymailAPIError("slow down", status_code=429), dispatch.PROVIDER),
        (AnymailAPIError("timeout"), dispatch.PROVIDER),
        (AnymailAPIError("unprocessable", status_code=422), dispatch.PERMANENT),
        (smtplib.SMTPServerDisconnected("gone"), dispatch.PROVIDER),
        (smtplib.SMTPResponseException(421, b"closing"), dispatch.PROVIDER),
        (smtplib.SMTPDataError(451, b"try later"), dispatch.TRANSIENT),
        (smtplib.SMTPDataError(554, b"rejected"), dispatch.PERMANENT),
        (ConnectionRefusedError(), dispatch.PROVIDER),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}), dispatch.PERMANENT),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (451, b"try later")}), dispatch.TRANSIENT),
        (TimeoutError(), dispatch.PROVIDER),
        (ValueError("something else"), dispatch.TRANSIENT),
    ],
)
def test_errors_are_told_apart(error, kind):
    assert dispatch.classify(error) == kind


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.SEND_RETRY_BASE_SECONDS = 30
    waits = [dispatch.backoff(n).total_seconds() for n in (1, 2, 3, 4)]

    assert 15 <= waits[0] <= 45
    assert 60 <= waits[2] <= 180
    assert all(dispatch.backoff(20).total_seconds() <= 5400 for _ in range(20))


def test_backoff_stops_doubling_at_the_configured_longest_wait(settings):
    settings.SEND_RETRY_BASE_SECONDS = 1
    settings.SEND_RETRY_MAX_SECONDS = 10

    assert all(dispatch.backoff(12).total_seconds() <= 15 for _ in range(20))
    assert all(dispatch.backoff(12).total_seconds() >= 5 for _ in range(20))


class Retried(Exception):
    def __init__(self, **options):
        self.options = options


def retrying_after(monkeypatch, wait: timedelta) -> list[list[int]]:
    """send_batch with sending stubbed: delivery 7 failed and is due again after `wait`."""
    monkeypatch.setattr(
        dispatch,
        "send_deliveries",
        lambda ids, **kwargs: dispatch.Outcome(retry=[7], retry_at=timezone.now() + wait),
    )
    marked: list[list[int]] = []
    monkeypatch.setattr(dispatch, "mark_enqueued", lambda ids: marked.append(list(ids)))

    def retry(**options):
        raise Retried(**options)

    monkeypatch.setattr(tasks.send_batch, "retry", retry)
    return marked


def test_a_send_task_retries_a_near_failure_itself(monkeypatch):
    marked = retrying_after(monkeypatch, timedelta(seconds=5))

    with pytest.raises(Retried) as retried:
        tasks.send_batch.run([7])

    assert retried.value.options["args"] == [[7]]
    assert 0 < retried.value.options["countdown"] <= 5
    assert marked == [[7]]


def test_a_retry_further_out_than_half_the_visibility_timeout_is_left_to_recovery(monkeypatch):
    # Redis would hand a task waiting that long to a second worker before it was due.
    wait = tasks.max_retry_countdown() + 60
    marked = retrying_after(monkeypatch, timedelta(seconds=wait))

    tasks.send_batch.run([7])

    assert marked == []  # so recover_sends enqueues it once its backoff is over


def test_a_crashed_workers_claims_are_queued_again_when_their_lease_ends(papers, alice):
    [delivery_id] = planned()
    assert dispatch.claim_many([delivery_id], NOW, timedelta(minutes=10)) == [delivery_id]
    # ... and then its worker dies

    assert planning.requeue_expired(NOW + timedelta(minutes=5)) == 0
    assert planning.requeue_expired(NOW + timedelta(minutes=11)) == 1

    assert dispatch.send_deliveries([delivery_id], NOW + timedelta(minutes=11)).sent == 1


def test_the_planner_queues_new_and_lost_deliveries_but_not_ones_in_flight(papers, alice):
    [delivery_id] = planned()
    assert dispatch.needing_a_task(NOW) == [delivery_id]

    dispatch.mark_enqueued([delivery_id], NOW)

    assert dispatch.needing_a_task(NOW + timedelta(minutes=10)) == []
    assert dispatch.needing_a_task(NOW + timedelta(hours=1)) == [delivery_id]


def test_plan_and_enqueue_sends_everything_in_process_without_a_broker(
    papers, alice, django_capture_on_commit_callbacks
):
    make_reader("bea@example.com", ["zero-shot-learning"])

    with django_capture_on_commit_callbacks(execute=True):
        planned_count, queued = dispatch.plan_and_enqueue(NOW, tasks.enqueue_send)

    assert (planned_count, queued) == (2, 2)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert len(outbox_files()) == 2


def test_the_send_rate_is_respected(papers, settings, monkeypatch):
    calls = []
    monkeypatch.setattr(dispatch.throttle, "wait_for_send_slot", lambda: calls.append(1))
    for n in range(3):
        make_reader(f"reader{n}@example.com", ["retrieval-and-rag"])

    dispatch.send_deliveries(planned(), NOW)

    assert len(calls) == 3


@pytest.mark.parametrize("lease_seconds", [8, 600])
def test_a_send_task_is_stopped_before_its_claims_expire(settings, lease_seconds):
    settings.SEND_LEASE_SECONDS = lease_seconds

    limits = dispatch.task_limits(100)

    lease = dispatch.lease_for(100).total_seconds()
    assert 0 < limits["soft_time_limit"] < limits["time_limit"] < lease


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_batch_spares_the_collector_older_objects_and_their_cycles_go_after_it(monkeypatch):
    old = _Cycle()
    alive = weakref.ref(old)
    monkeypatch.setattr(dispatch, "_last_full_collection", time.monotonic())

    with dispatch._older_objects_frozen():
        assert gc.get_freeze_count() > 0
        del old
        gc.collect()
        assert alive() is not None  # frozen: not even a full collection walks it
    # Within the minute, the cycle waits for the next full collection: no sooner.
    assert gc.get_freeze_count() == 0 and alive() is not None

    monkeypatch.setattr(dispatch, "_last_full_collection", time.monotonic() - 61)
    with dispatch._older_objects_frozen():
        pass
    assert alive() is None


def test_a_batch_is_chosen_and_sent_with_the_older_objects_frozen(papers, alice, monkeypatch):
    frozen_while_running: list[int] = []
    monkeypatch.setattr(
        dispatch._Batch, "run", lambda self: frozen_while_running.append(gc.get_freeze_count())
    )

    dispatch.send_deliveries(planned(), NOW)

    assert frozen_while_running[0] > 0
    assert gc.get_freeze_count() == 0


def test_a_paper_taken_meanwhile_delays_only_the_reader_it_belongs_to(papers, alice, monkeypatch):
    bob = make_reader("bob@example.com", ["retrieval-and-rag"])
    planned()
    alice_id, bob_id = (Delivery.objects.get(subscriber=reader).pk for reader in (alice, bob))
    # Alice's other digest (two periods racing) stores ZeroSearch after this batch read
    # her history and before it stores its own choice.
    racing = Delivery.objects.create(
        subscriber=alice, period="weekly:2026-11-23", window_start=DAY, window_end=DAY
    )
    history = dispatch._history

    def history_then_race(*args):
        rows = list(history(*args))
        DeliveryPaper.objects.create(
            delivery=racing, paper=papers[0], subscriber=alice, position=1, reason="racing"
        )
        return rows

    monkeypatch.setattr(dispatch, "_history", history_then_race)

    outcome = dispatch.send_deliveries([alice_id, bob_id], NOW)

    assert outcome.sent == 1 and outcome.retry == [alice_id]
    assert received_per_address() == {"bob@example.com": 1}
    alice_delivery = Delivery.objects.get(pk=alice_id)
    assert (
        alice_delivery.status == "queued" and "already sent meanwhile" in alice_delivery.last_error
    )
    assert not DeliveryPaper.objects.filter(delivery_id=alice_id).exists()
    assert DeliveryPaper.objects.filter(delivery_id=bob_id).count() >= 1
