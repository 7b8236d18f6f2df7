"""Atom feeds of trending papers: all topics at /feed/, one topic at /topics/<slug>/feed/;
and each reader's own digests at /feed/<token>/, as private as the digests themselves."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseGone
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.xmlutils import SimplerXMLGenerator
from django.views.decorators.http import require_safe

from digest.models import Delivery, DeliveryPaper, Paper, PaperTopic, Topic
from digest.views import PaperRow, ranked, renamed_topic, visible_papers, with_details
from subscriptions import services, tokens
from subscriptions.models import Subscriber

# The latest featured days in a feed, newest first and by trending score within a day.
FEED_DAYS = 3
FEED_LIMIT = 100
# A reader's feed: the papers of their latest digests, and at most this many names each.
PERSONAL_FEED_LIMIT = 100
FEED_AUTHORS = 10

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

    def write(self, outfile: IO[str], encoding: str) -> None:
        handler = _XMLText(outfile, encoding, short_empty_elements=True)
        handler.startDocument()
        handler.startElement("feed", self.root_attributes())
        self.add_root_elements(handler)
        self.write_items(handler)
        handler.endElement("feed")

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


def _host() -> str:
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


# --- a reader's own feed -----------------------------------------------------------------
@dataclass(frozen=True)
class DigestEntry:
    """A paper of a sent digest, with everything its entry shows: no query per entry."""

    paper: Paper
    reason: str
    delivery_id: int
    sent_at: datetime
    topics: list[str]


def digest_entries(subscriber: Subscriber, limit: int = PERSONAL_FEED_LIMIT) -> list[DigestEntry]:
    """The papers of this reader's sent digests, newest digest first and in each digest's
    order: two queries, whatever the count. Papers hidden since are left out."""
    rows = list(
        DeliveryPaper.objects.filter(
            subscriber=subscriber, delivery__status=Delivery.Status.SENT, paper__hidden=False
        )
        .select_related("paper")
        # Every sent digest has its sent_at; created_at only keeps the type honest.
        .annotate(sent_at=Coalesce("delivery__sent_at", "delivery__created_at"))
        .order_by("-sent_at", "-delivery_id", "position")[:limit]
    )
    topics: dict[int, list[str]] = defaultdict(list)
    for paper_id, name in (
        PaperTopic.objects.filter(paper_id__in=[r.paper_id for r in rows], topic__active=True)
        .order_by("topic__name")
        .values_list("paper_id", "topic__name")
    ):
        topics[paper_id].append(name)
    return [
        DigestEntry(row.paper, row.reason, row.delivery_id, row.sent_at, topics[row.paper_id])
        for row in rows
    ]


def _names(paper: Paper) -> str:
    """Who wrote it: the first FEED_AUTHORS authors and how many more, and the organization."""
    names = ", ".join(paper.authors[:FEED_AUTHORS])
    if len(paper.authors) > FEED_AUTHORS:
        names += f" and {len(paper.authors) - FEED_AUTHORS} more"
    return " · ".join(part for part in (names, paper.organization) if part) or paper.byline


class PersonalFeed(Feed):
    """One reader's digests; `personal_feed` finds the reader and hands them over."""

    feed_type = PlainTextAtom1Feed
    title = "Daily Papers: your digest"
    subtitle = "The papers of your latest digests, newest first, each with why it was picked."

    def link(self) -> str:
        return reverse("digest:home")

    def feed_guid(self, obj: Subscriber) -> str:
        return f"tag:{_host()},{obj.created_at:%Y-%m-%d}:digest-feed-{obj.pk}"

    def items(self, obj: Subscriber) -> list[DigestEntry]:
        return digest_entries(obj)

    def item_title(self, item: DigestEntry) -> str:
        return item.paper.title

    def item_link(self, item: DigestEntry) -> str:
        return item.paper.url

    def item_description(self, item: DigestEntry) -> str:
        featured = item.paper.featured_on
        head = [
            f"Why: {item.reason}",
            _names(item.paper),
            f"Featured {featured:%b} {featured.day}, {featured.year}",
        ]
        text = "\n".join(line for line in head if line)
        return f"{text}\n\n{item.paper.abstract}" if item.paper.abstract else text

    def item_guid(self, item: DigestEntry) -> str:
        # A paper comes once per reader, so the digest and the paper name the entry for good.
        seen = f"{item.paper.first_seen_at:%Y-%m-%d}"
        return f"tag:{_host()},{seen}:digest-{item.delivery_id}-paper-{item.paper.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: DigestEntry) -> datetime:
        return datetime.combine(item.paper.featured_on, time.min, tzinfo=UTC)

    def item_updateddate(self, item: DigestEntry) -> datetime:
        return item.sent_at

    def item_author_name(self, item: DigestEntry) -> str | None:
        return _names(item.paper) or None

    def item_categories(self, item: DigestEntry) -> list[str]:
        return item.topics


@require_safe
def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A reader's feed at their signed address: 404 for a bad token, a deleted reader or a
    changed address, 410 once they are no longer subscribed (feed readers stop asking)."""
    try:
        subscriber = services.subscriber_for(tokens.SALT_PERSONAL_FEED, token)
    except (tokens.TokenInvalid, tokens.TokenExpired):
        subscriber = None
    if subscriber is None:
        raise Http404("No such feed.")
    # Paused is still subscribed: the digests sent so far stay readable.
    if subscriber.status != Subscriber.Status.ACTIVE:
        return HttpResponseGone(
            "This feed ended with the subscription.", content_type="text/plain; charset=utf-8"
        )
    feed = PersonalFeed().get_feed(subscriber, request)
    response = HttpResponse(content_type=feed.content_type)
    feed.write(response, "utf-8")
    # A personal page: keep it out of shared caches and search engines.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
