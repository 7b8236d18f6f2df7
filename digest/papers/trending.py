"""How much a paper is trending: a pure function of its upvotes, their history and its age."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from digest.models import Paper

# Recent upvotes count more than old ones: a paper gaining votes today is trending now.
VELOCITY_WEIGHT = 2.0
VELOCITY_WINDOW = timedelta(hours=24)
# How fast a featured paper fades: the score halves after about 0.6 days, and a week-old
# paper needs about 20 times the votes of a fresh one to rank level with it.
GRAVITY = 1.5


def trending_score(
    *,
    upvotes: int,
    featured_on: date | None,
    now: datetime,
    history: Sequence[tuple[datetime, int]] = (),
) -> float:
    """How much a paper is trending at `now`.

        score = (upvotes + VELOCITY_WEIGHT * gained) / (1 + age_days) ** GRAVITY

    - `upvotes`: the latest count.
    - `gained`: upvotes gained within the last VELOCITY_WINDOW, measured against the newest
      observation from before the window (or the oldest one, when all are recent); only
      observed gains count, so a paper first seen with 40 votes has gained 0 so far.
    - `age_days`: days since the start of the day the feed featured the paper (UTC); a date
      in the future counts as today; an unknown date counts as 30 days old.

    The form is Hacker News' gravity ranking with a velocity term: it is monotonic in
    upvotes and in recent gain, and decays smoothly with age, so yesterday's hit does not
    bury today's papers but still beats today's papers nobody voted for.
    """
    upvotes = max(0, upvotes)
    gained = max(0, upvotes - _baseline(history, now, default=upvotes))
    if featured_on is None:
        age_days = 30.0
    else:
        featured_at = datetime.combine(featured_on, time.min, tzinfo=UTC)
        age_days = max(0.0, (now - featured_at).total_seconds() / 86_400)
    return (upvotes + VELOCITY_WEIGHT * gained) / (1.0 + age_days) ** GRAVITY


def _baseline(history: Sequence[tuple[datetime, int]], now: datetime, *, default: int) -> int:
    """The upvote count to measure recent gain against."""
    if not history:
        return default
    cutoff = now - VELOCITY_WINDOW
    before = [(taken_at, votes) for taken_at, votes in history if taken_at <= cutoff]
    if before:
        return max(before)[1]
    return min(history)[1]


def paper_trending(paper: Paper, now: datetime | None = None) -> float:
    """A paper's trending score; uses its prefetched snapshots when present."""
    history = [(s.taken_at, s.upvotes) for s in paper.snapshots.all()]
    return trending_score(
        upvotes=paper.upvotes,
        featured_on=paper.featured_on,
        now=now or timezone.now(),
        history=history,
    )
