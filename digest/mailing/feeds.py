"""Each reader's own digests as a private Atom feed, at /feed/<token>/: as private as the
digests themselves, gone with the subscription."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time

from django.contrib.syndication.views import Feed
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseGone
from django.urls import reverse
from django.views.decorators.http import require_safe

from digest.models import Delivery, DeliveryPaper, Paper, PaperTopic
from digest.papers.feeds import PlainTextAtom1Feed, host
from subscriptions import services, tokens
from subscriptions.models import Subscriber

# A reader's feed: the papers of their latest digests, and at most this many names each.
PERSONAL_FEED_LIMIT = 100
FEED_AUTHORS = 10


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
        return f"tag:{host()},{obj.created_at:%Y-%m-%d}:digest-feed-{obj.pk}"

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
        return f"tag:{host()},{seen}:digest-{item.delivery_id}-paper-{item.paper.pk}"

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
    response = HttpResponse(content_type=PlainTextAtom1Feed.content_type)
    feed.write(response, "utf-8")
    # A personal page: keep it out of shared caches and search engines.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
