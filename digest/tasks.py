"""Celery tasks: thin wrappers that take ids and call one service function; and the few
helpers that queue them once the caller's transaction commits.

Only task modules and the web layer (views, admin, urls) import this module: domain code
that needs work queued returns it or takes a callable (`dispatch.plan_and_enqueue`'s
`enqueue`, `services.subscribe`'s `send`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from anymail.signals import AnymailTrackingEvent
from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from digest.errors import short_error
from digest.mailing import dispatch
from digest.models import Paper
from digest.papers import topics
from digest.papers.ingestion import service
from digest.papers.ingestion.records import FeedError
from digest.taste import profiles
from subscriptions import services, webhooks

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def ingest_feeds() -> None:
    """Hourly (django-celery-beat): today's HF Daily Papers and the arXiv RSS feeds."""
    jobs = [
        ("hf-api", lambda: service.ingest_hf_day(timezone.localdate())),
        ("arxiv-rss", lambda: [service.ingest_arxiv()]),
    ]
    for source, job in jobs:
        # One feed being down must not keep the other from being read.
        try:
            for report in job():
                log.info("ingest %s %s: %s", report.source, report.label, report.counts)
        except FeedError as exc:
            log.warning("ingest failed: %s", exc)
            service.record_failure(source, "", exc)


@shared_task(ignore_result=True)
def plan_digests() -> None:
    """Every 10 minutes (django-celery-beat): plan due digests and queue their sending."""
    dispatch.plan_and_enqueue(timezone.now(), enqueue_send)


@shared_task(ignore_result=True)
def recover_sends() -> None:
    """Every minute (django-celery-beat): claims of dead senders go back in line and get a
    send task, so a crash delays digests by about a lease, not until the next plan; after
    a Redis restart every queued digest gets a task at once."""
    dispatch.recover(timezone.now(), enqueue_send, tasks_lost=broker_lost_its_tasks())


# recover_sends leaves this key in Redis: when it is gone, Redis lost everything it held
# (a restart without persistence, a failover, a flush), the send tasks with it.
TASKS_MARKER = "digest:send-tasks-kept"


def broker_lost_its_tasks() -> bool:
    """Whether the broker lost its queued tasks since recover_sends last looked (also true
    the first time it looks: queuing every waiting delivery again is harmless, their claims
    see to that). Sets the marker again."""
    url = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER or not url.startswith(("redis://", "rediss://")):
        return False
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        # SET NX: true only when the key was missing, in one step.
        return bool(client.set(TASKS_MARKER, "1", nx=True))
    except redis.RedisError:
        return False  # unreachable: nothing can be queued now anyway
    finally:
        client.close()


def enqueue_send(delivery_ids: list[int]) -> None:
    try:
        send_batch.apply_async(args=(delivery_ids,), **dispatch.task_limits(len(delivery_ids)))
    except Exception as exc:
        # The broker is down: the next recover_sends queues them, once it is back.
        log.warning(
            "could not queue a send task for %d deliveries (%s); recover_sends will",
            len(delivery_ids),
            short_error(exc),
        )
        dispatch.mark_not_enqueued(delivery_ids)


def max_retry_countdown() -> float:
    """A retry further out than this is left to recover_sends: a countdown must stay well
    inside the broker's visibility timeout, or Redis hands the waiting task to another
    worker before it is due."""
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] / 2


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=None
)
def send_batch(
    self, delivery_ids: list[int], reclaim: str | None = None, interrupted: int = 0
) -> None:
    """Send these deliveries; retry the transient failures after their backoff, and the
    whole batch a few seconds after the database failed under it (taking back its own
    claims: `reclaim` is their lease)."""
    try:
        outcome = dispatch.send_deliveries(
            delivery_ids, reclaim=datetime.fromisoformat(reclaim) if reclaim else None
        )
    except (dispatch.BatchInterrupted, DatabaseError) as exc:
        if self.request.is_eager:
            raise
        if isinstance(exc, dispatch.BatchInterrupted):
            reclaim = exc.claimed_until.isoformat()
        else:
            log.warning("send_batch: the database is unreachable (%s)", short_error(exc))
        # Broken connections go; the retry's first query opens a new one.
        connections.close_all()
        raise self.retry(
            args=[delivery_ids],
            kwargs={"reclaim": reclaim, "interrupted": interrupted + 1},
            countdown=dispatch.database_retry_seconds(interrupted),
            **dispatch.task_limits(len(delivery_ids)),
        ) from None
    if self.request.is_eager:
        return
    if outcome.held and outcome.held_until is not None:
        # Given back untried while the provider paused: a task of their own for when the
        # pause ends, not the refused ones' longer backoff.
        countdown = _countdown(outcome.held_until)
        if countdown is not None:
            dispatch.mark_enqueued(outcome.held)
            send_batch.apply_async(
                args=(outcome.held,),
                countdown=countdown,
                **dispatch.task_limits(len(outcome.held)),
            )
    if not outcome.retry or outcome.retry_at is None:
        return
    countdown = _countdown(outcome.retry_at)
    if countdown is None:
        return  # recover_sends queues them again once their backoff is over
    dispatch.mark_enqueued(outcome.retry)
    raise self.retry(
        args=[outcome.retry], countdown=countdown, **dispatch.task_limits(len(outcome.retry))
    )


def _countdown(moment: datetime) -> float | None:
    """Seconds until `moment`, or None when that is further out than a task may wait in
    Redis (recover_sends queues those once they are due)."""
    countdown = max(0.0, (moment - timezone.now()).total_seconds())
    return None if countdown > max_retry_countdown() else countdown


@shared_task(ignore_result=True)
def fit_profiles(subscriber_ids: list[int] | None = None) -> None:
    """Fit again the readers' profiles changed since their last fit: these readers' after
    a rating, everyone's every 10 minutes (django-celery-beat), which costs nothing when
    nobody rated anything."""
    fitted = profiles.fit_profiles(subscriber_ids)
    if fitted:
        log.info("fit_profiles fitted=%d", fitted)


@shared_task(ignore_result=True)
def retag_topics(topic_ids: list[int]) -> None:
    """Re-tag every paper for these topics after an editor changed them."""
    written = topics.retag_topics(topic_ids)
    log.info("retagged topics %s: %d automatic assignments", topic_ids, written)


@shared_task(ignore_result=True)
def retag_papers(paper_ids: list[int]) -> None:
    topics.tag_papers(list(Paper.objects.filter(pk__in=paper_ids)))


@shared_task(bind=True, ignore_result=True, max_retries=8)
def apply_email_event(self, event_pk: int) -> None:
    """Apply one ESP webhook event (bounce, complaint, delivery, ...); running it twice is
    harmless."""
    try:
        webhooks.apply_event(event_pk)
    except DatabaseError as exc:
        if self.request.is_eager:
            raise  # in-process: the webhook answers 500 and the ESP sends the event again
        # The webhook already answered 200, so the ESP will not resend: retry here.
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc


@shared_task(ignore_result=True)
def send_account_email(kind: str, subscriber_id: int, new_email: str = "") -> None:
    """A confirmation, preferences link or email-change link, queued by a web request."""
    services.send_account_email(kind, subscriber_id, new_email)


# --- queueing, after commit -----------------------------------------------------------------
def queue_account_email(kind: str, subscriber_id: int, new_email: str = "") -> None:
    """services' `send` for web requests: the email goes out from a task after commit, so
    the answer takes as long whether or not mail goes out."""

    def enqueue() -> None:
        try:
            send_account_email.delay(kind, subscriber_id, new_email)
        except Exception as exc:
            # The visitor sees the usual page either way and can ask again.
            log.warning(
                "could not queue the %s email for subscriber %s: %s",
                kind,
                subscriber_id,
                short_error(exc),
            )

    transaction.on_commit(enqueue)


def queue_fit(subscriber_id: int) -> None:
    """Fit this reader's profile soon, once the rating is committed, in a worker.

    The beat schedule fits every changed profile anyway, and a send fits the stale profiles
    of its batch first, so a broker that is down loses nothing: the reader's click is
    already stored, and must not answer with an error. Without a broker (tasks in-process)
    nothing is queued: fitting would run in the request, and the send does it.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return

    def enqueue() -> None:
        try:
            fit_profiles.delay([subscriber_id])
        except Exception:
            log.warning("could not queue fit_profiles; beat will fit it", exc_info=True)

    transaction.on_commit(enqueue)


def receive_tracking_event(
    sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: object
) -> None:
    """anymail's `tracking` signal: store the event once, apply it in a task after commit."""
    pending = webhooks.record_tracking_event(event, esp_name)
    if pending is not None:
        transaction.on_commit(partial(apply_email_event.delay, pending))
