"""Planning and sending through a real Redis and real Celery workers on PostgreSQL, counted
at a real SMTP server on 127.0.0.1.

Each due subscriber gets their digest for the period, whatever goes wrong: a worker killed
mid-send (at most the one message it had in flight arrives twice), a provider failing 30 %
of sends, two planners and two workers at once, people leaving between planning and sending.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from digest.models import Delivery, Paper, PaperTopic, Topic
from subscriptions.models import Subscriber
from tests.integration.conftest import SMTPInbox, Workers, random_moment, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PLAN = "digest.tasks.plan_digests"
RECOVER = "digest.tasks.recover_sends"


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
        Paper(
            title=f"Paper {n}",
            title_key=f"paper {n}",
            featured_on=today,
            upvotes=n,
            sources=["hf-json"],
            arxiv_id=f"2611.{n:05d}",
        )
        for n in range(1, 21)
    )
    PaperTopic.objects.bulk_create(
        PaperTopic(paper=p, topic=topics[n % 2], score=0.7, source="auto")
        for n, p in enumerate(papers)
    )
    confirmed = timezone.now() - timedelta(days=1)
    emails = [f"reader{n:05d}@example.com" for n in range(count)]
    readers = Subscriber.objects.bulk_create(
        Subscriber(
            email=email,
            status="active",
            confirmed_at=confirmed,
            frequency="daily",
            send_hour=0,
            timezone="UTC",
            max_papers=5,
        )
        for email in emails
    )
    through = Subscriber.topics.through
    through.objects.bulk_create(
        through(subscriber_id=r.pk, topic_id=t.pk) for r in readers for t in topics
    )
    return emails


def settled(expected: int) -> bool:
    done = Delivery.objects.exclude(status__in=["queued", "sending"]).count()
    return Delivery.objects.count() == expected and done == expected


def wait_for_all(workers: Workers, expected: int, timeout: float = 240) -> None:
    try:
        wait_until(lambda: settled(expected), timeout, f"{expected} deliveries to settle")
    except AssertionError:
        counts = Counter(Delivery.objects.values_list("status", flat=True))
        raise AssertionError(f"{counts}\n{workers.log_tail()}") from None


def assert_everyone_got_it(smtp: SMTPInbox, emails: list[str], *, killed: int = 0) -> None:
    """Nobody missing, and at most one second copy per killed worker: the message it had
    in flight when it died. Without a kill, nobody gets two."""
    received = smtp.received()
    missing = set(emails) - set(received)
    assert not missing, f"{len(missing)} readers got nothing"
    assert set(received) == set(emails), "a message went to someone not due"
    twice = {email: n for email, n in received.items() if n > 1}
    assert sum(n - 1 for n in twice.values()) <= killed, f"duplicates: {twice}"
    assert Delivery.objects.filter(status="sent").count() == len(emails)


def settle_with_recovery(workers: Workers, expected: int, timeout: float = 240) -> None:
    """What beat does after a crash: the planner and the recovery, until all went out."""
    deadline = time.monotonic() + timeout
    while not settled(expected) and time.monotonic() < deadline:
        workers.call(PLAN)
        workers.call(RECOVER)
        time.sleep(3)
    wait_for_all(workers, expected, timeout=30)


def test_a_thousand_due_subscribers_get_exactly_one_digest_each(workers, smtp):
    emails = populate(1000)
    workers.start("w1")

    workers.call(PLAN)
    wait_for_all(workers, 1000)

    assert_everyone_got_it(smtp, emails)
    assert "send_batch size=" in workers.log_tail()


def test_workers_killed_mid_send_re_send_at_most_the_message_in_flight(workers, smtp):
    emails = populate(600)
    # Slow enough that every kill lands in the middle of the sending; a kill at a random
    # moment, twice, so that runs together cover every instant of a send.
    first = workers.start("w1", SEND_RATE_PER_SECOND="40")
    workers.call(PLAN)
    wait_until(lambda: len(smtp.received()) >= 40, 60, "sending to start")
    time.sleep(random_moment(0.0, 3.0))
    workers.kill(first)
    second = workers.start("w2", SEND_RATE_PER_SECOND="40")
    settle_until = len(smtp.received()) + 40
    wait_until(lambda: len(smtp.received()) >= settle_until, 120, "the second worker to send")
    time.sleep(random_moment(0.0, 3.0))
    workers.kill(second)
    assert not settled(600), "everything went out before the second kill"

    workers.start("w3")
    settle_with_recovery(workers, 600)

    assert_everyone_got_it(smtp, emails, killed=2)


def test_a_provider_failing_thirty_percent_of_sends_gets_everything_there_once(workers, smtp):
    emails = populate(400)
    workers.start(
        "w1",
        EMAIL_BACKEND="tests.support.flaky_backend.FlakySMTPBackend",
        FLAKY_FAILURE_RATE="0.3",
    )

    workers.call(PLAN)
    # The planner and the recovery run meanwhile, as beat would run them.
    settle_with_recovery(workers, 400)

    assert_everyone_got_it(smtp, emails)
    retried = Delivery.objects.filter(attempts__gt=1).count()
    assert retried > 50, "the flaky provider should have forced retries"


def test_two_planners_and_two_workers_at_once_send_each_digest_once(workers, smtp):
    emails = populate(400)
    workers.start("w1")
    workers.start("w2")

    workers.call(PLAN)
    workers.call(PLAN)
    wait_for_all(workers, 400)
    workers.call(PLAN)  # and once more after everything went out
    workers.call(RECOVER)
    time.sleep(2)

    assert Delivery.objects.count() == 400
    assert_everyone_got_it(smtp, emails)


def test_people_who_leave_between_planning_and_sending_get_nothing(workers, smtp):
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
    settle_with_recovery(workers, 200, timeout=120)

    received = smtp.received()
    for person in leaving:
        assert received[person.email] == 0, f"{person.email} was emailed after leaving"
    stayed = set(emails) - {p.email for p in leaving}
    assert {email for email in received} == stayed
    # The planner worker was killed, maybe in the middle of a send: one second copy at most.
    assert sum(n - 1 for n in received.values()) <= 1
