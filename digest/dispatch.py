"""Sending planned deliveries: claim, choose, build, send, record; exactly once.

- A delivery is claimed by a compare-and-swap update (queued -> sending, with a lease), so
  two workers, or one task delivered twice, never both send it; a sent delivery is never
  claimed again. A worker that dies mid-send leaves its claims to expire; the planner puts
  them back in line (digests.requeue_expired).
- Each message is recorded as sent the moment the provider accepts it, not at the end of
  the batch, so a crash loses at most the message in flight, and that one is sent again
  with the same Message-ID.
- Transient failures (the provider's 5xx or 429, timeouts, dropped connections) go back to
  the queue with exponential backoff and jitter, up to SEND_MAX_ATTEMPTS; permanent ones
  (an invalid or refused address) fail the delivery and mark the subscriber bounced.
"""

from __future__ import annotations

import logging
import random
import smtplib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from digest import throttle
from digest.digests import CandidatePool, delivery_message, prepare
from digest.models import Delivery
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

TRANSIENT = "transient"
PERMANENT = "permanent"


@dataclass
class Outcome:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retry: list[int] = field(default_factory=list)
    retry_at: datetime | None = None

    @property
    def retried(self) -> int:
        return len(self.retry)


def lease_for(count: int) -> timedelta:
    """Long enough to send `count` messages at the provider's rate, with room to spare."""
    seconds = max(settings.SEND_LEASE_SECONDS, 2 * count / settings.SEND_RATE_PER_SECOND)
    return timedelta(seconds=seconds)


def claim(delivery_id: int, now: datetime, lease: timedelta) -> bool:
    """queued -> sending, once, and only when any backoff is over."""
    return (
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=Delivery.Status.SENDING, lease_until=now + lease, updated_at=now)
        == 1
    )


def classify(exc: BaseException) -> str:
    """Whether trying again later can help."""
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return PERMANENT
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code
        return TRANSIENT if status is None or status == 429 or status >= 500 else PERMANENT
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return PERMANENT if codes and all(500 <= code < 600 for code in codes) else TRANSIENT
    if isinstance(exc, smtplib.SMTPResponseException):
        return PERMANENT if 500 <= exc.smtp_code < 600 else TRANSIENT
    # Disconnects, timeouts, refused connections, anything unknown: try again later, up to
    # the attempt limit, rather than drop a digest for good on a hiccup.
    return TRANSIENT


def backoff(attempt: int) -> timedelta:
    """Exponential with full jitter: base * 2^(attempt-1), at most an hour, times 0.5-1.5."""
    base = settings.SEND_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1)
    return timedelta(seconds=min(base, 3600) * random.uniform(0.5, 1.5))


def send_deliveries(delivery_ids: Sequence[int], now: datetime | None = None) -> Outcome:
    """Claim, choose, build and send these deliveries over one provider connection."""
    started = time.monotonic()
    now = now or timezone.now()
    outcome = Outcome()
    lease = lease_for(len(delivery_ids))
    claimed = [pk for pk in delivery_ids if claim(pk, now, lease)]
    if claimed:
        _send_claimed(claimed, now, outcome)
    log.info(
        "send_batch size=%d claimed=%d sent=%d skipped=%d failed=%d retried=%d duration_ms=%d",
        len(delivery_ids), len(claimed), outcome.sent, outcome.skipped, outcome.failed,
        outcome.retried, (time.monotonic() - started) * 1000,
    )  # fmt: skip
    return outcome


def _send_claimed(claimed: list[int], now: datetime, outcome: Outcome) -> None:
    pool = CandidatePool(now)
    deliveries = list(Delivery.objects.filter(pk__in=claimed).select_related("subscriber"))
    connection = get_connection()
    try:
        connection.open()
    except Exception as exc:
        # The provider cannot be reached at all: every claim goes back with a backoff.
        for delivery in deliveries:
            _failed(delivery, exc, outcome)
        return
    try:
        for delivery in deliveries:
            _send_one(delivery, connection, pool, outcome)
    finally:
        try:
            connection.close()
        except Exception:
            log.warning("closing the email connection failed", exc_info=True)


def _send_one(
    delivery: Delivery, connection: object, pool: CandidatePool, outcome: Outcome
) -> None:
    subscriber = delivery.subscriber
    # Re-checked at send time: an unsubscribe, bounce or complaint since planning wins.
    if subscriber.status != Subscriber.Status.ACTIVE or subscriber.is_paused:
        _finish(delivery, Delivery.Status.SKIPPED, skipped_reason="Not subscribed at send time.")
        outcome.skipped += 1
        return
    if not prepare(delivery, pool):
        outcome.skipped += 1
        return
    message = delivery_message(delivery)
    message.connection = connection
    throttle.wait_for_send_slot()
    try:
        message.send()
    except Exception as exc:  # recorded on the row and retried or failed, never swallowed
        _failed(delivery, exc, outcome)
        return
    _finish(
        delivery,
        Delivery.Status.SENT,
        subject=message.subject,
        message_id=sent_message_id(message),
        sent_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    )
    outcome.sent += 1


def sent_message_id(message: object) -> str:
    """The provider's id when anymail reports one (webhooks name it), else our Message-ID."""
    status = getattr(message, "anymail_status", None)
    if status is not None and status.message_id is not None:
        return str(status.message_id)
    return message.extra_headers["Message-ID"]  # type: ignore[attr-defined]


def _failed(delivery: Delivery, exc: BaseException, outcome: Outcome) -> None:
    kind = classify(exc)
    attempts = delivery.attempts + 1
    error = f"{kind}: {type(exc).__name__}: {exc}"[:2000]
    if kind == TRANSIENT and attempts < settings.SEND_MAX_ATTEMPTS:
        retry_at = timezone.now() + backoff(attempts)
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.QUEUED, attempts=attempts, last_error=error,
            next_attempt_at=retry_at, lease_until=None, updated_at=timezone.now(),
        )  # fmt: skip
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
        status=status, lease_until=None, attempts=delivery.attempts + 1,
        updated_at=timezone.now(), **fields,
    )  # fmt: skip


# --- queueing send tasks --------------------------------------------------------------------
def needing_a_task(now: datetime) -> list[int]:
    """Queued deliveries with no live send task: never enqueued, or enqueued so long ago
    that the task must be lost, and not waiting out a backoff."""
    stale = now - timedelta(seconds=settings.SEND_REENQUEUE_SECONDS)
    return list(
        Delivery.objects.filter(status=Delivery.Status.QUEUED)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def batches(ids: Sequence[int]) -> list[list[int]]:
    size = settings.SEND_BATCH_SIZE
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def task_limits(count: int) -> dict[str, float]:
    """Soft and hard time limits for a send task: both end before its claims' lease does,
    so a stuck task is stopped before anyone else may take its deliveries."""
    lease = lease_for(count).total_seconds()
    margin = min(30.0, lease / 10)
    return {"soft_time_limit": lease - 2 * margin, "time_limit": lease - margin}


def plan_and_enqueue(now: datetime) -> tuple[int, int]:
    """The beat job: plan due digests, then queue send tasks of SEND_BATCH_SIZE deliveries
    once the plan is committed. Returns (planned, queued)."""
    from digest import digests
    from digest.tasks import send_batch

    with transaction.atomic():
        plan = digests.plan(now)
        ids = needing_a_task(now)
        Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
        chunks = batches(ids)

        def enqueue() -> None:
            for chunk in chunks:
                send_batch.apply_async(args=[chunk], **task_limits(len(chunk)))

        transaction.on_commit(enqueue)
    log.info("plan_digests planned=%d queued=%d tasks=%d", len(plan.created), len(ids), len(chunks))
    return len(plan.created), len(ids)


def mark_enqueued(ids: Sequence[int], now: datetime | None = None) -> None:
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now or timezone.now())
