"""Planning: a queued Delivery for every reader whose period is due, once.

The unique (subscriber, period) constraint is the guard: planning twice, or in two
processes at once, creates nothing more. Sending is `digest.mailing.dispatch`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from digest.bulk import bulk_insert_rows
from digest.mailing.periods import Period, due_period
from digest.models import Delivery
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

PLAN_CHUNK = 2_000


@dataclass
class Plan:
    created: list[int] = field(default_factory=list)  # new Delivery ids, queued


def due_subscribers(now: datetime) -> Iterable[tuple[int, Period]]:
    """(subscriber id, period) for every active, unpaused subscriber whose period is due."""
    rows = (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
        .filter(Q(paused_until__isnull=True) | Q(paused_until__lte=now))
        .values_list("pk", "frequency", "weekday", "send_hour", "timezone")
        .order_by("pk")
    )
    for pk, frequency, weekday, send_hour, tz in rows.iterator(chunk_size=PLAN_CHUNK):
        period = due_period(frequency, weekday, send_hour, tz, now)
        if period is not None:
            yield pk, period


def plan(now: datetime) -> Plan:
    """Create a queued Delivery for every due subscriber that has none for its period.

    The unique (subscriber, period) constraint is the guard: a second planner at the same
    moment creates nothing more.
    """
    result = Plan()
    requeue_expired(now)
    batch: list[tuple[int, Period]] = []
    for item in due_subscribers(now):
        batch.append(item)
        if len(batch) == PLAN_CHUNK:
            _plan_batch(batch, now, result)
            batch = []
    if batch:
        _plan_batch(batch, now, result)
    return result


def requeue_expired(now: datetime) -> int:
    """Deliveries whose sender died mid-send (lease over, never finished) go back in line,
    marked as having no send task, so that the same pass queues one for them."""
    return Delivery.objects.filter(status=Delivery.Status.SENDING, lease_until__lt=now).update(
        status=Delivery.Status.QUEUED, lease_until=None, enqueued_at=None, updated_at=now
    )


def _plan_batch(batch: list[tuple[int, Period]], now: datetime, result: Plan) -> None:
    periods = {p.key for _, p in batch}
    existing = set(
        Delivery.objects.filter(
            subscriber_id__in=[pk for pk, _ in batch], period__in=periods
        ).values_list("subscriber_id", "period")
    )
    fresh = [
        Delivery(
            subscriber_id=pk,
            period=period.key,
            window_start=period.window[0],
            window_end=period.window[1],
            created_at=now,
        )
        for pk, period in batch
        if (pk, period.key) not in existing
    ]
    # The unique (subscriber, period) constraint drops what another planner created first.
    created = bulk_insert_rows(fresh, ignore_conflicts=True)
    result.created.extend(created)
