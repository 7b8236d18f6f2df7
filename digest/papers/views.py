"""The public Daily Papers page and one page per topic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Max, Min, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from digest.models import Paper, PaperTopic, Topic
from digest.papers.trending import paper_trending
from subscriptions import views as subscription_views
from subscriptions.forms import SignupForm

# How many earlier days the page links to.
PREVIOUS_DAYS = 7


@dataclass(frozen=True)
class PaperRow:
    paper: Paper
    score: float
    topics: list[Topic]


def visible_papers(topic: Topic | None = None) -> QuerySet[Paper]:
    """Papers anyone may see (not hidden), optionally in one topic."""
    papers = Paper.objects.filter(hidden=False)
    if topic is not None:
        papers = papers.filter(topic_links__topic=topic)
    return papers


def with_details(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """Prefetches what the trending score and the topic list read: three queries in all."""
    links = PaperTopic.objects.filter(topic__active=True).select_related("topic")
    return papers.prefetch_related(
        "snapshots", Prefetch("topic_links", queryset=links.order_by("topic__name"))
    )


def ranked(papers: QuerySet[Paper], now: datetime) -> list[PaperRow]:
    """Pinned first, then by trending score: the order the page and the feeds show."""
    rows = [
        PaperRow(
            paper=p, score=paper_trending(p, now), topics=[x.topic for x in p.topic_links.all()]
        )
        for p in papers
    ]
    rows.sort(key=lambda r: (not r.paper.pinned, -r.score, -r.paper.upvotes, r.paper.title))
    return rows


def _requested_day(request: HttpRequest) -> date | None:
    raw = request.GET.get("date")
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Http404("Dates look like 2025-11-20.") from None


def _day_page(request: HttpRequest, topic: Topic | None) -> HttpResponse:
    papers = visible_papers(topic)
    day = _requested_day(request) or papers.aggregate(day=Max("featured_on"))["day"]
    rows, previous, newer = [], [], None
    if day is not None:
        rows = ranked(with_details(papers.filter(featured_on=day)), timezone.now())
        earlier = papers.filter(featured_on__lt=day).order_by("-featured_on")
        previous = list(earlier.values_list("featured_on", flat=True).distinct()[:PREVIOUS_DAYS])
        newer = papers.filter(featured_on__gt=day).aggregate(day=Min("featured_on"))["day"]
    topics = list(Topic.objects.filter(active=True))
    form = SignupForm(initial={"topics": [topic.slug]} if topic else None, topic_list=topics)
    context = {
        "topic": topic,
        "day": day,
        "rows": rows,
        "previous_days": previous,
        "newer_day": newer,
        "topics": topics,
        "form": form,
    }
    return render(request, "digest/papers.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # The signup form's own address is /subscribe/; a form posted to the page that
        # shows it gets the same handling rather than a 405.
        return subscription_views.subscribe(request)
    return _day_page(request, topic=None)


def renamed_topic(slug: str) -> Topic | None:
    """The active topic that had this slug before it was renamed, if any."""
    candidates = Topic.objects.filter(active=True, former_slugs__contains=slug)
    return next((t for t in candidates if slug in t.former_slug_list), None)


@require_GET
def topic(request: HttpRequest, slug: str) -> HttpResponse:
    found = Topic.objects.filter(slug=slug, active=True).first()
    if found is None:
        renamed = renamed_topic(slug)
        if renamed is None:
            raise Http404("No such topic.")
        # Old links (bookmarks, emails, feed readers) follow the topic to its new name.
        return redirect("digest:topic", renamed.slug, permanent=True)
    return _day_page(request, found)
