"""Sending planned deliveries: claim, choose, build, send, record.

What is guaranteed, counted at the provider:

- **Without a crash, nobody gets a digest twice.** A delivery is claimed by a
  compare-and-swap update (queued -> sending, with a lease), so two workers, or one task
  delivered twice, never both send it, and a sent delivery is never claimed again.
- **A crashed worker re-sends at most the one message it had in flight.** Each message is
  recorded as accepted (its `sent_at`, in one single-row update) before the next one is
  handed over; status, message id and attempts follow for the whole batch in one
  statement. A worker killed at any instant leaves at most one message that the provider
  accepted and we did not record: when its claims' lease ends, whoever claims them again
  (the planner's recovery, or the dead worker's own task coming back from Redis) sends
  that one again, with the same Message-ID, and finishes the recorded ones as sent without
  sending them. Nobody is missed: every claim either ends recorded or expires and goes
  back in line.
- **None at all where the provider deduplicates**: each message carries its delivery's own
  idempotency key, and Resend (the one supported provider that honours one) drops a second
  request with the same key within 24 hours. See README, "Sending: what is guaranteed".

On PostgreSQL the per-message update commits with synchronous_commit off (one SET per
batch): a worker crash cannot lose a committed update, a database server crash can lose
the last fraction of a second of them, which would be sent again.

Failures, by who is failing (`classify`):

- **The provider as a whole** (a refused or dropped connection, a timeout, a 421, an API's
  429 or any answer with a Retry-After; or three temporary refusals in a row): every worker
  pauses (`throttle.pause`: the provider's Retry-After, else 5 s doubling while it lasts,
  up to 5 minutes), the delivery that met it goes back in line with a backoff and one more
  attempt, and the batch gives its other deliveries back until the pause ends, counting no
  attempt for them: an outage never fails a digest that was not tried, and the worker logs
  one line per batch.
- **This message, for now** (any other SMTP 4xx, an API's 5xx, anything unknown): back in
  line with exponential backoff and jitter, up to SEND_MAX_ATTEMPTS, never marked failed
  while attempts remain and never suppressed. One such refusal among many acceptances is
  the message's trouble (greylisting, a busy node behind the API): pausing everyone for it
  would make a provider that refuses 1 message in 3 take minutes per batch.
- **For good** (an SMTP 5xx, an invalid or refused address): the delivery fails, and a
  refused address marks its subscriber bounced, never emailed again; only that address.
- **The database** (a restart, a lost connection): the batch stops and its task comes back
  a few seconds later to take back its own claims (`BatchInterrupted`, the claim's lease
  as the proof), instead of waiting out the lease.
"""

from __future__ import annotations

import gc
import logging
import random
import smtplib
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from typing import TypedDict

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Q
from django.utils import timezone

from digest.bulk import bulk_update_rows, insert_rows
from digest.errors import short_error
from digest.mailing import throttle
from digest.mailing.messages import delivery_period, digest_message
from digest.mailing.pool import Item, items_from_papers, pool_for
from digest.mailing.selection import Reader
from digest.models import Delivery, DeliveryPaper
from digest.taste import profiles
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

# The columns of a chosen paper, as _choose writes them: ids, a position and a reason, all
# ints and strings as the database takes them (insert_rows(prepared=True)).
_PAPER_ROW = ("delivery", "paper", "subscriber", "position", "reason")
# What _finish_sent writes for the batch's recorded deliveries.
_SENT_FIELDS = [*Delivery.SENT_STATE, "message_id", "attempts", "updated_at"]
TRANSIENT = "transient"  # this message, for now
PERMANENT = "permanent"  # this message, for good
PROVIDER = "provider"  # the provider as a whole, for now
# The provider's pause when it gives no Retry-After: doubling from the first while failures
# follow one another, up to the last.
PAUSE_SECONDS = (5.0, 300.0)
# Messages refused for now, one after another, that mean the provider refuses everyone.
REFUSED_IN_A_ROW = 3
# A batch stopped by the database comes back after this, doubling up to the last.
DATABASE_RETRY_SECONDS = (5.0, 60.0)


class BatchInterrupted(Exception):
    """The database failed in the middle of a batch. Its task tries again, taking back
    the claims it holds: those whose lease ends at `claimed_until`."""

    def __init__(self, claimed_until: datetime, error: BaseException):
        super().__init__(str(error))
        self.claimed_until = claimed_until
        self.error = error


@dataclass
class Outcome:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retry: list[int] = field(default_factory=list)  # tried and refused for now
    retry_at: datetime | None = None  # when the last of those may go again
    held: list[int] = field(default_factory=list)  # given back untried, until the pause ends
    held_until: datetime | None = None

    @property
    def retried(self) -> int:
        return len(self.retry) + len(self.held)


def lease_for(count: int) -> timedelta:
    """Long enough to send `count` messages at the provider's rate, with room to spare."""
    seconds = max(settings.SEND_LEASE_SECONDS, 2 * count / settings.SEND_RATE_PER_SECOND)
    return timedelta(seconds=seconds)


def classify(exc: BaseException) -> str:
    """Whether trying again later can help, and whether the trouble is this message's or
    the provider's as a whole."""
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return PERMANENT
    if retry_after(exc) is not None:
        return PROVIDER  # it said how long everyone should wait
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code
        if status is None or status == 429:  # no answer at all, or "slow down"
            return PROVIDER
        return TRANSIENT if status >= 500 else PERMANENT
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return PERMANENT if codes and all(500 <= code < 600 for code in codes) else TRANSIENT
    if isinstance(exc, smtplib.SMTPResponseException):
        if exc.smtp_code == 421:  # the server is closing the channel: slow down
            return PROVIDER
        return PERMANENT if 500 <= exc.smtp_code < 600 else TRANSIENT
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout):
        return PROVIDER
    if isinstance(exc, OSError):  # no route, DNS, TLS: the provider cannot be reached
        return PROVIDER
    # Anything unknown: try again later, up to the attempt limit, rather than drop a digest
    # for good on a hiccup.
    return TRANSIENT


def retry_after(exc: BaseException) -> float | None:
    """The seconds the provider asked us to wait (an API's Retry-After), if it said."""
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(1.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from ESPs; our own pause applies


_provider_failures = 0  # in a row, in this process: the pause doubles with each


def provider_failed(exc: BaseException) -> datetime:
    """Pause every worker's sending after a failure of the provider as a whole; returns
    when the pause ends."""
    global _provider_failures
    _provider_failures += 1
    first, longest = PAUSE_SECONDS
    seconds = retry_after(exc) or min(longest, first * 2 ** (_provider_failures - 1))
    return throttle.pause(seconds, short_error(exc))


def provider_answered() -> None:
    global _provider_failures
    _provider_failures = 0


def backoff(attempt: int) -> timedelta:
    """Exponential with jitter: base * 2^(attempt-1), at most SEND_RETRY_MAX_SECONDS (an
    hour by default), times 0.5-1.5."""
    base = settings.SEND_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1)
    return timedelta(seconds=min(base, settings.SEND_RETRY_MAX_SECONDS) * random.uniform(0.5, 1.5))


def claimable(now: datetime) -> Q:
    """Queued and past any backoff, or held by a sender whose lease ran out (it died)."""
    queued = Q(status=Delivery.Status.QUEUED) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    # A sending row with sent_at was accepted by the provider: never claimed again.
    died = Q(status=Delivery.Status.SENDING, lease_until__lt=now, sent_at__isnull=True)
    return queued | died


def claim_many(
    delivery_ids: Sequence[int],
    now: datetime,
    lease: timedelta,
    *,
    reclaim: datetime | None = None,
) -> list[int]:
    """-> sending, once per delivery: whoever wins this update sends it. A task that comes
    back from the broker after its worker died takes its expired claims back this way, and
    finishes those its worker had recorded as accepted. Three queries per batch; rows
    another worker holds are skipped.

    `reclaim`: the end of the lease this batch claimed its rows with before the database
    interrupted it. Only their holder knows it, so those rows are taken back at once."""
    mine = Q(status=Delivery.Status.SENDING, lease_until=reclaim) if reclaim else Q(pk__in=[])
    with transaction.atomic():
        Delivery.objects.filter(Q(lease_until__lt=now) | mine, pk__in=delivery_ids).finish_recorded(
            now
        )
        takeable = claimable(now) | (mine & Q(sent_at__isnull=True))
        ready = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(takeable, pk__in=delivery_ids)
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(takeable, pk__in=ready).update(
            status=Delivery.Status.SENDING, lease_until=now + lease, updated_at=now
        )
    return ready


def send_deliveries(
    delivery_ids: Sequence[int], now: datetime | None = None, *, reclaim: datetime | None = None
) -> Outcome:
    """Claim, choose, build and send these deliveries over one provider connection.

    About a dozen queries per batch, whatever its size: claims, deliveries with their
    subscribers (whom they follow included), their topics and tastes, what they were sent
    before, the papers (reused across batches), the chosen papers, and the results written
    in bulk.

    `reclaim`: the lease of this batch's own claims, when the database interrupted it: those
    are taken back at once rather than when their lease ends. Raises BatchInterrupted when
    the database fails once the claims are made.
    """
    started = time.monotonic()
    now = now or timezone.now()
    outcome = Outcome()
    lease = lease_for(len(delivery_ids))
    claimed = claim_many(delivery_ids, now, lease, reclaim=reclaim)
    if claimed:
        try:
            with _older_objects_frozen():
                _Batch(claimed, now, outcome).run()
        except DatabaseError as exc:
            log.warning(
                "send_batch interrupted: the database failed (%s); its %d claims are taken "
                "back when it answers",
                short_error(exc),
                len(claimed),
            )
            raise BatchInterrupted(now + lease, exc) from exc
    log.info(
        "send_batch size=%d claimed=%d sent=%d skipped=%d failed=%d retried=%d duration_ms=%d",
        len(delivery_ids),
        len(claimed),
        outcome.sent,
        outcome.skipped,
        outcome.failed,
        outcome.retried,
        (time.monotonic() - started) * 1000,
    )
    return outcome


# Messages are built this many at a time before they are handed over, one by one. Building
# a digest after the last one's database write and hand-over ran 10 % slower than
# building a run of them (the templates, cards and encoders stay in the CPU's caches), and
# building has no effect outside this process: a crash still re-sends at most the one
# message in flight. A run of 100 holds about 6 MB.
BUILD_AHEAD = 100

# A full collection of everything, frozen or not, at most this often (see below).
FULL_COLLECTION_SECONDS = 60.0
_last_full_collection = time.monotonic()


@contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """The garbage collector leaves alone, for this batch, every object older than it.

    A worker keeps the papers' pool, their shared cards and rankings between batches:
    some 200,000 objects that every full collection walked again, 0.17 ms a digest.
    Freezing them keeps nothing alive that its reference count frees. Only garbage in
    reference cycles among them waits, for a full collection once the batch is over: one
    a minute at most, a quarter of a second each time. If batches overlap in threads, one's
    unfreeze only ends the other's saving early.
    """
    global _last_full_collection
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if time.monotonic() - _last_full_collection >= FULL_COLLECTION_SECONDS:
            gc.collect()
            _last_full_collection = time.monotonic()


# What a batch reads of its deliveries and their readers: choosing, building and
# recording use these. Every column of both rows (most of them dates, which SQLite gives
# back as text to parse) took 90 us a delivery, these 40; another column is still read
# when used, with a query of its own.
_BATCH_COLUMNS = (
    "subscriber_id",
    "period",
    "window_start",
    "window_end",
    "status",
    "attempts",
    "subscriber__email",
    "subscriber__status",
    "subscriber__paused_until",
    "subscriber__keywords",
    "subscriber__authors",
    "subscriber__organizations",
    "subscriber__max_papers",
)


class _Batch:
    """One batch of claimed deliveries, from loading to the recorded results."""

    def __init__(self, claimed: list[int], now: datetime, outcome: Outcome):
        self.now = now
        self.outcome = outcome
        self.sent: list[Delivery] = []  # recorded as accepted, not yet finished
        self.failed: set[int] = set()  # tried and refused: back in line, or failed
        self.refused_in_a_row = 0  # messages refused for now since the last acceptance
        self.deliveries = list(
            Delivery.objects.filter(pk__in=claimed)
            .select_related("subscriber")
            .only(*_BATCH_COLUMNS)
            .order_by("pk")
        )

    def run(self) -> None:
        ready = self._choose()
        if not ready:
            return
        connection = get_connection()
        try:
            connection.open()
        except Exception as exc:
            if classify(exc) != PROVIDER:
                raise
            # The provider cannot be reached at all: every claim goes back until it can,
            # none of them tried.
            self._give_back([d for d, _, _ in ready], provider_failed(exc), short_error(exc))
            return
        tried = 0  # deliveries of `ready` handed over or refused
        try:
            try:
                with _recorder() as record:
                    for start in range(0, len(ready), BUILD_AHEAD):
                        built = [
                            (delivery, self._build(delivery, reader, items))
                            for delivery, reader, items in ready[start : start + BUILD_AHEAD]
                        ]
                        for delivery, message in built:
                            self._send(delivery, message, connection, record)
                            tried += 1
            except throttle.Held as held:
                # Sending cannot go on for now: the deliveries not tried yet go back.
                self._finish_sent()
                rest = [d for d, _, _ in ready[tried:] if d.pk not in self.failed]
                self._give_back(rest, held.until, held.reason)
                return
            except Exception:
                # What was accepted is recorded; write the rest of it before giving up.
                # (A killed worker cannot: recovery finishes its recorded deliveries.)
                self._finish_sent()
                raise
            self._finish_sent()
        finally:
            try:
                connection.close()
            except Exception:
                log.warning("closing the email connection failed", exc_info=True)

    def _give_back(self, deliveries: list[Delivery], until: datetime, reason: str) -> None:
        """Claimed, not tried: back in line until `until` (a wall-clock moment), with no
        attempt counted, and one line in the log for all of them."""
        # On the batch's clock, the one its claims compare next_attempt_at with.
        until = self.now + max(timedelta(0), until - timezone.now())
        ids = [d.pk for d in deliveries]
        Delivery.objects.filter(
            pk__in=ids, status=Delivery.Status.SENDING, sent_at__isnull=True
        ).update(
            status=Delivery.Status.QUEUED,
            lease_until=None,
            next_attempt_at=until,
            enqueued_at=None,
            updated_at=timezone.now(),
        )
        self.outcome.held.extend(ids)
        self.outcome.held_until = max(self.outcome.held_until or until, until)
        log.warning(
            "send_batch held: %s; %d deliveries back in line until %s",
            reason,
            len(ids),
            until.isoformat(timespec="seconds"),
        )

    def _choose(self) -> list[tuple[Delivery, Reader, list[Item]]]:
        """Pick every delivery's papers and store them; skip those with nothing to send."""
        subscriber_ids = [d.subscriber_id for d in self.deliveries]
        topic_ids: dict[int, list[int]] = defaultdict(list)
        through = Subscriber.topics.through
        for subscriber_id, topic_id in through.objects.filter(
            subscriber_id__in=subscriber_ids
        ).values_list("subscriber_id", "topic_id"):
            topic_ids[subscriber_id].append(topic_id)
        span = (
            min(d.window_start for d in self.deliveries),
            max(d.window_end for d in self.deliveries),
        )
        pool = pool_for(span, self.now)
        sent: dict[int, set[int]] = defaultdict(set)
        chosen_before: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
        batch_ids = {d.pk for d in self.deliveries}
        for subscriber_id, delivery_id, paper_id, position, reason in _history(
            subscriber_ids, batch_ids, min(pool.ranking.by_id, default=0)
        ):
            if delivery_id in batch_ids:
                chosen_before[delivery_id].append((position, paper_id, reason))
            else:
                sent[subscriber_id].add(paper_id)
        # Tastes changed since their last fit are fitted now: a digest follows every rating
        # given before it, whether or not a worker or beat got to it first.
        profiles.fit_profiles(subscriber_ids)
        tastes = profiles.tastes_for(subscriber_ids)
        if tastes:
            first_paper = min(pool.ranking.by_id, default=0)
            for subscriber_id, rated in profiles.rated_papers(tastes, first_paper).items():
                sent[subscriber_id] |= rated
        ready: list[tuple[Delivery, Reader, list[Item]]] = []
        skipped: list[Delivery] = []
        new_rows: list[tuple[int, int, int, int, str]] = []
        for delivery in self.deliveries:
            subscriber = delivery.subscriber
            # Re-checked at send time: an unsubscribe, bounce or complaint since planning wins.
            if subscriber.status != Subscriber.Status.ACTIVE or subscriber.is_paused:
                delivery.skipped_reason = "Not subscribed at send time."
                skipped.append(delivery)
                continue
            reader = pool.reader(
                topic_ids[subscriber.pk],
                subscriber.keywords,
                subscriber.max_papers,
                tastes.get(subscriber.pk),
                authors=subscriber.followed_authors,
                organizations=subscriber.followed_organizations,
            )
            if delivery.pk in chosen_before:
                # A retry sends the papers its first attempt chose.
                picks = [
                    (paper_id, reason) for _, paper_id, reason in sorted(chosen_before[delivery.pk])
                ]
            else:
                window = (delivery.window_start, delivery.window_end)
                selection = pool.select(reader, window, sent[subscriber.pk])
                if selection.skipped:
                    delivery.skipped_reason = selection.skipped_reason
                    skipped.append(delivery)
                    continue
                picks = [(pick.paper_id, pick.reason) for pick in selection.picks]
                new_rows.extend(
                    (delivery.pk, paper_id, subscriber.pk, n, reason)
                    for n, (paper_id, reason) in enumerate(picks, 1)
                )
            items = [
                Item(paper_id, pool.cards[paper_id], reason)
                if paper_id in pool.cards
                else items_from_papers([(paper_id, reason)])[0]
                for paper_id, reason in picks
            ]
            ready.append((delivery, reader, items))
        self._skip(skipped)
        return self._store(ready, new_rows)

    def _store(
        self,
        ready: list[tuple[Delivery, Reader, list[Item]]],
        rows: list[tuple[int, int, int, int, str]],
    ) -> list[tuple[Delivery, Reader, list[Item]]]:
        try:
            with transaction.atomic():
                insert_rows(DeliveryPaper, _PAPER_ROW, rows, prepared=True)
        except IntegrityError:
            pass
        else:
            return ready
        # Another digest of one of these people took a paper meanwhile (two periods
        # racing). Each delivery's papers go in on their own: the readers who collided
        # are chosen for again on their next attempt, the rest of the batch goes out now.
        by_delivery: dict[int, list[tuple[int, int, int, int, str]]] = defaultdict(list)
        for row in rows:
            by_delivery[row[0]].append(row)
        stored = []
        for entry in ready:
            delivery = entry[0]
            try:
                with transaction.atomic():
                    insert_rows(DeliveryPaper, _PAPER_ROW, by_delivery[delivery.pk], prepared=True)
            except IntegrityError:
                _failed(
                    delivery, IntegrityError("paper already sent meanwhile"), self.outcome, self.now
                )
            else:
                stored.append(entry)
        return stored

    def _skip(self, skipped: list[Delivery]) -> None:
        for delivery in skipped:
            delivery.status = Delivery.Status.SKIPPED
            delivery.lease_until = None
            delivery.attempts += 1
            delivery.updated_at = self.now
        bulk_update_rows(
            skipped, ["status", "skipped_reason", "lease_until", "attempts", "updated_at"]
        )
        self.outcome.skipped += len(skipped)

    def _build(self, delivery: Delivery, reader: Reader, items: list[Item]) -> EmailMessage:
        return digest_message(
            delivery.subscriber,
            delivery_period(delivery),
            items,
            delivery_id=delivery.pk,
            reader=reader,
        )

    def _send(
        self, delivery: Delivery, message: EmailMessage, connection: object, record: SentRecorder
    ) -> None:
        message.connection = connection
        throttle.wait_for_send_slot()
        try:
            message.send()
        except Exception as exc:  # recorded on the row and retried or failed, never swallowed
            kind = classify(exc)
            self.refused_in_a_row = self.refused_in_a_row + 1 if kind == TRANSIENT else 0
            self.failed.add(delivery.pk)
            _failed(delivery, exc, self.outcome, self.now)
            if kind == PROVIDER or self.refused_in_a_row >= REFUSED_IN_A_ROW:
                # The provider refuses everyone for now: every worker waits, and this batch
                # gives back what it has not tried.
                raise throttle.Held(provider_failed(exc), short_error(exc)) from None
            return
        self.refused_in_a_row = 0
        provider_answered()
        # Recorded before the next message is handed over: a crash from here on re-sends
        # nothing, and one before it re-sends only this message.
        if record(delivery.pk, str(message.subject)):
            delivery.message_id = sent_message_id(message)[:255]
            self.sent.append(delivery)
        else:
            # The lease ran out while this batch was still sending (a stalled provider):
            # someone else may have claimed and sent it as well.
            log.warning("delivery %s was sent after its claim expired", delivery.pk)
        self.outcome.sent += 1

    def _finish_sent(self) -> None:
        """sending -> sent for every delivery recorded as accepted, in one statement."""
        now = timezone.now()
        for delivery in self.sent:
            delivery.mark_sent(now)
        bulk_update_rows(self.sent, _SENT_FIELDS)
        self.sent = []


def _history(
    subscriber_ids: list[int], batch_ids: set[int], first_paper: int
) -> Iterable[tuple[int, int, int, int, str]]:
    """(subscriber, delivery, paper, position, reason) of what these readers were sent
    that could come again, and of what the batch's deliveries chose on an earlier attempt.

    Only papers from the pool's lowest id up: every paper of the pool is there, and a
    reader's years of digests are not (the (subscriber, paper) index reads just the
    recent end of each reader's history, whatever its length)."""
    rows = DeliveryPaper.objects.filter(
        Q(subscriber_id__in=subscriber_ids, paper_id__gte=first_paper)
        | Q(delivery_id__in=batch_ids)
    )
    return rows.values_list("subscriber_id", "delivery_id", "paper_id", "position", "reason")


@cache
def _record_sent_sql() -> str:
    """One statement, written once: at one per message, building it with the ORM cost
    more than running it."""
    q = connection.ops.quote_name
    fields = {f.name: q(f.column) for f in Delivery._meta.concrete_fields}
    return (
        f"UPDATE {q(Delivery._meta.db_table)} SET {fields['sent_at']} = %s, "
        f"{fields['subject']} = %s WHERE {fields['id']} = %s AND {fields['status']} = %s "
        f"AND {fields['sent_at']} IS NULL"
    )


class SentRecorder:
    """Records that the provider accepted a delivery's message: its sent_at (and subject),
    in a single-row update committed at once. Called with (delivery id, subject); False
    when the claim was no longer ours.

    Only columns no index holds: the status and message id would each rewrite an index
    entry (on SQLite 0.3 ms a message against 0.05 ms), so they follow for the whole batch
    in one statement (`_finish_sent`), and recovery finishes them after a crash.

    One cursor for a batch's records, on the connection itself: `django.db.connection`
    is a proxy that looks the thread's connection up in context-local storage on every
    use (4 us), and a new cursor costs 10 us more, at one record per message.
    """

    def __init__(self, db: BaseDatabaseWrapper, cursor: CursorWrapper):
        self.db = db
        self.cursor = cursor
        self.sql = _record_sent_sql()

    def __call__(self, delivery_id: int, subject: str) -> bool:
        sent_at = self.db.ops.adapt_datetimefield_value(timezone.now())
        params = [sent_at, subject[:255], delivery_id, Delivery.Status.SENDING.value]
        self.cursor.execute(self.sql, params)
        return self.cursor.rowcount == 1


@contextmanager
def _recorder() -> Iterator[SentRecorder]:
    """A SentRecorder for a batch. On PostgreSQL its records commit without waiting for
    the WAL to reach the disk: a worker that dies cannot lose them (the server has them),
    only a crash of the database server could lose the last fraction of a second."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        if db.vendor != "postgresql":
            yield SentRecorder(db, cursor)
            return
        cursor.execute("SET synchronous_commit TO OFF")
        try:
            yield SentRecorder(db, cursor)
        finally:
            cursor.execute("RESET synchronous_commit")


def sent_message_id(message: object) -> str:
    """The provider's id when anymail reports one (webhooks name it), else our Message-ID."""
    status = getattr(message, "anymail_status", None)
    if status is not None and status.message_id is not None:
        return str(status.message_id)
    return message.extra_headers["Message-ID"]  # type: ignore[attr-defined]


def _failed(delivery: Delivery, exc: BaseException, outcome: Outcome, now: datetime) -> None:
    kind = classify(exc)
    attempts = delivery.attempts + 1
    error = f"{kind}: {type(exc).__name__}: {exc}"[:2000]
    if kind in (TRANSIENT, PROVIDER) and attempts < settings.SEND_MAX_ATTEMPTS:
        # On the batch's clock, the one its claims compare next_attempt_at with.
        retry_at = now + backoff(attempts)
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.QUEUED,
            attempts=attempts,
            last_error=error,
            next_attempt_at=retry_at,
            lease_until=None,
            # No task is known to carry it: recover_sends queues one once its wait is over,
            # unless this batch's task retries it itself first (mark_enqueued).
            enqueued_at=None,
            updated_at=timezone.now(),
        )
        outcome.retry.append(delivery.pk)
        outcome.retry_at = max(outcome.retry_at or retry_at, retry_at)
        log.info("delivery %s will be retried at %s: %s", delivery.pk, retry_at, error)
        return
    log.warning("delivery %s failed for good: %s", delivery.pk, error)
    _finish(delivery, Delivery.Status.FAILED, last_error=error)
    outcome.failed += 1
    if kind == PERMANENT and _is_address_problem(exc):
        refuse_address(delivery.subscriber, error)


def _is_address_problem(exc: BaseException) -> bool:
    return isinstance(
        exc, AnymailRecipientsRefused | AnymailInvalidAddress | smtplib.SMTPRecipientsRefused
    )


def refuse_address(subscriber: Subscriber, reason: str) -> None:
    """The provider refused this address: never email it again."""
    subscriber.mark_undeliverable(Subscriber.Status.BOUNCED, reason)


def _finish(delivery: Delivery, status: str, **fields: object) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=status,
        lease_until=None,
        attempts=delivery.attempts + 1,
        updated_at=timezone.now(),
        **fields,
    )


# --- queueing send tasks --------------------------------------------------------------------
def needing_a_task(now: datetime, *, tasks_lost: bool = False) -> list[int]:
    """Queued deliveries with no live send task: never enqueued, or enqueued so long ago
    that the task must be lost (any, when the broker is known to have lost its tasks), and
    not waiting out a backoff."""
    stale = now - timedelta(seconds=settings.SEND_REENQUEUE_SECONDS)
    untasked = Q() if tasks_lost else Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale)
    return list(
        Delivery.objects.filter(status=Delivery.Status.QUEUED)
        .filter(untasked)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def batches(ids: Sequence[int]) -> list[list[int]]:
    size = settings.SEND_BATCH_SIZE
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


class TaskLimits(TypedDict):
    soft_time_limit: int
    time_limit: int


def task_limits(count: int) -> TaskLimits:
    """Soft and hard time limits for a send task: both end before its claims' lease does,
    so a stuck task is stopped before anyone else may take its deliveries."""
    lease = int(lease_for(count).total_seconds())
    margin = max(1, min(30, lease // 10))
    return TaskLimits(soft_time_limit=lease - 2 * margin, time_limit=lease - margin)


def plan_and_enqueue(now: datetime, enqueue: Callable[[list[int]], None]) -> tuple[int, int]:
    """The beat job: plan due digests, then hand the deliveries that need a send task to
    `enqueue`, in chunks of SEND_BATCH_SIZE, once the plan is committed. Returns (planned,
    queued)."""
    from digest.mailing import planning

    with transaction.atomic():
        plan = planning.plan(now)
        queued = _enqueue_needed(now, enqueue)
    log.info("plan_digests planned=%d queued=%d", len(plan.created), queued)
    return len(plan.created), queued


def recover(
    now: datetime, enqueue: Callable[[list[int]], None], *, tasks_lost: bool = False
) -> tuple[int, int]:
    """The minute job: claims of senders that died go back in line, and every delivery
    waiting without a live send task gets one: every queued one when the broker lost its
    tasks (a Redis restart), without waiting SEND_REENQUEUE_SECONDS to be sure. Two
    indexed queries when all is well, so it can run far more often than planning. Returns
    (requeued, queued)."""
    from digest.mailing import planning

    with transaction.atomic():
        requeued = planning.requeue_expired(now)
        queued = _enqueue_needed(now, enqueue, tasks_lost=tasks_lost)
    if requeued or queued:
        log.info("recover_sends requeued=%d queued=%d", requeued, queued)
    return requeued, queued


def _enqueue_needed(
    now: datetime, enqueue: Callable[[list[int]], None], *, tasks_lost: bool = False
) -> int:
    ids = needing_a_task(now, tasks_lost=tasks_lost)
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    for chunk in batches(ids):
        transaction.on_commit(partial(enqueue, chunk))
    return len(ids)


def mark_enqueued(ids: Sequence[int], now: datetime | None = None) -> None:
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now or timezone.now())


def mark_not_enqueued(ids: Sequence[int]) -> None:
    """Their task could not be queued (the broker is down): the next recovery queues one."""
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.QUEUED).update(enqueued_at=None)


def database_retry_seconds(interruptions: int) -> float:
    """How long a batch the database interrupted waits before it tries again."""
    first, longest = DATABASE_RETRY_SECONDS
    return min(longest, first * 2**interruptions)
