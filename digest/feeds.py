"""Atom feeds of trending papers: all topics at /feed/, one topic at /topics/<slug>/feed/."""

from __future__ import annotations

from datetime import UTC, datetime, time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed

from digest.models import Paper, Topic
from digest.views import PaperRow, ranked, visible_papers, with_details

# The latest featured days in a feed, newest first and by trending score within a day.
FEED_DAYS = 3
FEED_LIMIT = 100


def feed_rows(papers: QuerySet[Paper]) -> list[PaperRow]:
    days = papers.order_by("-featured_on").values_list("featured_on", flat=True).distinct()
    latest = list(days[:FEED_DAYS])
    rows = ranked(with_details(papers.filter(featured_on__in=latest)), timezone.now())
    # sort() is stable: within a day the trending order stays.
    rows.sort(key=lambda r: r.paper.featured_on, reverse=True)
    return rows[:FEED_LIMIT]


class LatestPapersFeed(Feed):
    feed_type = Atom1Feed
    title = "Daily Papers: trending research papers"
    subtitle = "The papers trending on the latest featured days, most upvoted momentum first."

    def link(self) -> str:
        return reverse("digest:home")

    def items(self) -> list[PaperRow]:
        return feed_rows(visible_papers())

    def item_title(self, item: PaperRow) -> str:
        return item.paper.title

    def item_description(self, item: PaperRow) -> str:
        return item.paper.abstract

    def item_link(self, item: PaperRow) -> str:
        # Papers without any known page link to their day on our own page.
        home = reverse("digest:home")
        return item.paper.url or f"{home}?date={item.paper.featured_on.isoformat()}"

    def item_guid(self, item: PaperRow) -> str:
        # A tag URI (RFC 4151): stable whichever page the paper links to.
        host = urlsplit(settings.SITE_URL).hostname or "localhost"
        return f"tag:{host},{item.paper.first_seen_at:%Y-%m-%d}:paper-{item.paper.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: PaperRow) -> datetime:
        return datetime.combine(item.paper.featured_on, time.min, tzinfo=UTC)

    def item_updateddate(self, item: PaperRow) -> datetime:
        return item.paper.updated_at

    def item_author_name(self, item: PaperRow) -> str | None:
        return item.paper.byline or None

    def item_categories(self, item: PaperRow) -> list[str]:
        return [t.name for t in item.topics]


class TopicPapersFeed(LatestPapersFeed):
    def get_object(self, request: HttpRequest, slug: str) -> Topic:  # type: ignore[override]
        return get_object_or_404(Topic, slug=slug, active=True)

    def title(self, obj: Topic) -> str:  # type: ignore[override]
        return f"Daily Papers: trending in {obj.name}"

    def subtitle(self, obj: Topic) -> str:  # type: ignore[override]
        return obj.description or f"Trending papers in {obj.name}."

    def link(self, obj: Topic) -> str:  # type: ignore[override]
        return reverse("digest:topic", args=[obj.slug])

    def items(self, obj: Topic) -> list[PaperRow]:  # type: ignore[override]
        return feed_rows(visible_papers(obj))
