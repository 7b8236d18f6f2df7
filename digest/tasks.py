"""Celery tasks: thin wrappers that take ids and call one service function; and the few
helpers that queue them once the caller's transaction commits.

Only task modules and the web layer (views, admin, urls) import this module: domain code
that needs work queued returns it or takes a callable (`dispatch.plan_and_enqueue`'s
`enqueue`, `services.subscribe`'s `send`).
"""

from __future__ import annotations

import logging
from functools import partial

from anymail.signals import AnymailTrackingEvent
from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

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
        lambda: service.ingest_hf_day(timezone.localdate()),
        lambda: [service.ingest_arxiv()],
    ]
    for job in jobs:
        # One feed being down must not keep the other from being read.
        try:
            for report in job():
                log.info("ingest %s %s: %s", report.source, report.label, report.counts)
        except FeedError as exc:
            log.warning("ingest failed: %s", exc)


@shared_task(ignore_result=True)
def plan_digests() -> None:
    """Every 10 minutes (django-celery-beat): plan due digests and queue their sending."""
    dispatch.plan_and_enqueue(timezone.now(), enqueue_send)


@shared_task(ignore_result=True)
def recover_sends() -> None:
    """Every minute (django-celery-beat): claims of dead senders go back in line and get a
    send task, so a crash delays digests by about a lease, not until the next plan."""
    dispatch.recover(timezone.now(), enqueue_send)


def enqueue_send(delivery_ids: list[int]) -> None:
    send_batch.apply_async(args=(delivery_ids,), **dispatch.task_limits(len(delivery_ids)))


def max_retry_countdown() -> float:
    """A retry further out than this is left to recover_sends: a countdown must stay well
    inside the broker's visibility timeout, or Redis hands the waiting task to another
    worker before it is due."""
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] / 2


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=None
)
def send_batch(self, delivery_ids: list[int]) -> None:
    """Send these deliveries; retry the transient failures after their backoff."""
    outcome = dispatch.send_deliveries(delivery_ids)
    if not outcome.retry or self.request.is_eager or outcome.retry_at is None:
        return
    countdown = max(0.0, (outcome.retry_at - timezone.now()).total_seconds())
    if countdown > max_retry_countdown():
        return  # recover_sends queues them again once their backoff is over
    dispatch.mark_enqueued(outcome.retry)
    raise self.retry(
        args=[outcome.retry], countdown=countdown, **dispatch.task_limits(len(outcome.retry))
    )


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
        except Exception:
            # The visitor sees the usual page either way and can ask again.
            log.exception("could not queue the %s email for subscriber %s", kind, subscriber_id)

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
