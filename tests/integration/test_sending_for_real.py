"""Planning and sending through a real Redis and real Celery workers on PostgreSQL.

Each due subscriber gets exactly one digest for the period, whatever goes wrong: a worker
killed mid-batch, a provider failing 30 % of sends, two planners and two workers at once,
people leaving between planning and sending.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from digest.models import Delivery, Paper, PaperTopic, Topic
from subscriptions.models import Subscriber
from tests.integration.conftest import Workers, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PLAN = "digest.tasks.plan_digests"


def populate(count: int) -> list[str]:
    """`count` active daily readers, all due now, and today's papers in their topics."""
    today = timezone.now().date()
    topics = [
        Topic.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        for slug, name in [
            ("retrieval-and-rag", "Retrieval and RAG"),
            ("agents-and-tool-use", "Agents"),
        ]
    ]
    papers = Paper.objects.bulk_create(
        Paper(title=f"Paper {n}", title_key=f"paper {n}", featured_on=today, upvotes=n,
              sources=["hf-json"], arxiv_id=f"2611.{n:05d}")
        for n in range(1, 21)
    )  # fmt: skip
    PaperTopic.objects.bulk_create(
        PaperTopic(paper=p, topic=topics[n % 2], score=0.7, source="auto")
        for n, p in enumerate(papers)
    )
    confirmed = timezone.now() - timedelta(days=1)
    emails = [f"reader{n:05d}@example.com" for n in range(count)]
    readers = Subscriber.objects.bulk_create(
        Subscriber(email=email, status="active", confirmed_at=confirmed, frequency="daily",
                   send_hour=0, timezone="UTC", max_papers=5)
        for email in emails
    )  # fmt: skip
    through = Subscriber.topics.through
    through.objects.bulk_create(
        through(subscriber_id=r.pk, topic_id=t.pk) for r in readers for t in topics
    )
    return emails


def inbox() -> Counter[str]:
    """How many digests each address received, read from the outbox as mail clients would."""
    parser = BytesParser(policy=policy.default)
    received: Counter[str] = Counter()
    for path in Path(settings.OUTBOX_DIR).glob("*.eml"):
        received[str(parser.parsebytes(path.read_bytes())["To"])] += 1
    return received


def settled(expected: int) -> bool:
    done = Delivery.objects.exclude(status__in=["queued", "sending"]).count()
    return Delivery.objects.count() == expected and done == expected


def wait_for_all(workers: Workers, expected: int, timeout: float = 240) -> None:
    try:
        wait_until(lambda: settled(expected), timeout, f"{expected} deliveries to settle")
    except AssertionError:
        counts = Counter(Delivery.objects.values_list("status", flat=True))
        raise AssertionError(f"{counts}\n{workers.log_tail()}") from None


def assert_each_got_exactly_one(emails: list[str]) -> None:
    received = inbox()
    assert set(received) == set(emails), f"missing: {len(set(emails) - set(received))}"
    assert max(received.values()) == 1, "someone got two digests"
    assert Delivery.objects.filter(status="sent").count() == len(emails)


def test_a_thousand_due_subscribers_get_exactly_one_digest_each(workers):
    emails = populate(1000)
    workers.start("w1")

    workers.call(PLAN)
    wait_for_all(workers, 1000)

    assert_each_got_exactly_one(emails)
    assert "send_batch size=" in workers.log_tail()


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(workers):
    emails = populate(1000)
    # Slow enough that the kill lands in the middle of the sending.
    first = workers.start("w1", SEND_RATE_PER_SECOND="100")

    workers.call(PLAN)
    wait_until(lambda: Delivery.objects.filter(status="sent").count() >= 150, 120, "sending")
    workers.kill(first)
    stranded = Delivery.objects.filter(status__in=["queued", "sending"]).count()
    assert stranded > 0, "the worker finished before it was killed"

    workers.start("w2")
    # The planner, every 10 minutes in production, re-queues what the dead worker held once
    # its lease is over.
    deadline = time.monotonic() + 240
    while not settled(1000) and time.monotonic() < deadline:
        workers.call(PLAN)
        time.sleep(3)
    wait_for_all(workers, 1000, timeout=30)

    assert_each_got_exactly_one(emails)


def test_a_provider_failing_thirty_percent_of_sends_gets_everything_there_once(workers):
    emails = populate(400)
    workers.start(
        "w1", EMAIL_BACKEND="tests.support.flaky_backend.FlakyBackend", FLAKY_FAILURE_RATE="0.3"
    )

    workers.call(PLAN)
    wait_for_all(workers, 400)

    assert_each_got_exactly_one(emails)
    retried = Delivery.objects.filter(attempts__gt=1).count()
    assert retried > 50, "the flaky provider should have forced retries"


def test_two_planners_and_two_workers_at_once_send_each_digest_once(workers):
    emails = populate(400)
    workers.start("w1")
    workers.start("w2")

    workers.call(PLAN)
    workers.call(PLAN)
    wait_for_all(workers, 400)
    workers.call(PLAN)  # and once more after everything went out
    time.sleep(2)

    assert Delivery.objects.count() == 400
    assert_each_got_exactly_one(emails)


def test_people_who_leave_between_planning_and_sending_get_nothing(workers):
    emails = populate(200)
    planner = workers.start("planner", concurrency=1)
    workers.call(PLAN)
    wait_until(lambda: Delivery.objects.count() == 200, 60, "planning")
    workers.kill(planner)  # its send tasks wait in Redis
    # Anything it already sent stays sent; what is left must now respect the changes.
    leaving = list(Subscriber.objects.filter(deliveries__status="queued").order_by("pk")[:30])
    assert len(leaving) == 30, "the planner sent everything before it was stopped"
    unsubscribed, bounced, complained = leaving[:10], leaving[10:20], leaving[20:]
    for person in unsubscribed:
        person.unsubscribe("one-click")
    Subscriber.objects.filter(pk__in=[p.pk for p in bounced]).update(status="bounced")
    Subscriber.objects.filter(pk__in=[p.pk for p in complained]).update(status="complained")

    workers.start("w1")
    deadline = time.monotonic() + 120
    while not settled(200) and time.monotonic() < deadline:
        workers.call(PLAN)
        time.sleep(3)
    wait_for_all(workers, 200, timeout=30)

    received = inbox()
    for person in leaving:
        assert received[person.email] == 0, f"{person.email} was emailed after leaving"
    stayed = set(emails) - {p.email for p in leaving}
    assert {email for email in received} == stayed
    assert max(received.values()) == 1
