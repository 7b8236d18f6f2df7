"""What is waiting to be sent, and whether sending has stalled: for the dashboard,
`/healthz` and `/metrics`.

A delivery is *waiting* when it could be sent now and is not: queued and past any backoff,
or claimed by a sender whose lease ran out. It has waited since it was planned, or since
its backoff ended. Sending has *stalled* when the longest wait passes SEND_STALL_SECONDS
plus the time the whole backlog takes at SEND_RATE_PER_SECOND: a big send is not a stall,
a small one that does not move is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce

from digest.mailing.dispatch import claimable
from digest.models import Delivery


@dataclass(frozen=True)
class Backlog:
    waiting: int  # could go now and have not
    retrying: int  # queued, waiting out a backoff or the provider's pause
    sending: int  # claimed by a live sender
    oldest_wait: timedelta | None  # of the waiting ones

    @property
    def stall_after(self) -> timedelta:
        drain = self.waiting / settings.SEND_RATE_PER_SECOND
        return timedelta(seconds=settings.SEND_STALL_SECONDS + drain)

    @property
    def stalled(self) -> bool:
        return self.oldest_wait is not None and self.oldest_wait > self.stall_after


def load_backlog(now: datetime) -> Backlog:
    """Two aggregate queries, on the (status, lease_until) index's rows."""
    waiting = Delivery.objects.filter(claimable(now)).aggregate(
        n=Count("pk"), since=Min(Coalesce("next_attempt_at", "created_at"))
    )
    others = Delivery.objects.filter(status__in=["queued", "sending"]).aggregate(
        retrying=Count("pk", filter=Q(status="queued", next_attempt_at__gt=now)),
        sending=Count("pk", filter=Q(status="sending", lease_until__gte=now)),
    )
    since = waiting["since"]
    return Backlog(
        waiting=waiting["n"],
        retrying=others["retrying"],
        sending=others["sending"],
        oldest_wait=max(timedelta(0), now - since) if since is not None else None,
    )
