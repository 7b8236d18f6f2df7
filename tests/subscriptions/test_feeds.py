"""Atom feeds of trending papers: all topics and one per topic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from digest.models import Paper, Topic
from tests.support import atom

pytestmark = pytest.mark.django_db

DAY = date(2025, 11, 20)


@pytest.fixture
def papers():
    agents = Topic.objects.get(slug="agents-and-tool-use")
    made = []
    for i, (title, day, votes) in enumerate(
        [
            ("A", DAY, 5),
            ("B", DAY, 50),
            ("C", DAY - timedelta(days=1), 99),
            ("D", DAY - timedelta(days=9), 1),
        ]
    ):
        p = Paper.objects.create(
            title=title,
            featured_on=day,
            upvotes=votes,
            arxiv_id=f"2511.0000{i}",
            abstract=f"About {title}.",
        )
        made.append(p)
    for p in made[:2]:
        p.set_topic(agents)
    Paper.objects.create(title="Hidden", featured_on=DAY, upvotes=999, hidden=True)
    return made


def entries(response) -> list[str]:
    root = atom.parse(response.content)
    return [atom.text(e, "title") for e in atom.children(root, "entry")]


def test_the_feed_is_atom_with_the_latest_days_newest_first_then_trending(client, papers):
    response = client.get("/feed/")

    assert response["Content-Type"].startswith("application/atom+xml")
    assert entries(response) == ["B", "A", "C", "D"]


def test_an_entry_links_to_the_paper_and_carries_abstract_authors_and_topics(client, papers):
    root = atom.parse(client.get("/feed/").content)
    entry = atom.child(root, "entry")

    assert atom.child(entry, "link").get("href") == "https://arxiv.org/abs/2511.00001"
    assert atom.text(entry, "summary") == "About B."
    assert atom.text(entry, "id").startswith("tag:localhost,")
    assert [c.get("term") for c in atom.children(entry, "category")] == ["Agents and tool use"]


def test_abstracts_are_plain_text_summaries_with_no_live_markup(client, papers):
    papers[1].abstract = "We show <script>alert('x')</script> that 3 < 4 & more."
    papers[1].save()

    response = client.get("/feed/")

    summary = atom.child(atom.parse(response.content), "entry/summary")
    assert summary.get("type") == "text"
    assert summary.text == papers[1].abstract
    assert b"<script>" not in response.content


def test_a_control_character_in_an_abstract_does_not_break_the_feed(client, papers):
    papers[1].abstract = "A \x08eta-VAE."
    papers[1].save()

    response = client.get("/feed/")

    assert response.status_code == 200
    summary = atom.child(atom.parse(response.content), "entry/summary")
    assert summary.text == "A eta-VAE."


def test_a_topic_feed_has_only_that_topic(client, papers):
    response = client.get("/topics/agents-and-tool-use/feed/")

    assert entries(response) == ["B", "A"]
    root = atom.parse(response.content)
    assert "Agents" in atom.text(root, "title")


def test_an_unknown_topic_feed_is_a_404(client):
    assert client.get("/topics/nope/feed/").status_code == 404


def test_the_pages_announce_their_feeds(client, papers):
    assert 'type="application/atom+xml"' in client.get("/").content.decode()
    assert (
        'href="/topics/agents-and-tool-use/feed/"'
        in client.get("/topics/agents-and-tool-use/").content.decode()
    )
