"""The sending dashboard in admin: what is waiting to be sent and whether sending stalled,
digests sent, bounces, complaints and the complaint rate per day for the last 30 days,
subscribers by status, and the last feeds read.

Gmail and Yahoo measure the spam-complaint rate daily and want it below 0.1 %, never
reaching 0.3 % (their bulk-sender rules of 2024). The page draws each day's rate against
those two lines so that a person sees at a glance whether the list is in trouble.

The numbers and every SVG coordinate come from pure functions over per-day counts (tested
without a database); the view runs three aggregate queries and renders a template. A fourth
counts last week's papers without a topic (`digest/papers/untagged.py`), shown below the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import floor, log10

from django.apps import apps
from django.contrib import admin
from django.db.models import Count, Model, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from digest.models import Delivery, IngestRun
from digest.ops.backlog import Backlog, load_backlog
from digest.papers.untagged import load_untagged_share
from subscriptions.models import Subscriber, SubscriberStatus

DAYS = 30
# The bulk-sender thresholds, as fractions of the messages sent.
TARGET_RATE = 0.001
LIMIT_RATE = 0.003
# The rate axis always shows both lines and a little headroom; above 1 % the bars are
# clipped and labelled, or one bad day on a small list would squash every other day flat.
RATE_AXIS_STEPS = (0.004, 0.005, 0.006, 0.008, 0.01)
# A zero-complaint day with sends gets a sliver of a bar, so it reads differently from a
# day on which nothing was sent.
ZERO_BAR_HEIGHT = 2.0
# An x label every so many days, counted back from today so that today is always labelled.
X_LABEL_EVERY = 5

# Shown where a day has no rate (nothing sent).
NO_RATE = "\N{EN DASH}"

# Anymail's normalized event types for the two things that hurt a sender's reputation.
BOUNCED = "bounced"
COMPLAINED = "complained"


# --- numbers --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DayCounts:
    day: date
    sent: int = 0
    bounces: int = 0
    complaints: int = 0

    @property
    def complaint_rate(self) -> float | None:
        return complaint_rate(self.complaints, self.sent)


def complaint_rate(complaints: int, sent: int) -> float | None:
    """Complaints per digest sent; None on a day with no sends (there is no rate to show)."""
    if sent <= 0:
        return None
    return complaints / sent


def rate_level(rate: float | None) -> str:
    """`ok` below the target, `warn` from the target, `over` from the limit, `none`."""
    if rate is None:
        return "none"
    if rate >= LIMIT_RATE:
        return "over"
    if rate >= TARGET_RATE:
        return "warn"
    return "ok"


def format_rate(rate: float | None) -> str:
    if rate is None:
        return NO_RATE
    return f"{rate * 100:.2f} %"


def format_percent_tick(fraction: float) -> str:
    """Axis labels: `0 %`, `0.1 %`, ..., `1 %` (no trailing zeros)."""
    text = f"{fraction * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"


def last_days(today: date, count: int = DAYS) -> list[date]:
    """The `count` days ending with today, oldest first."""
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def fill_days(
    days: Sequence[date],
    sent: Mapping[date, int],
    bounces: Mapping[date, int],
    complaints: Mapping[date, int],
) -> list[DayCounts]:
    """One row per day, zero where the database had no row for it."""
    return [
        DayCounts(day, sent.get(day, 0), bounces.get(day, 0), complaints.get(day, 0))
        for day in days
    ]


@dataclass(frozen=True)
class Totals:
    sent: int
    bounces: int
    complaints: int
    rate: float | None
    level: str
    days_over_target: int
    days_at_limit: int
    worst: DayCounts | None

    @property
    def rate_text(self) -> str:
        return format_rate(self.rate)

    @property
    def worst_rate_text(self) -> str:
        return format_rate(self.worst.complaint_rate if self.worst else None)

    @property
    def worst_level(self) -> str:
        return rate_level(self.worst.complaint_rate if self.worst else None)


def totals(series: Sequence[DayCounts]) -> Totals:
    sent = sum(d.sent for d in series)
    complaints = sum(d.complaints for d in series)
    rate = complaint_rate(complaints, sent)
    rated = [d for d in series if d.complaint_rate is not None]
    worst = max(rated, key=lambda d: d.complaint_rate or 0.0, default=None)
    if worst is not None and not worst.complaints:
        worst = None
    return Totals(
        sent=sent,
        bounces=sum(d.bounces for d in series),
        complaints=complaints,
        rate=rate,
        level=rate_level(rate),
        days_over_target=sum(1 for d in rated if (d.complaint_rate or 0.0) >= TARGET_RATE),
        days_at_limit=sum(1 for d in rated if (d.complaint_rate or 0.0) >= LIMIT_RATE),
        worst=worst,
    )


@dataclass(frozen=True)
class StatusRow:
    status: str
    label: str
    count: int
    percent: float


def status_rows(counts: Mapping[str, int], choices: Iterable[tuple[str, str]]) -> list[StatusRow]:
    """Every status in its usual order, with its share of all subscribers."""
    choices = list(choices)
    total = sum(counts.get(value, 0) for value, _ in choices)
    return [
        StatusRow(
            value,
            label,
            counts.get(value, 0),
            round(100 * counts.get(value, 0) / total, 1) if total else 0.0,
        )
        for value, label in choices
    ]


# --- chart geometry -------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """An SVG canvas (viewBox units) and the margins around its plot area."""

    width: float
    height: float
    left: float = 56
    right: float = 16
    top: float = 16
    bottom: float = 28

    @property
    def plot_left(self) -> float:
        return self.left

    @property
    def plot_right(self) -> float:
        return self.width - self.right

    @property
    def plot_top(self) -> float:
        return self.top

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    @property
    def plot_width(self) -> float:
        return self.plot_right - self.plot_left

    @property
    def plot_height(self) -> float:
        return self.plot_bottom - self.plot_top

    def y_for(self, value: float, axis_max: float) -> float:
        return round(self.plot_bottom - min(value, axis_max) / axis_max * self.plot_height, 1)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str  # the tooltip: the day and its exact numbers
    label: str = ""  # drawn above the bar when the value needs a second look
    label_y: float = 0.0


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Line:
    y: float
    label: str
    css: str


@dataclass(frozen=True)
class Chart:
    frame: Frame
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    lines: list[Line]
    axis_max: float
    y_title: str = ""


def nice_axis(highest: float, max_ticks: int = 4) -> tuple[float, float]:
    """(axis maximum, tick step) on a 1-2-5 scale that covers `highest` in few ticks."""
    if highest <= 0:
        return 1.0, 1.0
    magnitude = 10 ** floor(log10(highest / max_ticks)) if highest >= max_ticks else 1
    for multiplier in (1, 2, 5, 10, 20, 50):
        step = multiplier * magnitude
        ticks = -(-highest // step)  # ceiling division
        if ticks <= max_ticks:
            return ticks * step, step
    raise AssertionError("unreachable: 50 x magnitude always fits")  # pragma: no cover


def rate_axis_max(rates: Iterable[float | None]) -> float:
    highest = max((r for r in rates if r is not None), default=0.0)
    for step in RATE_AXIS_STEPS:
        if highest <= step:
            return step
    return RATE_AXIS_STEPS[-1]


def _slots(frame: Frame, count: int) -> float:
    return frame.plot_width / count if count else frame.plot_width


def x_ticks(frame: Frame, days: Sequence[date]) -> list[Tick]:
    slot = _slots(frame, len(days))
    last = len(days) - 1
    return [
        Tick(round(frame.plot_left + (i + 0.5) * slot, 1), f"{day.day} {day:%b}")
        for i, day in enumerate(days)
        if (last - i) % X_LABEL_EVERY == 0
    ]


def rate_chart(series: Sequence[DayCounts], frame: Frame | None = None) -> Chart:
    """Bars of each day's complaint rate against the 0.1 % target and 0.3 % limit lines."""
    frame = frame or Frame(960, 300, right=104, top=24)
    axis_max = rate_axis_max(d.complaint_rate for d in series)
    slot = _slots(frame, len(series))
    width = round(slot * 0.7, 1)
    bars = []
    for i, d in enumerate(series):
        rate = d.complaint_rate
        if rate is None:
            continue  # nothing sent: no rate, no bar
        top = frame.y_for(rate, axis_max)
        height = max(round(frame.plot_bottom - top, 1), ZERO_BAR_HEIGHT)
        x = round(frame.plot_left + i * slot + (slot - width) / 2, 1)
        worth_a_label = rate >= TARGET_RATE
        bars.append(
            Bar(
                x=x,
                y=round(frame.plot_bottom - height, 1),
                width=width,
                height=height,
                css=rate_level(rate),
                title=(
                    f"{d.day:%a} {d.day.day} {d.day:%b}: {d.complaints:,} complaints / "
                    f"{d.sent:,} sent = {format_rate(rate)}"
                ),
                label=format_rate(rate).replace(" ", "") if worth_a_label else "",
                label_y=round(frame.plot_bottom - height - 4, 1),
            )
        )
    step = 0.001 if axis_max <= 0.006 else 0.002
    ticks = [
        Tick(frame.y_for(i * step, axis_max), format_percent_tick(i * step))
        for i in range(round(axis_max / step) + 1)
    ]
    lines = [
        Line(frame.y_for(TARGET_RATE, axis_max), "0.1 % target", "warn"),
        Line(frame.y_for(LIMIT_RATE, axis_max), "0.3 % limit", "over"),
    ]
    return Chart(
        frame=frame,
        bars=bars,
        y_ticks=ticks,
        x_ticks=x_ticks(frame, [d.day for d in series]),
        lines=lines,
        axis_max=axis_max,
        y_title="complaints / sent",
    )


def count_chart(
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[int], str]],
    frame: Frame | None = None,
) -> Chart:
    """Grouped bars of per-day counts: `series` is (name, one count per day, css class)."""
    frame = frame or Frame(470, 180)
    highest = max((max(values, default=0) for _, values, _ in series), default=0)
    axis_max, step = nice_axis(highest)
    slot = _slots(frame, len(days))
    group = slot * 0.8
    width = group / max(len(series), 1)
    bars = []
    for i, day in enumerate(days):
        for j, (name, values, css) in enumerate(series):
            value = values[i]
            if not value:
                continue
            top = frame.y_for(value, axis_max)
            bars.append(
                Bar(
                    x=round(frame.plot_left + i * slot + (slot - group) / 2 + j * width, 1),
                    y=top,
                    width=round(width, 1),
                    height=round(frame.plot_bottom - top, 1),
                    css=css,
                    title=f"{day:%a} {day.day} {day:%b}: {value:,} {name}",
                )
            )
    ticks = [
        Tick(frame.y_for(i * step, axis_max), f"{round(i * step):,}")
        for i in range(round(axis_max / step) + 1)
    ]
    return Chart(
        frame=frame,
        bars=bars,
        y_ticks=ticks,
        x_ticks=x_ticks(frame, days),
        lines=[],
        axis_max=axis_max,
    )


def format_wait(wait: timedelta | None) -> str:
    """A wait as a person reads it: "45 s", "12 min", "3 h 5 min"; an en dash for none."""
    if wait is None:
        return NO_RATE
    seconds = int(wait.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def backlog_view(backlog: Backlog) -> dict[str, object]:
    """The "Sending now" cards: stalled is red, half-way there amber."""
    if backlog.stalled:
        level = "over"
    elif backlog.oldest_wait is not None and backlog.oldest_wait > backlog.stall_after / 2:
        level = "warn"
    else:
        level = "ok"
    return {
        "waiting": backlog.waiting,
        "retrying": backlog.retrying,
        "sending": backlog.sending,
        "oldest": format_wait(backlog.oldest_wait),
        "stall_after": format_wait(backlog.stall_after),
        "stalled": backlog.stalled,
        "level": level,
    }


FEEDS_SHOWN = 10


# --- queries --------------------------------------------------------------------------------
def email_event_model() -> tuple[type[Model], str] | None:
    """The webhook events model and the field that tells a bounce from a complaint.

    Looked up by name so the dashboard works before (and without) the webhook receiver.
    `effect` is preferred where the model has it: it is what the receiver decided the event
    does (a hard bounce, a complaint), where `event_type` is the ESP's raw category.
    """
    try:
        model = apps.get_model("subscriptions", "EmailEvent")
    except LookupError:
        return None
    fields = {field.name for field in model._meta.get_fields()}
    if "occurred_at" not in fields:
        return None
    for kind in ("effect", "event_type"):
        if kind in fields:
            return model, kind
    return None


def _per_day(queryset: QuerySet, moment: str, kind: str | None = None) -> dict:
    """{day: n}, or {(day, kind): n}: one GROUP BY query, days in the current time zone."""
    keys = ["day", kind] if kind else ["day"]
    rows = (
        queryset.annotate(day=TruncDate(moment))
        .values(*keys)
        .annotate(n=Count("pk"))
        .values_list(*keys, "n")
        .order_by()  # no model ordering in the GROUP BY
    )
    if kind:
        return {(day, value): n for day, value, n in rows}
    return {day: n for day, n in rows}


def load_series(days: Sequence[date]) -> tuple[list[DayCounts], str]:
    """Per-day counts for `days` in two queries, and where bounces and complaints came from.

    Sends are counted by `sent_at`, events by when the provider says they happened; days
    are calendar days in the current time zone (TIME_ZONE).
    """
    start = timezone.make_aware(datetime.combine(days[0], time.min))
    sent = _per_day(Delivery.objects.filter(sent_at__gte=start), "sent_at")

    events = email_event_model()
    if events is not None:
        model, kind = events
        rows = model._default_manager.filter(
            **{f"{kind}__in": [BOUNCED, COMPLAINED]}, occurred_at__gte=start
        )
        by_kind = _per_day(rows, "occurred_at", kind)
        source = "events"
    else:
        # Before webhook events are recorded, the subscriber rows are all there is: each
        # bounced or complained subscriber counts once, on the day their row last changed.
        rows = Subscriber.objects.filter(status__in=[BOUNCED, COMPLAINED], updated_at__gte=start)
        by_kind = _per_day(rows, "updated_at", "status")
        source = "subscribers"
    bounces = {day: n for (day, what), n in by_kind.items() if what == BOUNCED}
    complaints = {day: n for (day, what), n in by_kind.items() if what == COMPLAINED}
    return fill_days(days, sent, bounces, complaints), source


def load_status_counts() -> dict[str, int]:
    rows = Subscriber.objects.values("status").annotate(n=Count("pk")).values_list("status", "n")
    return dict(rows.order_by())


def dashboard_context(series: Sequence[DayCounts], statuses: Mapping[str, int]) -> dict:
    """Everything the template shows, computed from plain counts."""
    days = [d.day for d in series]
    return {
        "series": series,
        "rows": [
            {
                "day": d.day,
                "sent": d.sent,
                "bounces": d.bounces,
                "complaints": d.complaints,
                "rate": format_rate(d.complaint_rate),
                "level": rate_level(d.complaint_rate),
            }
            for d in reversed(series)
        ],
        "totals": totals(series),
        "rate_chart": rate_chart(series),
        "count_charts": [
            {
                "id": "sent",
                "title": "Digests sent per day",
                "chart": count_chart(days, [("digests sent", [d.sent for d in series], "sent")]),
                "legend": [("sent", "digests sent")],
            },
            {
                "id": "trouble",
                "title": "Bounces and complaints per day",
                "chart": count_chart(
                    days,
                    [
                        ("bounces", [d.bounces for d in series], "bounce"),
                        ("complaints", [d.complaints for d in series], "complaint"),
                    ],
                ),
                "legend": [("bounce", "bounces"), ("complaint", "complaints")],
            },
        ],
        "statuses": status_rows(statuses, SubscriberStatus.choices),
        "target": format_percent_tick(TARGET_RATE),
        "limit": format_percent_tick(LIMIT_RATE),
    }


def dashboard(request: HttpRequest) -> TemplateResponse:
    today = timezone.localdate()
    days = last_days(today)
    series, source = load_series(days)
    context = {
        **admin.site.each_context(request),
        "title": "Sending dashboard",
        "source": source,
        "time_zone": timezone.get_current_timezone_name(),
        **dashboard_context(series, load_status_counts()),
        # What falls through: last week's papers that no reader's topics can bring.
        "untagged": load_untagged_share(today),
        "backlog": backlog_view(load_backlog(timezone.now())),
        "feeds": list(IngestRun.objects.all()[:FEEDS_SHOWN]),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)


# admin_view: staff only (others go to the admin login), never cached, CSRF-protected.
dashboard_view = admin.site.admin_view(dashboard)
