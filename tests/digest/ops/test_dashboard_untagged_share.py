"""The dashboard shows last week's share of papers with no topic, and links to them.

The numbers are plain values tested without a database first; then the query and the
page, and the link followed to the Papers admin.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from digest.models import Topic
from digest.papers.untagged import UntaggedShare, days_ending, load_untagged_share
from tests.digest.conftest import make_paper

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


# --- the numbers, without a database ----------------------------------------------------------
def test_last_week_is_the_seven_days_ending_today():
    assert days_ending(TODAY, 7) == (date(2026, 11, 20), TODAY)


def test_the_share_is_the_papers_without_a_topic_over_all_of_the_weeks_papers():
    week = UntaggedShare(date(2026, 11, 20), TODAY, papers=240, untagged=12)

    assert week.share == pytest.approx(0.05)
    assert week.percent_text == "5.0 %"
    assert week.days == 7


def test_a_week_without_papers_has_no_share_rather_than_a_division_by_zero():
    week = UntaggedShare(date(2026, 11, 20), TODAY, papers=0, untagged=0)

    assert week.share is None
    assert week.percent_text == "\N{EN DASH}"


def test_the_link_filters_papers_without_a_topic_visible_and_featured_that_week():
    week = UntaggedShare(date(2026, 11, 20), TODAY, papers=240, untagged=12)

    url = urlsplit(week.changelist_url)

    assert url.path == reverse("admin:digest_paper_changelist")
    assert parse_qs(url.query) == {
        "has_topic": ["no"],
        "hidden__exact": ["0"],
        "featured_on__gte": ["2026-11-20"],
        "featured_on__lt": ["2026-11-27"],  # the day after today: today is included
    }


# --- the query and the page -------------------------------------------------------------------
@pytest.fixture
def erin(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    )
    return client


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def week_of_papers(db) -> None:
    """Eight visible papers this week, two without a topic; and papers that do not count."""
    kites = Topic.objects.create(name="Kite aerodynamics", slug="kite-aerodynamics")
    for n in range(5):
        make_paper(f"Kite paper {n}", kites.slug, day=TODAY - timedelta(days=n))
    make_paper("Tagged by an editor", None, day=TODAY).set_topic(kites)
    make_paper("Untagged on Monday", None, day=TODAY - timedelta(days=3))
    make_paper("Untagged a week ago today", None, day=TODAY - timedelta(days=6))
    # Not counted: hidden (never sent), or featured before the week.
    make_paper("Untagged but hidden", None, day=TODAY, hidden=True)
    make_paper("Untagged eight days ago", None, day=TODAY - timedelta(days=7))


@pytest.mark.django_db
def test_it_counts_visible_papers_of_the_week_in_one_query(
    week_of_papers, django_assert_num_queries
):
    with django_assert_num_queries(1):
        week = load_untagged_share(TODAY)

    assert (week.papers, week.untagged) == (8, 2)
    assert week.percent_text == "25.0 %"


@pytest.mark.django_db
def test_the_dashboard_shows_the_share_and_count_and_links_to_those_papers(
    erin, frozen, week_of_papers
):
    page = erin.get(reverse("admin_dashboard"))

    body = page.content.decode()
    assert "Papers without a topic" in body
    assert '<span class="n" id="untagged-share">25.0 %</span>' in body
    assert '<span class="n" id="untagged-count">2</span>' in body
    assert "without a topic, of 8" in body
    assert "Visible papers (hidden ones are never sent) featured Fri 20 Nov to Thu 26 Nov" in body
    link = page.context["untagged"].changelist_url
    assert f'href="{link.replace("&", "&amp;")}"' in body

    papers = erin.get(link).context["cl"].result_list
    assert {p.title for p in papers} == {"Untagged on Monday", "Untagged a week ago today"}


@pytest.mark.django_db
def test_a_week_without_papers_says_so(erin, frozen):
    page = erin.get(reverse("admin_dashboard"))

    body = page.content.decode()
    assert page.status_code == 200
    assert "no share: no paper was featured in the last 7 days" in body
    assert 'id="untagged-papers-link"' not in body
