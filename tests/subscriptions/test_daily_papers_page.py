"""The public Daily Papers page: trending papers of the latest day, and one page per topic."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from digest.models import Paper, PaperSnapshot, Topic

pytestmark = pytest.mark.django_db

DAY = date(2025, 11, 20)


def paper(title: str, *, day: date = DAY, upvotes: int = 10, topics=(), **fields) -> Paper:
    p = Paper.objects.create(title=title, featured_on=day, upvotes=upvotes, **fields)
    for slug in topics:
        p.set_topic(Topic.objects.get(slug=slug))
    return p


@pytest.fixture
def papers():
    return {
        "hot": paper(
            "Hot Paper",
            upvotes=90,
            arxiv_id="2511.00001",
            sources=["hf-page"],
            authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"],
            abstract="We study heat.",
            topics=["agents-and-tool-use", "code-generation-and-software-agents"],
        ),
        "warm": paper(
            "Warm Paper",
            upvotes=40,
            arxiv_id="2511.00002",
            organization="Example Lab",
            topics=["agents-and-tool-use"],
        ),
        "pinned": paper("Pinned Paper", upvotes=1, pinned=True),
        "hidden": paper("Hidden Paper", upvotes=500, hidden=True),
        "old": paper(
            "Yesterday Paper",
            day=DAY - timedelta(days=1),
            upvotes=70,
            topics=["agents-and-tool-use"],
        ),
        "older": paper("Older Paper", day=DAY - timedelta(days=3), upvotes=5),
    }


def titles(body: str) -> list[str]:
    import re

    return [t.strip() for t in re.findall(r"<h3>(?:<a [^>]*>)?([^<]+)", body)]


def test_the_page_lists_the_latest_day_pinned_first_then_by_trending(client, papers):
    body = client.get("/").content.decode()

    assert titles(body) == ["Pinned Paper", "Hot Paper", "Warm Paper"]
    assert "Hidden Paper" not in body and "Yesterday Paper" not in body


def test_each_paper_shows_link_upvotes_byline_date_topics_and_folded_abstract(client, papers):
    body = client.get("/").content.decode()

    assert '<a href="https://huggingface.co/papers/2511.00001">Hot Paper</a>' in body
    assert "<strong>90</strong>" in body
    assert "Ada Lovelace, Alan Turing, Grace Hopper and 1 more" in body
    assert "Example Lab" in body
    assert '<time datetime="2025-11-20">' in body
    link = "/topics/code-generation-and-software-agents/"
    assert f'<a href="{link}">Code generation and software agents</a>' in body
    assert "<details><summary>Abstract</summary><p>We study heat.</p></details>" in body


def test_the_signup_form_is_at_the_top(client, papers):
    body = client.get("/").content.decode()

    assert body.index("Get trending papers in your email inbox!") < body.index("Hot Paper")
    assert 'action="/subscribe/"' in body
    # The time zone is filled in by a script file (no inline script: the CSP forbids it).
    assert '<script src="/static/js/timezone.js" defer></script>' in body


def test_previous_days_are_linked_and_open(client, papers):
    body = client.get("/").content.decode()

    assert 'href="?date=2025-11-19"' in body and 'href="?date=2025-11-17"' in body
    earlier = client.get("/?date=2025-11-19").content.decode()
    assert titles(earlier) == ["Yesterday Paper"]
    assert 'href="?date=2025-11-20"' in earlier  # the way back


def test_a_bad_date_is_a_404_not_a_500(client, papers):
    assert client.get("/?date=yesterday").status_code == 404
    assert client.get("/?date=2025-13-45").status_code == 404


def test_a_day_without_papers_says_so(client, papers):
    body = client.get("/?date=2020-01-01").content.decode()

    assert "No papers on this day" in body


def test_an_empty_site_still_shows_the_form(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "No papers yet" in response.content.decode()
    assert 'name="email"' in response.content.decode()


def test_a_topic_page_lists_only_that_topic_and_preselects_it(client, papers):
    body = client.get("/topics/agents-and-tool-use/").content.decode()

    assert titles(body) == ["Hot Paper", "Warm Paper"]
    assert 'href="?date=2025-11-19"' in body
    assert re.search(r'name="topics" value="agents-and-tool-use" id="id_topics_\d+" checked>', body)
    assert body.count(" checked>") == 2  # the topic, and "daily"
    assert 'aria-current="page">Agents and tool use<' in body


def test_an_unknown_topic_is_a_404(client):
    assert client.get("/topics/astrology/").status_code == 404


def test_the_page_costs_the_same_queries_for_3_or_30_papers(
    client, papers, django_assert_num_queries
):
    with django_assert_num_queries(7):
        client.get("/")
    for i in range(30):
        p = paper(f"Extra {i}", upvotes=i, topics=["agents-and-tool-use", "retrieval-and-rag"])
        PaperSnapshot.objects.create(paper=p, upvotes=i, taken_at=timezone.now())

    with django_assert_num_queries(7):
        client.get("/")


def test_trending_uses_snapshots_so_a_fast_riser_beats_a_bigger_total(client):
    now = timezone.now()
    today = timezone.localdate()
    steady = paper("Steady", day=today, upvotes=50)
    PaperSnapshot.objects.create(paper=steady, upvotes=50, taken_at=now - timedelta(days=2))
    riser = paper("Riser", day=today, upvotes=40)
    PaperSnapshot.objects.create(paper=riser, upvotes=0, taken_at=now - timedelta(days=2))
    PaperSnapshot.objects.create(paper=riser, upvotes=40, taken_at=now)

    assert titles(client.get("/").content.decode()) == ["Riser", "Steady"]


@pytest.mark.parametrize("path", ["/", "/topics/agents-and-tool-use/"])
def test_the_pages_work_without_javascript(client, papers, path):
    body = client.get(path).content.decode()

    # Everything is in the HTML; the one script, a file, only fills the time zone.
    assert body.count("<script") == 1
    assert "<script>" not in body
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
