"""Each reader's digests as a private Atom feed at a signed address that dies with them."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import pytest

from digest.mailing import dispatch, planning
from digest.models import Delivery, DeliveryPaper, Paper
from subscriptions import tokens
from subscriptions.models import Subscriber
from tests.digest.conftest import DAY, make_paper, make_reader
from tests.support import atom

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T08:00:00+00:00")


@pytest.fixture(autouse=True)
def outbox_backend(settings):
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"


def feed_path(subscriber: Subscriber) -> str:
    return urlsplit(subscriber.personal_feed_url()).path


def sent_digest(subscriber: Subscriber, papers: list[Paper], *, days_ago: int) -> Delivery:
    day = DAY - timedelta(days=days_ago)
    delivery = Delivery.objects.create(
        subscriber=subscriber,
        period=f"daily:{day}",
        status=Delivery.Status.SENT,
        window_start=day,
        window_end=day,
        sent_at=NOW - timedelta(days=days_ago),
    )
    DeliveryPaper.objects.bulk_create(
        DeliveryPaper(
            delivery=delivery, paper=paper, subscriber=subscriber, position=n, reason=f"Reason {n}"
        )
        for n, paper in enumerate(papers, 1)
    )
    return delivery


def entries(response) -> list[Element]:
    return atom.children(atom.parse(response.content), "entry")


def titles(response) -> list[str]:
    return [atom.text(e, "title") for e in entries(response)]


def test_the_feed_holds_the_papers_of_the_digest_the_reader_received(client, papers, alice):
    dispatch.send_deliveries(planning.plan(NOW).created, NOW)
    delivery = Delivery.objects.get(subscriber=alice)
    sent = list(delivery.items.select_related("paper").order_by("position"))

    response = client.get(feed_path(alice))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert titles(response) == [item.paper.title for item in sent]
    first = entries(response)[0]
    assert atom.child(first, "link").get("href") == "https://huggingface.co/papers/2505.04588"
    summary = atom.child(first, "summary")
    assert summary.get("type") == "text"
    summary_text = summary.text or ""
    assert summary_text.startswith("Why: Retrieval and RAG · 41 upvotes\n")
    assert "Featured Nov 26, 2026" in summary_text
    assert "An abstract about zerosearch" in summary_text
    assert atom.text(first, "published").startswith("2026-11-26T00:00:00")
    assert [c.get("term") for c in atom.children(first, "category")] == ["Retrieval and RAG"]


def test_an_entry_names_the_authors_and_the_organization(client, alice):
    paper = make_paper(
        "By many",
        "agents-and-tool-use",
        authors=[f"Author {n}" for n in range(12)],
        organization="Meta AI",
    )
    sent_digest(alice, [paper], days_ago=0)

    entry = entries(client.get(feed_path(alice)))[0]

    byline = "Author 0, Author 1, Author 2, Author 3, Author 4, Author 5, Author 6, Author 7, "
    byline += "Author 8, Author 9 and 2 more · Meta AI"
    assert atom.text(entry, "author/name") == byline
    assert byline in atom.text(entry, "summary")


def test_the_newest_digest_comes_first_each_in_its_own_order(client, alice):
    old = [make_paper(f"Old {n}", "agents-and-tool-use") for n in range(2)]
    new = [make_paper(f"New {n}", "agents-and-tool-use") for n in range(2)]
    sent_digest(alice, old, days_ago=1)
    sent_digest(alice, new, days_ago=0)

    assert titles(client.get(feed_path(alice))) == ["New 0", "New 1", "Old 0", "Old 1"]


def test_digests_not_sent_and_other_readers_digests_are_not_in_it(client, alice):
    bea = make_reader("bea@example.com", ["agents-and-tool-use"])
    sent_digest(bea, [make_paper("For bea", "agents-and-tool-use")], days_ago=0)
    skipped = sent_digest(alice, [make_paper("Never sent", "agents-and-tool-use")], days_ago=1)
    Delivery.objects.filter(pk=skipped.pk).update(status=Delivery.Status.FAILED)

    assert titles(client.get(feed_path(alice))) == []


def test_the_feed_holds_at_most_100_entries(client, alice):
    for day in range(3):
        sent_digest(
            alice, [make_paper(f"Day {day} paper {n}", None) for n in range(40)], days_ago=day
        )

    got = titles(client.get(feed_path(alice)))

    assert len(got) == 100
    assert got[0] == "Day 0 paper 0" and got[-1] == "Day 2 paper 19"


def test_a_few_queries_whatever_the_number_of_entries(client, alice, django_assert_max_num_queries):
    sent_digest(alice, [make_paper("Only one", "agents-and-tool-use")], days_ago=3)
    with django_assert_max_num_queries(3):
        assert len(entries(client.get(feed_path(alice)))) == 1

    for day in range(3):
        papers = [make_paper(f"Day {day} paper {n}", "agents-and-tool-use") for n in range(40)]
        sent_digest(alice, papers, days_ago=day)
    with django_assert_max_num_queries(3):
        assert len(entries(client.get(feed_path(alice)))) == 100


def test_summaries_are_plain_text_and_carry_no_live_markup(client, alice):
    abstract = "We show <script>alert('x')</script> that 3 < 4 & <b>bold</b> claims hold."
    paper = make_paper("Markup <i>inside</i>", "agents-and-tool-use", abstract=abstract)
    sent_digest(alice, [paper], days_ago=0)

    response = client.get(feed_path(alice))

    entry = entries(response)[0]  # parsing proves the feed is well-formed XML
    assert atom.child(entry, "summary").get("type") == "text"
    assert abstract in atom.text(entry, "summary")
    assert atom.text(entry, "title") == "Markup <i>inside</i>"
    assert b"<script>" not in response.content and b"<b>" not in response.content
    assert b"&lt;script&gt;" in response.content and b"3 &lt; 4 &amp;" in response.content


def test_a_control_character_in_an_abstract_does_not_break_the_feed(client, alice):
    paper = make_paper("TeX gone wrong", "agents-and-tool-use", abstract="A \x08eta-VAE")
    sent_digest(alice, [paper], days_ago=0)

    response = client.get(feed_path(alice))

    assert response.status_code == 200
    assert "A eta-VAE" in atom.text(entries(response)[0], "summary")


def test_the_feed_is_private_and_kept_out_of_caches_and_search_engines(client, alice):
    response = client.get(feed_path(alice))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex"


def test_it_does_not_clash_with_the_public_feed(client, alice):
    assert client.get("/feed/").status_code == 200
    assert feed_path(alice).startswith("/feed/") and feed_path(alice) != "/feed/"


def test_a_paused_readers_feed_still_works(client, alice):
    alice.pause(2)

    assert client.get(feed_path(alice)).status_code == 200


def test_a_token_made_for_another_purpose_is_refused(client, alice):
    for salt in (tokens.SALT_PREFERENCES, tokens.SALT_UNSUBSCRIBE, tokens.SALT_VIEW_IN_BROWSER):
        assert client.get(f"/feed/{alice.token(salt)}/").status_code == 404


def test_a_tampered_token_is_refused(client, alice):
    assert client.get(feed_path(alice).replace(":", ":x", 1)).status_code == 404


def test_the_address_dies_when_the_email_address_changes(client, alice):
    path = feed_path(alice)
    alice.change_email("alice@new.example")

    assert client.get(path).status_code == 404
    assert client.get(feed_path(alice)).status_code == 200


@pytest.mark.parametrize("how", ["unsubscribed", "bounced", "complained"])
def test_the_feed_is_gone_once_the_reader_is_no_longer_subscribed(client, alice, how):
    path = feed_path(alice)
    if how == "unsubscribed":
        alice.unsubscribe("one-click")
    else:
        alice.mark_undeliverable(how, "the provider said so")

    response = client.get(path)

    assert response.status_code == 410
    assert b"Atom" not in response.content and b"<feed" not in response.content


def test_a_deleted_readers_feed_is_gone(client, alice):
    path = feed_path(alice)
    alice.delete()

    assert client.get(path).status_code == 404


def test_the_preferences_page_shows_the_feed_address_and_says_to_keep_it_private(client, alice):
    body = client.get(alice.preferences_path()).content.decode()

    assert f'value="{alice.personal_feed_url()}"' in body
    assert "Keep it private: anyone with this address can read your digest." in body


def test_an_unsubscribed_reader_is_shown_no_feed_address(client, alice):
    alice.unsubscribe("one-click")

    body = client.get(alice.preferences_path()).content.decode()

    assert alice.personal_feed_url() not in body


def test_the_feed_token_is_bound_to_the_reader_and_their_address(alice):
    token = alice.token(tokens.SALT_PERSONAL_FEED)

    assert tokens.read_token(tokens.SALT_PERSONAL_FEED, token) == tokens.TokenSubject(
        alice.pk, tokens.fingerprint("alice@example.com")
    )
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_token(tokens.SALT_PREFERENCES, token)
    assert token.count(":") == 1  # no timestamp: a feed address never expires on its own
