"""Periods are computed in the subscriber's own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from digest.mailing.periods import due_period, period_at

# Thursday 26 November 2026, 06:30 UTC.
NOW = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)


def test_a_daily_period_is_the_local_date():
    assert period_at("daily", "Europe/Berlin", NOW).key == "daily:2026-11-26"
    assert period_at("daily", "America/Los_Angeles", NOW).key == "daily:2026-11-25"


def test_a_weekly_period_is_the_iso_week_of_the_local_date():
    assert period_at("weekly", "UTC", NOW).key == "weekly:2026-W48"
    # Monday 00:30 in Tokyo is still Sunday of the week before in UTC.
    assert period_at("weekly", "Asia/Tokyo", datetime(2026, 11, 22, 15, 30, tzinfo=UTC)).key == (
        "weekly:2026-W48"
    )


def test_a_daily_digest_is_due_once_the_local_send_hour_has_passed():
    assert due_period("daily", 0, 7, "Europe/Berlin", NOW) is not None  # 07:30 in Berlin
    assert due_period("daily", 0, 8, "Europe/Berlin", NOW) is None  # not 08:00 yet
    assert due_period("daily", 0, 7, "America/New_York", NOW) is None  # 01:30 in New York


def test_a_weekly_digest_is_due_from_its_weekday_and_hour():
    thursday = 3
    assert due_period("weekly", thursday, 6, "UTC", NOW) is not None
    assert due_period("weekly", thursday, 7, "UTC", NOW) is None
    assert due_period("weekly", 0, 23, "UTC", NOW) is not None  # Monday has passed
    assert due_period("weekly", 5, 0, "UTC", NOW) is None  # Saturday has not come


def test_windows_cover_the_featured_days_of_the_period():
    assert period_at("daily", "UTC", NOW).window == (date(2026, 11, 25), date(2026, 11, 26))
    assert period_at("weekly", "UTC", NOW).window == (date(2026, 11, 20), date(2026, 11, 26))


def test_labels_read_like_a_person_wrote_them():
    daily, weekly = period_at("daily", "UTC", NOW), period_at("weekly", "UTC", NOW)

    assert daily.label == "Thursday, 26 November 2026"
    assert daily.date_label == "Nov 26"
    assert weekly.label == "the week of 23 November 2026"
    assert weekly.date_label == "week of Nov 23"


def test_an_unknown_time_zone_falls_back_to_utc():
    assert period_at("daily", "Mars/Olympus", NOW).key == "daily:2026-11-26"
