"""Atom feeds of trending papers: all topics at /feed/, one topic at /topics/<slug>/feed/.

Summaries are plain text (PlainTextAtom1Feed): an abstract's stray `<` or markup reaches a
feed reader as written, never as live HTML. Each reader's own feed is
`digest.mailing.feeds`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.xmlutils import SimplerXMLGenerator

from digest.models import Paper, Topic
from digest.papers.views import PaperRow, ranked, renamed_topic, visible_papers, with_details

# The latest featured days in a feed, newest first and by trending score within a day.
FEED_DAYS = 3
FEED_LIMIT = 100

# What XML 1.0 cannot carry at all; a feed's text (an abstract with a stray backspace
# from a broken TeX escape) must not take the whole feed down with it.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class _XMLText(SimplerXMLGenerator):
    def characters(self, content: str) -> None:
        super().characters(_NOT_XML.sub("", content) if content else content)


class PlainTextAtom1Feed(Atom1Feed):
    """Atom whose summaries are plain text (`type="text"`), not HTML.

    Abstracts hold stray `<`, `&` and now and then markup: as text, a feed reader shows
    them as written, where as HTML it would parse them, and maybe run them.
    """

    def write(self, outfile: Any, encoding: str) -> None:
        handler = _XMLText(outfile, encoding, short_empty_elements=True)
        handler.startDocument()
        # Django passes a plain dict too; the stubs ask for an AttributesImpl.
        handler.startElement("feed", self.root_attributes())  # type: ignore[arg-type]
        self.add_root_elements(handler)
        self.write_items(handler)
        handler.endElement("feed")

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


def host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def feed_rows(papers: QuerySet[Paper]) -> list[PaperRow]:
    days = papers.order_by("-featured_on").values_list("featured_on", flat=True).distinct()
    latest = list(days[:FEED_DAYS])
    rows = ranked(with_details(papers.filter(featured_on__in=latest)), timezone.now())
    # sort() is stable: within a day the trending order stays.
    rows.sort(key=lambda r: r.paper.featured_on, reverse=True)
    return rows[:FEED_LIMIT]


class LatestPapersFeed(Feed):
    # Abstracts are stored as plain text: declared as HTML, a stray "<" would be parsed.
    feed_type = PlainTextAtom1Feed
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
    def __call__(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        slug = str(kwargs.get("slug", ""))
        if not Topic.objects.filter(slug=slug, active=True).exists():
            renamed = renamed_topic(slug)
            if renamed is not None:
                # Feed readers follow a permanent redirect and keep the new address.
                return redirect("digest:topic_feed", renamed.slug, permanent=True)
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request: HttpRequest, slug: str) -> Topic:
        return get_object_or_404(Topic, slug=slug, active=True)

    def title(self, obj: Topic) -> str:  # type: ignore[override]
        return f"Daily Papers: trending in {obj.name}"

    def subtitle(self, obj: Topic) -> str:  # type: ignore[override]
        return obj.description or f"Trending papers in {obj.name}."

    def link(self, obj: Topic) -> str:  # type: ignore[override]
        return reverse("digest:topic", args=[obj.slug])

    def items(self, obj: Topic) -> list[PaperRow]:  # type: ignore[override]
        return feed_rows(visible_papers(obj))
