"""send_digests: every due reader gets one digest per period, with the right papers."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from anymail.message import AnymailMessage
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from digest.mailing import dispatch, planning
from digest.mailing import pool as pools
from digest.mailing.selection import SKIP_NO_MATCH
from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.digest.conftest import DAY, make_paper, make_reader

pytestmark = pytest.mark.django_db

MORNING = "2026-11-26T08:00:00+00:00"
NEXT_MORNING = "2026-11-27T08:00:00+00:00"


@pytest.fixture(autouse=True)
def outbox_backend(settings):
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"


def send(now: str, *args: str, capsys) -> str:
    call_command("send_digests", "--now", now, *args)
    return capsys.readouterr().out.strip().splitlines()[-1]


def received(address: str):
    messages = [
        BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        for path in sorted(Path(settings.OUTBOX_DIR).glob("*.eml"))
    ]
    return [m for m in messages if address in m["To"]]


def test_a_due_reader_gets_one_digest_and_a_second_run_sends_nothing(papers, alice, capsys):
    first = send(MORNING, capsys=capsys)
    second = send(MORNING, capsys=capsys)

    assert first == "planned=1 sent=1 skipped=0 failed=0"
    assert second == "planned=0 sent=0 skipped=0 failed=0"
    assert len(received("alice@example.com")) == 1


def test_the_digest_holds_the_readers_topics_most_trending_first_with_reasons(
    papers, alice, capsys
):
    send(MORNING, capsys=capsys)

    delivery = Delivery.objects.get(subscriber=alice)
    items = list(delivery.items.select_related("paper"))
    assert [i.paper.title for i in items][:2] == [
        "ZeroSearch: search without searching",
        "Zero-shot classifiers from captions",
    ]
    assert "A vision paper nobody asked for" not in [i.paper.title for i in items]
    assert items[0].reason == "Retrieval and RAG · 41 upvotes"
    assert delivery.period == "daily:2026-11-26"
    assert delivery.status == Delivery.Status.SENT
    assert delivery.message_id and delivery.sent_at


def test_the_email_has_both_parts_a_one_line_subject_and_one_click_headers(papers, alice, capsys):
    send(MORNING, capsys=capsys)

    [message] = received("alice@example.com")
    # Python folds a long encoded header; decoded, it is one line.
    subject = message["Subject"].strip()
    assert subject == "4 trending papers in Retrieval and RAG, Zero-shot learning — Nov 26"
    assert "\n" not in subject
    headers = {name: str(value).strip() for name, value in message.items()}
    assert headers["List-Unsubscribe"] == f"<{alice.unsubscribe_url()}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == "Daily Papers digest <digest.localhost>"
    assert headers["Message-ID"].endswith("@localhost>")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "ZeroSearch: search without searching" in part
        assert alice.unsubscribe_url() in part
        assert settings.SENDER_ADDRESS in part


def test_anymail_gets_tags_and_metadata_for_the_webhooks(papers, alice, settings):
    from django.core import mail

    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    plan = planning.plan(datetime.fromisoformat(MORNING))
    dispatch.send_deliveries(plan.created, datetime.fromisoformat(MORNING))

    [message] = mail.outbox
    assert isinstance(message, AnymailMessage)
    delivery = Delivery.objects.get()
    assert message.tags == ["digest", "daily"]
    assert message.metadata == {"subscriber_id": alice.pk, "delivery_id": delivery.pk}
    assert delivery.message_id == str(message.anymail_status.message_id)


def test_two_consecutive_days_never_repeat_a_paper(papers, alice, capsys):
    send(MORNING, capsys=capsys)
    make_paper(
        "Fresh retrieval paper of the 27th", "retrieval-and-rag", day=DAY + timedelta(days=1)
    )

    send(NEXT_MORNING, capsys=capsys)

    first, second = Delivery.objects.filter(subscriber=alice).order_by("period")
    first_ids = set(first.items.values_list("paper_id", flat=True))
    second_ids = set(second.items.values_list("paper_id", flat=True))
    assert first_ids and second_ids
    assert not first_ids & second_ids
    assert second.items.get().paper.title == "Fresh retrieval paper of the 27th"


def test_nothing_matching_is_recorded_as_skipped_with_the_reason_and_sends_nothing(papers, capsys):
    carl = make_reader("carl@example.com", ["code-generation-and-software-agents"])

    assert send(MORNING, capsys=capsys) == "planned=1 sent=0 skipped=1 failed=0"

    delivery = Delivery.objects.get(subscriber=carl)
    assert delivery.status == Delivery.Status.SKIPPED
    assert delivery.skipped_reason == SKIP_NO_MATCH
    assert received("carl@example.com") == []


def test_nobody_is_due_before_their_local_send_hour(papers, capsys):
    make_reader("nadia@example.com", ["retrieval-and-rag"], timezone="America/New_York")

    assert send(MORNING, capsys=capsys) == "planned=0 sent=0 skipped=0 failed=0"


def test_paused_pending_and_unsubscribed_readers_get_nothing(papers, capsys):
    make_reader(
        "pat@example.com", ["retrieval-and-rag"], paused_until=timezone.now() + timedelta(days=400)
    )
    make_reader("bob@example.com", ["retrieval-and-rag"], status="pending", confirmed_at=None)
    make_reader(
        "carol@example.com",
        ["retrieval-and-rag"],
        status="unsubscribed",
        unsubscribed_at=timezone.now(),
    )

    assert send(MORNING, capsys=capsys) == "planned=0 sent=0 skipped=0 failed=0"


def test_a_dry_run_stores_and_sends_nothing(papers, alice, capsys):
    out = send(MORNING, "--dry-run", capsys=capsys)

    assert out.startswith("planned=1 sent=0")
    assert Delivery.objects.count() == 0
    assert received("alice@example.com") == []


def test_someone_who_unsubscribes_after_planning_gets_nothing(papers, alice):
    now = datetime.fromisoformat(MORNING)
    plan = planning.plan(now)
    alice.unsubscribe("one-click")

    outcome = dispatch.send_deliveries(plan.created, now)

    assert (outcome.sent, outcome.skipped) == (0, 1)
    assert received("alice@example.com") == []


def test_building_one_digest_costs_the_same_queries_with_more_papers_and_topics(db):
    now = datetime.fromisoformat(MORNING)

    def queries_for(reader_email: str, slugs: list[str], count: int) -> int:
        for n in range(count):
            make_paper(f"{reader_email} paper {n}", slugs[n % len(slugs)], upvotes=n)
        make_reader(reader_email, slugs, max_papers=30)
        [delivery_id] = planning.plan(now).created
        pools.forget_pools()  # count the loading of the papers too
        with CaptureQueriesContext(connection) as queries:
            dispatch.send_deliveries([delivery_id], now)
        assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.SENT
        Subscriber.objects.all().delete()
        return len(queries)

    small = queries_for("small@example.com", ["retrieval-and-rag"], 3)
    large = queries_for(
        "large@example.com",
        ["retrieval-and-rag", "agents-and-tool-use", "code-generation-and-software-agents"],
        40,
    )

    assert large == small
    # A dozen for the batch (its savepoints here included, and one asking whether its
    # readers' tastes changed since their last fit), one to record the message as accepted,
    # one to finish the batch's records, and on PostgreSQL two to turn synchronous commits
    # off and on for those records.
    assert small <= 21
