"""The preferences page says how many recent papers each followed name matched: a name with
none is most likely misspelled."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine

from subscriptions import services
from tests.digest.conftest import make_paper

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel("2026-11-26T12:00:00+00:00", tick=False):
        yield


@pytest.fixture
def follows(alice):
    alice.authors = "Yann LeCun, Yann LeCunn, José García"
    alice.organizations = "Google DeepMind"
    alice.save()
    make_paper("A", None, day=TODAY, authors=["Ana Silva", "Yann LeCun"])
    make_paper("B", None, day=TODAY - timedelta(days=60), authors=["YANN  LeCun"])
    make_paper("C", None, day=TODAY - timedelta(days=89), authors=["Jose Garcia"])
    make_paper("Too old", None, day=TODAY - timedelta(days=90), authors=["Yann LeCun"])
    make_paper("Hidden", None, day=TODAY, authors=["Yann LeCun"], hidden=True)
    make_paper("D", None, day=TODAY - timedelta(days=3), organization="Google DeepMind")
    make_paper("E", None, day=TODAY, organization="Yann LeCun")  # an organization, not him
    return alice


def counts_on_the_page(body: str) -> list[str]:
    found = re.search(r'<div class="follow-counts">(.*?)</div>', body, re.DOTALL)
    assert found, "the page shows no follow counts"
    block = found.group(1)
    items = re.findall(r"<li>.*?</li>", block, re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


def test_each_followed_name_shows_its_papers_of_the_last_90_days(client, follows):
    body = client.get(follows.preferences_path()).content.decode()

    assert counts_on_the_page(body) == [
        "Yann LeCun — 2 papers in the last 90 days",
        "Yann LeCunn — no papers in the last 90 days (check the spelling: a name matches when "
        "written in full, as papers list it)",
        "José García — 1 paper in the last 90 days",
        "Google DeepMind — 1 paper in the last 90 days",
    ]


def test_the_counts_take_one_query(follows, django_assert_num_queries):
    with django_assert_num_queries(1):
        counts = services.follow_counts(follows)

    assert [(c.name, c.kind, c.papers) for c in counts] == [
        ("Yann LeCun", "author", 2),
        ("Yann LeCunn", "author", 0),
        ("José García", "author", 1),
        ("Google DeepMind", "organization", 1),
    ]


def test_a_reader_who_follows_nobody_sees_no_counts_and_costs_no_query(
    client, alice, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert services.follow_counts(alice) == []

    assert 'class="follow-counts"' not in client.get(alice.preferences_path()).content.decode()
