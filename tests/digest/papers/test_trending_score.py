"""trending_score: a pure function of upvotes, recent velocity, the featured date and now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from digest.papers.trending import trending_score

NOW = datetime(2025, 11, 20, 18, tzinfo=UTC)
TODAY = date(2025, 11, 20)


def score(upvotes=10, featured_on=TODAY, now=NOW, history=()):
    return trending_score(upvotes=upvotes, featured_on=featured_on, now=now, history=history)


def test_more_upvotes_score_higher():
    assert score(upvotes=20) > score(upvotes=10) > score(upvotes=0) == 0


def test_older_papers_fade():
    assert (
        score(featured_on=TODAY)
        > score(featured_on=TODAY - timedelta(days=1))
        > score(featured_on=TODAY - timedelta(days=7))
    )


def test_recent_gains_count_more_than_old_votes():
    steady = [(NOW - timedelta(days=2), 40), (NOW - timedelta(hours=30), 40)]
    rising = [(NOW - timedelta(days=2), 10), (NOW - timedelta(hours=30), 10)]

    assert score(upvotes=40, history=rising) > score(upvotes=40, history=steady)


def test_only_observed_gains_count():
    first_seen_today = [(NOW - timedelta(hours=2), 40)]

    assert score(upvotes=40, history=first_seen_today) == score(upvotes=40)


def test_a_featured_date_in_the_future_counts_as_today():
    assert score(featured_on=TODAY + timedelta(days=3)) == score(
        featured_on=TODAY, now=datetime(2025, 11, 20, tzinfo=UTC)
    )


def test_the_formula_as_documented():
    history = [(NOW - timedelta(days=2), 4)]
    age_days = 18 / 24

    assert score(upvotes=10, history=history) == (10 + 2.0 * 6) / (1 + age_days) ** 1.5


def test_an_unknown_date_counts_as_a_month_old():
    assert score(featured_on=None) == 10 / 31**1.5
