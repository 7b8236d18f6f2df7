"""Digest periods in the subscriber's own time zone: pure functions, no database.

A daily period is the subscriber's local date (`daily:2026-11-26`), a weekly one the ISO
week of it (`weekly:2026-W48`). A period is due once its local send moment has passed:
the send hour that day (daily), or the send weekday and hour that week (weekly).

`next_due` is when planning must look at a reader again (their `next_due_at`): the send
moment of the period that holds `now`, or of the one after when that one is planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAILY = "daily"
WEEKLY = "weekly"
# How many featured days a digest covers, ending with the local date it is sent on.
# Daily reaches one day back so that papers featured after yesterday's digest still come.
WINDOW_DAYS = {DAILY: 2, WEEKLY: 7}


@dataclass(frozen=True)
class Period:
    key: str
    frequency: str
    local_date: date
    window: tuple[date, date]

    @property
    def label(self) -> str:
        """For people: "Thursday, 26 November 2026" or "the week of 23 November 2026"."""
        return _labels(self.frequency, self.local_date)[0]

    @property
    def date_label(self) -> str:
        """Short, for a subject line: "Nov 26", or "week of Nov 23" for a weekly digest."""
        return _labels(self.frequency, self.local_date)[1]


@lru_cache(maxsize=256)
def _labels(frequency: str, local_date: date) -> tuple[str, str]:
    """(label, date_label), once per date: strftime is slow, and thousands of digests share a
    date."""
    if frequency == WEEKLY:
        monday = local_date - timedelta(days=local_date.weekday())
        return f"the week of {monday.day} {monday:%B %Y}", f"week of {monday:%b} {monday.day}"
    return (
        f"{local_date:%A}, {local_date.day} {local_date:%B %Y}",
        f"{local_date:%b} {local_date.day}",
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # Names are checked at signup; a zone removed from tzdata later falls back to UTC.
        return ZoneInfo("UTC")


def period_at(frequency: str, timezone_name: str, now: datetime) -> Period:
    """The period that contains `now` for this subscriber, due or not."""
    local = now.astimezone(zone(timezone_name)).date()
    days = WINDOW_DAYS[frequency]
    window = (local - timedelta(days=days - 1), local)
    if frequency == WEEKLY:
        year, week, _ = local.isocalendar()
        return Period(f"{WEEKLY}:{year}-W{week:02d}", WEEKLY, local, window)
    return Period(f"{DAILY}:{local.isoformat()}", DAILY, local, window)


# Pure, and planning asks them the same questions for thousands of readers at one `now`
# (the same zone, hour and frequency): each answer is worked out once.
@lru_cache(maxsize=4096)
def due_period(
    frequency: str, weekday: int, send_hour: int, timezone_name: str, now: datetime
) -> Period | None:
    """The current period if its local send moment has passed at `now`, else None."""
    local = now.astimezone(zone(timezone_name))
    if frequency == WEEKLY:
        passed = (local.weekday(), local.hour) >= (weekday, send_hour)
    else:
        passed = local.hour >= send_hour
    return period_at(frequency, timezone_name, now) if passed else None


def send_moment(
    frequency: str, weekday: int, send_hour: int, timezone_name: str, local_date: date
) -> datetime:
    """When the period holding this local date becomes due, in UTC: the first instant at
    which `due_period` says it is. An hour that a clock change skips (02:00 in spring)
    comes as the hour after it, an hour it repeats at its first occurrence."""
    day = local_date
    if frequency == WEEKLY:
        day = local_date - timedelta(days=local_date.weekday() - weekday)
    return datetime.combine(day, time(send_hour), tzinfo=zone(timezone_name)).astimezone(UTC)


@lru_cache(maxsize=4096)
def next_due(
    frequency: str,
    weekday: int,
    send_hour: int,
    timezone_name: str,
    now: datetime,
    *,
    planned: bool,
) -> datetime:
    """When planning must next look at this reader.

    The send moment of the period holding `now`; when that has passed and the period is
    `planned` (it has its delivery), the next period's. A moment in the past means due
    now: an unplanned period whose moment has passed.
    """
    local = now.astimezone(zone(timezone_name)).date()
    moment = send_moment(frequency, weekday, send_hour, timezone_name, local)
    if moment > now or not planned:
        return moment
    step = timedelta(days=7 if frequency == WEEKLY else 1)
    return send_moment(frequency, weekday, send_hour, timezone_name, local + step)
