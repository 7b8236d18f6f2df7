"""Papers by followed authors and organizations, through the real send path to the inbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from digest.mailing import dispatch, planning
from digest.mailing import pool as pools
from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.digest.conftest import DAY, make_paper, make_reader
from tests.subscriptions.helpers import Outbox, html_of, text_of

pytestmark = pytest.mark.django_db

MORNING = "2026-11-26T08:00:00+00:00"
NEXT_MORNING = "2026-11-27T08:00:00+00:00"
NOW = datetime.fromisoformat(MORNING)
LECUN = "by «Yann LeCun», whom you follow"


@pytest.fixture(autouse=True)
def outbox_backend(settings):
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"


@pytest.fixture
def lecun_paper(papers):
    """A vision paper: outside alice's topics, and trending less than most of them."""
    return make_paper(
        "Self-supervised world models",
        "vision-language-models",
        upvotes=2,
        authors=["Ana Silva", "Yann LeCun", "Tom Becker"],
    )


def send(now: str, capsys) -> str:
    call_command("send_digests", "--now", now)
    return capsys.readouterr().out.strip().splitlines()[-1]


def inbox(address: str):
    return Outbox(Path(settings.OUTBOX_DIR)).to(address)


def titles(delivery: Delivery) -> list[str]:
    return [item.paper.title for item in delivery.items.select_related("paper")]


def test_a_followed_authors_paper_outside_the_topics_is_in_the_email_with_who_it_is_by(
    alice, lecun_paper, capsys
):
    alice.authors = "Yann LeCun"
    alice.save()

    assert send(MORNING, capsys) == "planned=1 sent=1 skipped=0 failed=0"

    [message] = inbox("alice@example.com")
    for part in (text_of(message), html_of(message)):
        assert "Self-supervised world models" in part
        assert f"{LECUN} · 2 upvotes" in part
    assert titles(Delivery.objects.get(subscriber=alice))[0] == "Self-supervised world models"


def test_a_reader_who_follows_nobody_does_not_get_it(alice, lecun_paper, capsys):
    send(MORNING, capsys)

    assert "Self-supervised world models" not in titles(Delivery.objects.get(subscriber=alice))


def test_an_organization_follow_brings_its_papers(papers, capsys):
    make_paper(
        "Gemini plays chess", "vision-language-models", upvotes=1, organization="Google DeepMind"
    )
    bea = make_reader("bea@example.com", ["retrieval-and-rag"], organizations="google deepmind")

    send(MORNING, capsys)

    [message] = inbox("bea@example.com")
    assert "by «google deepmind», whom you follow · 1 upvote" in text_of(message)
    assert "Gemini plays chess" in titles(Delivery.objects.get(subscriber=bea))


def test_a_reader_may_follow_people_and_pick_no_topic(lecun_paper, capsys):
    fiona = make_reader("fiona@example.com", [], authors="Yann LeCun, Fei-Fei Li")

    assert send(MORNING, capsys) == "planned=1 sent=1 skipped=0 failed=0"

    [message] = inbox("fiona@example.com")
    subject = " ".join(message["Subject"].split())
    assert subject == "1 trending paper by Yann LeCun, Fei-Fei Li — Nov 26"
    assert "1 trending paper by Yann LeCun, Fei-Fei Li, whom you follow." in " ".join(
        text_of(message).split()
    )
    assert "the daily digest of papers by Yann LeCun, Fei-Fei Li, as fiona@example.com" in (
        " ".join(html_of(message).split())
    )
    assert titles(Delivery.objects.get(subscriber=fiona)) == ["Self-supervised world models"]


def test_a_follow_that_never_matches_is_skipped_with_the_name_in_the_reason(papers, capsys):
    gus = make_reader("gus@example.com", [], authors="Yann LeCunn")

    assert send(MORNING, capsys) == "planned=1 sent=0 skipped=1 failed=0"

    delivery = Delivery.objects.get(subscriber=gus)
    assert delivery.skipped_reason == (
        "No new paper matched your topics or keywords, or was by Yann LeCunn, in this period."
    )
    assert inbox("gus@example.com") == []


def test_a_followed_paper_is_never_sent_twice(alice, lecun_paper, capsys):
    alice.authors = "Yann LeCun"
    alice.save()
    send(MORNING, capsys)
    make_paper(
        "Fresh retrieval paper of the 27th", "retrieval-and-rag", day=DAY + timedelta(days=1)
    )

    # The next day's window still covers the 26th, when the followed paper was featured.
    send(NEXT_MORNING, capsys)

    first, second = Delivery.objects.filter(subscriber=alice).order_by("period")
    assert "Self-supervised world models" in titles(first)
    assert "Self-supervised world models" not in titles(second)


def test_readers_with_the_same_topics_but_different_follows_get_their_own_papers(lecun_paper):
    same = ["retrieval-and-rag", "zero-shot-learning"]
    hana = make_reader("hana@example.com", same, authors="Yann LeCun")
    ivan = make_reader("ivan@example.com", same)
    jo = make_reader("jo@example.com", same, authors="yann lecun")

    dispatch.send_deliveries(planning.plan(NOW).created, NOW)

    def reasons(subscriber: Subscriber) -> dict[str, str]:
        delivery = Delivery.objects.get(subscriber=subscriber)
        return {i.paper.title: i.reason for i in delivery.items.select_related("paper")}

    assert reasons(hana)["Self-supervised world models"].startswith(LECUN)
    assert "Self-supervised world models" not in reasons(ivan)
    assert reasons(jo)["Self-supervised world models"].startswith("by «yann lecun»")


def test_the_shared_selection_of_a_pool_is_keyed_by_the_follows_too(lecun_paper):
    pool = pools.load_pool((DAY, DAY), NOW)
    topics = list(pool.topics)
    window = (DAY, DAY)

    plain = pool.select(pool.reader(topics, "", 10), window, set())
    following = pool.select(pool.reader(topics, "", 10, authors=["Yann LeCun"]), window, set())

    assert [p.reason for p in following.picks if p.reason.startswith(LECUN)]
    assert not [p.reason for p in plain.picks if "whom you follow" in p.reason]
    assert len(pool.selections) == 2


def test_a_dry_run_chooses_with_the_follows(alice, lecun_paper):
    alice.authors = "Yann LeCun"
    alice.save()

    selection = pools.choose(alice, (DAY, DAY), NOW)

    assert selection.picks[0].reason.startswith(LECUN)


def test_follows_cost_no_query_per_reader(papers):
    for n in range(3):
        make_paper(f"LeCun paper {n}", "vision-language-models", authors=["Yann LeCun"], upvotes=n)

    def queries_for(count: int, **follows: str) -> int:
        Subscriber.objects.all().delete()
        for n in range(count):
            make_reader(f"reader{n}@example.com", ["retrieval-and-rag"], **follows)
        ids = planning.plan(NOW).created
        pools.forget_pools()
        with CaptureQueriesContext(connection) as queries:
            outcome = dispatch.send_deliveries(ids, NOW)
        assert outcome.sent == count
        return len(queries)

    one = queries_for(1)
    assert queries_for(1, authors="Yann LeCun") == one
    # Six readers cost five more queries: one record per message sent, none for follows.
    assert queries_for(6, authors="Yann LeCun", organizations="Meta AI") == one + 5


def test_a_full_pool_forgets_the_selection_used_least_recently(lecun_paper, monkeypatch):
    monkeypatch.setattr(pools, "MAX_SHARED_SELECTIONS", 2)
    pool = pools.load_pool((DAY, DAY), NOW)
    topics = list(pool.topics)
    window = (DAY, DAY)
    many, rare, rarer = (pool.reader(topics, "", cap) for cap in (10, 5, 3))

    first = pool.select(many, window, set())
    pool.select(rare, window, set())
    assert pool.select(many, window, set()) is first, "shared while kept"
    pool.select(rarer, window, set())

    assert pool.select(many, window, set()) is first, "the group read again stays"
    assert len(pool.selections) == 2
