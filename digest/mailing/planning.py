"""Planning: a queued Delivery for every reader whose period is due, once.

A pass reads only the readers whose `next_due_at` has come (an index range), not the
whole list: its cost follows how many are due. Each reader read is moved to the send
moment of their next period. The unique (subscriber, period) constraint is the guard:
planning twice, or in two processes at once, creates nothing more. Sending is
`digest.mailing.dispatch`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from digest.bulk import insert_rows, update_rows
from digest.mailing.periods import Period, due_period, next_due
from digest.models import Delivery
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

PLAN_CHUNK = 2_000
# A true next_due_at is at most a week and a clock change ahead (a weekly reader just
# planned); one further out was set wrong, and is read again rather than trusted.
HORIZON = timedelta(days=8)
# The columns a planned delivery is given; the others take their defaults.
_NEW_DELIVERY = ("subscriber", "period", "window_start", "window_end", "created_at")


@dataclass
class Plan:
    created: list[int] = field(default_factory=list)  # new Delivery ids, queued
    looked_at: int = 0  # readers read: the due ones, and any whose next_due_at was unknown


def _unpaused_active(now: datetime) -> QuerySet[Subscriber]:
    return Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).filter(
        Q(paused_until__isnull=True) | Q(paused_until__lte=now)
    )


def _to_look_at(now: datetime) -> list[Q]:
    """Who planning reads, one indexed range each, in order: the due (next_due_at
    passed), the unknown (empty: a row made without the model's methods), and the
    implausible (further ahead than any true one). Separate queries, because an OR of them
    makes SQLite give up the (status, next_due_at) index and read everyone."""
    return [
        Q(next_due_at__lte=now),
        Q(next_due_at__isnull=True),
        Q(next_due_at__gt=now + HORIZON),
    ]


def due_subscribers(now: datetime) -> Iterator[tuple[int, Period]]:
    """(subscriber id, period) for every unpaused active reader whose period is due at
    `now`, read from the whole list, whatever next_due_at says: for a dry run at any
    moment, which must not move anyone on. Planning itself reads only the due."""
    rows = (
        _unpaused_active(now)
        .values_list("pk", "frequency", "weekday", "send_hour", "timezone")
        .order_by("pk")
    )
    for pk, frequency, weekday, send_hour, tz in rows.iterator(chunk_size=PLAN_CHUNK):
        period = due_period(frequency, weekday, send_hour, tz, now)
        if period is not None:
            yield pk, period


def plan(now: datetime) -> Plan:
    """Create a queued Delivery for every due subscriber that has none for its period, and
    move each one read to its next send moment.

    Reads only the readers due (and any whose next_due_at is unknown or implausible), a
    chunk at a time: each chunk's readers leave the due set as it is written, so the next
    query finds the rest. The unique (subscriber, period) constraint is the guard: a
    second planner at the same moment creates nothing more.
    """
    result = Plan()
    requeue_expired(now)
    for condition in _to_look_at(now):
        while True:
            rows = list(
                _unpaused_active(now)
                .filter(condition)
                .values_list("pk", "frequency", "weekday", "send_hour", "timezone")[:PLAN_CHUNK]
            )
            if rows:
                _plan_chunk(rows, now, result)
            if len(rows) < PLAN_CHUNK:
                break
    return result


def requeue_expired(now: datetime) -> int:
    """Deliveries whose sender died mid-send (lease over, never finished) go back in line,
    marked as having no send task, so that the same pass queues one for them; those it had
    recorded as accepted by the provider are sent. Returns how many went back in line."""
    expired = Delivery.objects.filter(status=Delivery.Status.SENDING, lease_until__lt=now)
    expired.finish_recorded(now)
    return expired.filter(sent_at__isnull=True).update(
        status=Delivery.Status.QUEUED, lease_until=None, enqueued_at=None, updated_at=now
    )


def _plan_chunk(rows: list[tuple[int, str, int, int, str]], now: datetime, result: Plan) -> None:
    due: list[tuple[int, Period]] = []
    readers: list[tuple[int, datetime]] = []  # (subscriber id, next_due_at)
    for pk, frequency, weekday, send_hour, tz in rows:
        period = due_period(frequency, weekday, send_hour, tz, now)
        if period is not None:
            due.append((pk, period))
        after = next_due(frequency, weekday, send_hour, tz, now, planned=period is not None)
        # Always ahead and within the horizon, so that this reader leaves every query of
        # this pass (a minute late at worst, were the arithmetic ever wrong).
        after = min(max(after, now + timedelta(minutes=1)), now + HORIZON)
        readers.append((pk, after))
    if due:
        _create_deliveries(due, now, result)
    update_rows(Subscriber, ["next_due_at"], readers)
    result.looked_at += len(rows)


def _create_deliveries(batch: list[tuple[int, Period]], now: datetime, result: Plan) -> None:
    fresh = [(pk, period.key, *period.window, now) for pk, period in batch]
    # The unique (subscriber, period) constraint drops what exists already (planned by
    # another planner first, or before a reader's next_due_at was lost); the other columns
    # take their defaults (queued, no attempts). Asking first cost a query per chunk and
    # most of its time in Django's handling of a 2,000-value IN list.
    created = insert_rows(Delivery, _NEW_DELIVERY, fresh, ignore_conflicts=True)
    result.created.extend(created)
