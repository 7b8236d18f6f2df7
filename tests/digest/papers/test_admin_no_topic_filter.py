"""Editors see which papers fall through: the Papers admin filters papers with no topic at
all (neither an automatic nor an editor's), through the real changelist as staff."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from digest.models import Topic
from tests.digest.conftest import make_paper

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    )
    return client


@pytest.fixture
def papers() -> None:
    # Topics of the test's own, whatever the topic set of the day is.
    kites = Topic.objects.create(name="Kite aerodynamics", slug="kite-aerodynamics")
    owls = Topic.objects.create(name="Owl behaviour", slug="owl-behaviour")
    make_paper("Tagged automatically", kites.slug)
    make_paper("Tagged by an editor alone", None).set_topic(owls)
    make_paper("Nobody tagged this one", None)
    # An editor took the topic off: remembered as removed, and the paper has none left.
    make_paper("An editor untagged this one", owls.slug).remove_topic(owls)


def listed(client, query: str) -> set[str]:
    page = client.get(f"{reverse('admin:digest_paper_changelist')}?{query}")
    assert page.status_code == 200
    return {paper.title for paper in page.context["cl"].result_list}


def test_no_topic_lists_exactly_the_papers_without_any_topic(erin, papers):
    assert listed(erin, "has_topic=no") == {"Nobody tagged this one", "An editor untagged this one"}


def test_with_a_topic_lists_the_others_an_editors_topic_included(erin, papers):
    assert listed(erin, "has_topic=yes") == {"Tagged automatically", "Tagged by an editor alone"}


def test_the_sidebar_says_no_topic_in_words(erin, papers):
    page = erin.get(f"{reverse('admin:digest_paper_changelist')}?has_topic=no")

    body = page.content.decode()
    assert "By tagging" in body
    assert "No topic" in body and "With a topic" in body
    assert "2 papers" in body
    # The topic filter lists topics only: its unnamed "-" choice meant the same, less clearly.
    topics = next(spec for spec in page.context["cl"].filter_specs if spec.title == "topics")
    shown = [choice["display"] for choice in topics.choices(page.context["cl"])]
    assert shown == ["All", "Kite aerodynamics", "Owl behaviour"]


def test_the_filter_is_a_subquery_and_costs_no_query_per_paper(erin, papers):
    with CaptureQueriesContext(connection) as few:
        listed(erin, "has_topic=no")
    for n in range(5):
        make_paper(f"Another paper without a topic {n}", None)
    with CaptureQueriesContext(connection) as more:
        assert len(listed(erin, "has_topic=no")) == 7

    assert len(more) == len(few)
    paper_list = [q["sql"] for q in more if q["sql"].startswith('SELECT "digest_paper"."id"')]
    assert paper_list and all("NOT EXISTS" in sql for sql in paper_list)
