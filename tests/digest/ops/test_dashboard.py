"""The sending dashboard: complaint rate per day against 0.1 % and 0.3 %, sends, bounces,
complaints and subscribers by status, for staff only.

The numbers and chart coordinates are pure functions of per-day counts, tested first
without a database; then the page itself, on the real database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from digest.models import Delivery
from digest.ops import dashboard
from digest.ops.dashboard import DayCounts, Frame
from subscriptions.models import Subscriber
from tests.subscriptions.helpers import make_subscriber

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def day(offset: int) -> date:
    return TODAY - timedelta(days=offset)


# --- the numbers, without a database ----------------------------------------------------------
def test_a_day_with_no_sends_has_no_rate_rather_than_a_division_by_zero():
    assert dashboard.complaint_rate(0, 0) is None
    assert dashboard.complaint_rate(3, 0) is None
    assert DayCounts(TODAY, sent=0, complaints=2).complaint_rate is None
    assert dashboard.rate_level(None) == "none"
    assert dashboard.format_rate(None) == dashboard.NO_RATE == "\N{EN DASH}"


def test_the_rate_is_complaints_over_digests_sent_that_day():
    assert dashboard.complaint_rate(1, 2000) == pytest.approx(0.0005)
    assert dashboard.format_rate(0.0005) == "0.05 %"
    assert dashboard.format_rate(0.0025) == "0.25 %"


def test_levels_are_ok_below_the_target_warn_from_it_and_over_from_the_limit():
    assert dashboard.rate_level(0.0) == "ok"
    assert dashboard.rate_level(0.00099) == "ok"
    assert dashboard.rate_level(0.001) == "warn"
    assert dashboard.rate_level(0.00299) == "warn"
    assert dashboard.rate_level(0.003) == "over"


def test_the_last_thirty_days_end_today_oldest_first():
    days = dashboard.last_days(TODAY)

    assert len(days) == 30
    assert days[0] == date(2026, 10, 28)
    assert days[-1] == TODAY


def test_days_without_rows_are_filled_with_zeros():
    days = [day(2), day(1), day(0)]

    series = dashboard.fill_days(days, {day(1): 500}, {day(0): 2}, {day(1): 1})

    assert series == [
        DayCounts(day(2), 0, 0, 0),
        DayCounts(day(1), 500, 0, 1),
        DayCounts(day(0), 0, 2, 0),
    ]


def test_totals_add_up_and_count_the_days_over_each_line():
    series = [
        DayCounts(day(3), sent=1000, bounces=4, complaints=0),  # 0 %
        DayCounts(day(2), sent=1000, bounces=1, complaints=2),  # 0.2 %: over the target
        DayCounts(day(1), sent=1000, bounces=0, complaints=5),  # 0.5 %: at the limit
        DayCounts(day(0), sent=0, bounces=0, complaints=1),  # nothing sent: no rate
    ]

    result = dashboard.totals(series)

    assert (result.sent, result.bounces, result.complaints) == (3000, 5, 8)
    assert result.rate == pytest.approx(8 / 3000)
    assert result.rate_text == "0.27 %"
    assert result.level == "warn"
    assert (result.days_over_target, result.days_at_limit) == (2, 1)
    assert result.worst == series[2]
    assert (result.worst_rate_text, result.worst_level) == ("0.50 %", "over")


def test_totals_of_nothing_sent_have_no_rate():
    result = dashboard.totals([DayCounts(day(0))])

    assert result.rate is None
    assert result.rate_text == dashboard.NO_RATE
    assert result.worst is None


def test_status_rows_list_every_status_in_order_with_its_share():
    rows = dashboard.status_rows(
        {"active": 6, "bounced": 2},
        [("active", "Active"), ("pending", "Pending"), ("bounced", "Bounced")],
    )

    assert [(r.status, r.count, r.percent) for r in rows] == [
        ("active", 6, 75.0),
        ("pending", 0, 0.0),
        ("bounced", 2, 25.0),
    ]
    assert dashboard.status_rows({}, [("active", "Active")])[0].percent == 0.0


def test_count_axes_end_on_a_round_number_with_few_ticks():
    assert dashboard.nice_axis(0) == (1.0, 1.0)
    assert dashboard.nice_axis(3) == (3, 1)
    assert dashboard.nice_axis(7) == (8, 2)
    assert dashboard.nice_axis(13_245) == (15_000, 5_000)


# --- the rate chart's geometry ----------------------------------------------------------------
FRAME = Frame(400, 200, left=50, right=50, top=20, bottom=30)  # plot: x 50..350, y 20..170


def test_the_rate_axis_always_shows_both_lines_and_stops_at_one_percent():
    assert dashboard.rate_axis_max([None, 0.0]) == 0.004
    assert dashboard.rate_axis_max([0.0045]) == 0.005
    assert dashboard.rate_axis_max([0.007]) == 0.008
    assert dashboard.rate_axis_max([0.25]) == 0.01


def test_the_threshold_lines_sit_at_their_rates_and_are_labelled():
    chart = dashboard.rate_chart([DayCounts(TODAY, sent=1000)], FRAME)

    # Axis 0..0.4 % over 150 px: 0.1 % is 37.5 px up from the bottom, 0.3 % is 112.5 px up.
    assert [(line.label, line.y) for line in chart.lines] == [
        ("0.1 % target", 132.5),
        ("0.3 % limit", 57.5),
    ]
    assert [t.label for t in chart.y_ticks] == ["0 %", "0.1 %", "0.2 %", "0.3 %", "0.4 %"]
    assert chart.y_ticks[0].pos == 170 and chart.y_ticks[-1].pos == 20


def test_each_day_with_sends_gets_a_bar_as_tall_as_its_rate():
    series = [
        DayCounts(day(2), sent=1000, complaints=2),  # 0.2 %
        DayCounts(day(1), sent=0, complaints=0),  # no sends: no bar
        DayCounts(day(0), sent=1000, complaints=0),  # 0 %: a sliver
    ]

    chart = dashboard.rate_chart(series, FRAME)

    two_tenths, zero = chart.bars
    assert two_tenths.height == 75.0 and two_tenths.y == 95.0
    assert two_tenths.css == "warn"
    assert two_tenths.label == "0.20%"
    assert "2 complaints / 1,000 sent = 0.20 %" in two_tenths.title
    # Three slots of 100 px; bars are 70 px wide and centred in theirs.
    assert two_tenths.x == 65.0 and two_tenths.width == 70.0
    assert zero.x == 265.0
    assert zero.height == dashboard.ZERO_BAR_HEIGHT and zero.css == "ok" and zero.label == ""


def test_a_day_far_over_the_limit_is_clipped_at_the_top_and_labelled():
    chart = dashboard.rate_chart([DayCounts(TODAY, sent=50, complaints=1)], FRAME)  # 2 %

    [bar] = chart.bars
    assert chart.axis_max == 0.01
    assert bar.y == FRAME.plot_top and bar.height == FRAME.plot_height
    assert bar.css == "over"
    assert bar.label == "2.00%"
    assert bar.label_y < FRAME.plot_top


def test_x_labels_fall_every_five_days_and_always_on_today():
    days = dashboard.last_days(TODAY)

    ticks = dashboard.x_ticks(Frame(960, 300), days)

    assert [t.label for t in ticks] == ["1 Nov", "6 Nov", "11 Nov", "16 Nov", "21 Nov", "26 Nov"]
    # Each label sits under the middle of its day's slot.
    slot = Frame(960, 300).plot_width / 30
    assert ticks[-1].pos == round(Frame(960, 300).plot_left + 29.5 * slot, 1)


def test_count_bars_are_grouped_side_by_side_per_day():
    chart = dashboard.count_chart(
        [day(1), day(0)],
        [("bounces", [4, 0], "bounce"), ("complaints", [2, 1], "complaint")],
        FRAME,
    )

    assert chart.axis_max == 4
    assert [(b.css, b.x, b.height) for b in chart.bars] == [
        ("bounce", 65.0, 150.0),
        ("complaint", 125.0, 75.0),
        ("complaint", 275.0, 37.5),
    ]
    assert [t.label for t in chart.y_ticks] == ["0", "1", "2", "3", "4"]


# --- the page ---------------------------------------------------------------------------------
@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user(
        "stella", "stella@example.com", "pw-stella-123", is_staff=True
    )
    client.force_login(user)
    return client


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def person(email: str, status: str, changed: datetime | None = None) -> Subscriber:
    subscriber = make_subscriber(email, status)
    if changed is not None:
        # updated_at is auto_now: set it the way a status change on that day would have.
        Subscriber.objects.filter(pk=subscriber.pk).update(updated_at=changed)
    return subscriber


def trouble(email: str, what: str, when: datetime) -> Subscriber:
    """A bounce or complaint as the webhook leaves it: the status, and the event if recorded."""
    subscriber = person(email, what, changed=when)
    found = dashboard.email_event_model()
    if found is not None:
        model, kind = found
        model._default_manager.create(
            esp="postmark",
            event_id=f"evt-{email}",
            event_type=what,
            occurred_at=when,
            subscriber=subscriber,
            **({kind: what} if kind != "event_type" else {}),
        )
    return subscriber


def sent_digests(subscribers: list[Subscriber], when: datetime) -> None:
    Delivery.objects.bulk_create(
        Delivery(
            subscriber=s,
            period=f"daily:{when.date()}",
            status=Delivery.Status.SENT,
            window_start=when.date(),
            window_end=when.date(),
            sent_at=when,
        )
        for s in subscribers
    )


@pytest.fixture
def history(db, frozen) -> None:
    """Yesterday 400 digests and one complaint (0.25 %); today 200 and none; a bounce today."""
    Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{i}@example.com", status="active", confirmed_at=NOW)
        for i in range(400)
    )
    readers = list(Subscriber.objects.filter(email__startswith="reader"))
    person("bob@example.com", "pending")
    person("carol@example.com", "unsubscribed")
    trouble("dave@example.com", "bounced", NOW - timedelta(hours=1))
    trouble("erin@example.com", "complained", NOW - timedelta(days=1))
    sent_digests(readers, NOW - timedelta(days=1))
    sent_digests(readers[:200], NOW - timedelta(hours=2))
    # 40 days ago is out of the window.
    trouble("frank@example.com", "complained", NOW - timedelta(days=40))


@pytest.mark.django_db
def test_staff_see_the_dashboard_with_the_numbers(staff, history, django_assert_max_num_queries):
    # Session, user and the admin's two permission look-ups, then seven aggregates (sends,
    # bounces and complaints, statuses, last week's papers without a topic, the backlog's
    # two, the last feeds read), however many rows there are.
    with django_assert_max_num_queries(11):
        page = staff.get(reverse("admin_dashboard"))

    assert page.status_code == 200
    context = page.context
    series = context["series"]
    assert len(series) == 30
    assert series[-1] == DayCounts(TODAY, sent=200, bounces=1, complaints=0)
    assert series[-2] == DayCounts(day(1), sent=400, bounces=0, complaints=1)
    assert sum(d.complaints for d in series) == 1  # frank's old complaint is out of the window
    assert context["source"] == (
        "subscribers" if dashboard.email_event_model() is None else "events"
    )

    body = page.content.decode()
    assert "Complaint rate per day" in body
    assert "0.1 % target" in body and "0.3 % limit" in body
    assert "0.25 %" in body  # yesterday's rate, in the table
    assert "0.17 %" in body  # 1 complaint / 600 sent over the 30 days
    assert "<svg" in body and "<script" not in body.split('id="content-main"')[1]
    statuses = {row.status: row.count for row in context["statuses"]}
    assert statuses == {
        "pending": 1,
        "active": 400,
        "unsubscribed": 1,
        "bounced": 1,
        "complained": 2,
    }


@pytest.mark.django_db
def test_without_webhook_events_bounced_and_complained_subscribers_are_counted(
    staff, history, monkeypatch
):
    # As before the webhook receiver existed: no events model to read.
    monkeypatch.setattr(dashboard, "email_event_model", lambda: None)

    page = staff.get(reverse("admin_dashboard"))

    assert page.context["source"] == "subscribers"
    assert page.context["series"][-1] == DayCounts(TODAY, sent=200, bounces=1, complaints=0)
    assert page.context["series"][-2] == DayCounts(day(1), sent=400, bounces=0, complaints=1)
    assert "subscriber statuses" in page.content.decode()


@pytest.mark.django_db
def test_an_empty_list_shows_the_page_without_any_rate(staff, frozen):
    page = staff.get(reverse("admin_dashboard"))

    assert page.status_code == 200
    assert page.context["totals"].rate is None
    assert "nothing sent" in page.content.decode()
    assert page.context["rate_chart"].bars == []


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client):
    page = client.get(reverse("admin_dashboard"))

    assert page.status_code == 302
    assert page["Location"] == f"{reverse('admin:login')}?next={reverse('admin_dashboard')}"


@pytest.mark.django_db
def test_people_who_are_not_staff_are_sent_to_the_login_page(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory", "m@example.com", "pw"))

    page = client.get(reverse("admin_dashboard"))

    assert page.status_code == 302
    assert page["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_the_admin_index_links_to_the_dashboard(staff):
    page = staff.get(reverse("admin:index"))

    body = page.content.decode()
    assert page.status_code == 200
    assert f'href="{reverse("admin_dashboard")}"' in body
    assert 'id="recent-actions-module"' in body  # the rest of the admin index is still there


@pytest.mark.django_db
def test_only_bounces_and_complaints_count_among_webhook_events(staff, frozen):
    found = dashboard.email_event_model()
    if found is None:
        pytest.skip("subscriptions.EmailEvent is not installed yet: subscriber statuses count")
    model, kind = found
    alice = person("alice@example.com", "active")
    sent_digests([alice], NOW - timedelta(hours=3))
    for i, what in enumerate(["complained", "bounced", "delivered", "opened"]):
        model._default_manager.create(
            esp="postmark",
            event_id=f"evt-{i}",
            event_type=what,
            occurred_at=NOW - timedelta(hours=1),
            subscriber=alice,
            **({kind: what} if kind != "event_type" else {}),
        )

    page = staff.get(reverse("admin_dashboard"))

    assert page.context["source"] == "events"
    assert page.context["series"][-1] == DayCounts(TODAY, sent=1, bounces=1, complaints=1)
