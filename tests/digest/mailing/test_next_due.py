"""Planning reads only the readers who are due, and each reader's next_due_at stays true:
after planning and sending, after a pause and a resume, after a change of time zone or
schedule; and a reader whose next_due_at is unknown, stale or wrong is never left out.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps

from digest.mailing import dispatch, planning
from digest.models import Delivery
from subscriptions import services
from subscriptions.models import Subscriber
from tests.digest.conftest import make_reader

pytestmark = pytest.mark.django_db

# Thursday 26 November 2026, 08:00 UTC: after alice's 07:00, before her 09:00 at worst.
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def outbox(settings):
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"


def reloaded(subscriber: Subscriber) -> Subscriber:
    subscriber.refresh_from_db()
    return subscriber


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_daily_reader_planned_today_is_next_due_at_tomorrows_send_hour(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"], send_hour=7)

    planning.plan(NOW)

    assert reloaded(alice).next_due_at == utc("2026-11-27 07:00")


def test_a_weekly_reader_is_next_due_on_their_weekday_next_week(papers):
    # Thursday is weekday 3: this week's 06:00 has passed, so the next is a week later.
    bob = make_reader(
        "bob@example.com", ["retrieval-and-rag"], frequency="weekly", weekday=3, send_hour=6
    )

    planning.plan(NOW)

    assert Delivery.objects.get(subscriber=bob).period == "weekly:2026-W48"
    assert reloaded(bob).next_due_at == utc("2026-12-03 06:00")


def test_a_reader_whose_hour_has_not_come_is_next_due_at_it_and_gets_nothing_yet(papers):
    erin = make_reader("erin@example.com", ["retrieval-and-rag"], send_hour=9)

    plan = planning.plan(NOW)

    assert plan.created == []
    assert reloaded(erin).next_due_at == utc("2026-11-26 09:00")


def test_after_a_send_the_reader_is_due_at_the_next_period_and_not_read_before(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"], send_hour=7)
    dispatch.send_deliveries(planning.plan(NOW).created, NOW)

    later = planning.plan(NOW + timedelta(hours=3))

    assert Delivery.objects.get(subscriber=alice).status == Delivery.Status.SENT
    assert reloaded(alice).next_due_at == utc("2026-11-27 07:00")
    assert later.looked_at == 0


def test_planning_reads_only_the_readers_who_are_due(papers):
    due = [make_reader(f"due{n}@example.com", ["retrieval-and-rag"]) for n in range(3)]
    later = [
        make_reader(f"later{n}@example.com", ["retrieval-and-rag"], send_hour=20) for n in range(5)
    ]
    planning.plan(NOW - timedelta(hours=2))  # every next_due_at is known from here on

    plan = planning.plan(NOW)

    assert plan.looked_at == 3
    assert sorted(Delivery.objects.values_list("subscriber__email", flat=True)) == sorted(
        reader.email for reader in due
    )
    assert all(reloaded(reader).next_due_at == utc("2026-11-26 20:00") for reader in later)


def test_a_paused_reader_is_next_due_when_the_pause_ends_and_then_gets_that_days_digest(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"], send_hour=7)

    until = alice.pause(1)

    assert reloaded(alice).next_due_at == until == NOW + timedelta(weeks=1)
    assert planning.plan(NOW).looked_at == 0
    assert planning.plan(until).created  # the pause is over: 08:00, past her 07:00


def test_a_resumed_reader_whose_hour_has_passed_is_due_at_once(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"], send_hour=7)
    alice.pause(2)

    alice.resume()

    assert reloaded(alice).next_due_at == utc("2026-11-26 07:00")
    assert len(planning.plan(NOW).created) == 1


def test_a_new_time_zone_moves_the_next_send_moment(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"], send_hour=7)
    planning.plan(NOW)
    preferences = {
        "topics": list(alice.topics.all()),
        "frequency": "daily",
        "weekday": 0,
        "send_hour": 7,
        "timezone": "America/New_York",
    }

    services.update_preferences(alice, preferences)

    # 08:00 UTC is 03:00 in New York: her 07:00 there is 12:00 UTC today.
    assert reloaded(alice).next_due_at == utc("2026-11-26 12:00")


def test_switching_to_weekly_is_due_at_once_when_this_weeks_moment_has_passed(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"], send_hour=7)
    planning.plan(NOW)

    alice.switch_frequency(Subscriber.Frequency.WEEKLY)  # weekday 0: Monday, passed

    assert reloaded(alice).next_due_at == utc("2026-11-23 07:00")
    assert [d.period for d in Delivery.objects.filter(subscriber=alice).order_by("pk")] == [
        "daily:2026-11-26"
    ]
    planning.plan(NOW)
    assert Delivery.objects.filter(subscriber=alice).count() == 2
    assert reloaded(alice).next_due_at == utc("2026-11-30 07:00")


def test_confirming_sets_the_first_send_moment(papers):
    carol = make_reader(
        "carol@example.com", ["retrieval-and-rag"], status="pending", confirmed_at=None
    )

    assert carol.confirm()

    assert reloaded(carol).next_due_at == utc("2026-11-26 07:00")


def test_a_reader_with_no_next_due_at_is_read_and_planned(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"])
    assert alice.next_due_at is None  # made without the model's methods, as by a script

    plan = planning.plan(NOW)

    assert len(plan.created) == 1
    assert reloaded(alice).next_due_at == utc("2026-11-27 07:00")


def test_a_reader_left_behind_by_a_stopped_planner_gets_the_current_period(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"])
    Subscriber.objects.filter(pk=alice.pk).update(next_due_at=NOW - timedelta(days=5))

    planning.plan(NOW)

    assert Delivery.objects.get(subscriber=alice).period == "daily:2026-11-26"


def test_a_next_due_at_further_ahead_than_any_schedule_allows_is_read_again(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"])
    Subscriber.objects.filter(pk=alice.pk).update(next_due_at=NOW + timedelta(days=60))

    planning.plan(NOW)

    assert Delivery.objects.get(subscriber=alice).period == "daily:2026-11-26"
    assert reloaded(alice).next_due_at == utc("2026-11-27 07:00")


def test_the_migration_gives_every_existing_reader_a_next_due_at(papers):
    alice = make_reader("alice@example.com", ["retrieval-and-rag"], send_hour=7)
    erin = make_reader("erin@example.com", ["retrieval-and-rag"], send_hour=9)
    dave = make_reader(
        "dave@example.com", ["retrieval-and-rag"], paused_until=NOW + timedelta(days=3)
    )
    migration = importlib.import_module("subscriptions.migrations.0005_fill_next_due_at")

    migration.fill(apps, None)

    assert reloaded(alice).next_due_at == utc("2026-11-26 07:00")  # due: planning decides
    assert reloaded(erin).next_due_at == utc("2026-11-26 09:00")
    assert reloaded(dave).next_due_at == NOW + timedelta(days=3)
