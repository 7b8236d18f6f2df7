"""Personal digests: plan the due periods, choose each reader's papers, build the email.

The command `send_digests` and (later) the Celery tasks call these functions; they hold no
scheduling of their own. Work is claimed with compare-and-swap updates on Delivery.status,
so running any of it twice, or at once in two processes, sends nobody a second copy.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.urls import reverse

from digest.bulk import bulk_insert_rows
from digest.features import Taste
from digest.models import Delivery, DeliveryPaper, Paper, PaperSnapshot, PaperTopic, Topic
from digest.names import normalize_name
from digest.periods import Period, due_period, period_at
from digest.profiles import tastes_for
from digest.ranking import Candidate, RankingPool, Reader, Selection, shorten, trending_score
from digest.sending import build_message
from subscriptions.models import Subscriber
from subscriptions.tokens import make_feedback_tokens, make_view_token

log = logging.getLogger(__name__)

ABSTRACT_CHARS = 400
LEASE = timedelta(minutes=10)
PLAN_CHUNK = 2_000


# --- planning ---------------------------------------------------------------------------------
@dataclass
class Plan:
    created: list[int] = field(default_factory=list)  # new Delivery ids, queued


def due_subscribers(now: datetime) -> Iterable[tuple[int, Period]]:
    """(subscriber id, period) for every active, unpaused subscriber whose period is due."""
    rows = (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
        .filter(Q(paused_until__isnull=True) | Q(paused_until__lte=now))
        .values_list("pk", "frequency", "weekday", "send_hour", "timezone")
        .order_by("pk")
    )
    for pk, frequency, weekday, send_hour, tz in rows.iterator(chunk_size=PLAN_CHUNK):
        period = due_period(frequency, weekday, send_hour, tz, now)
        if period is not None:
            yield pk, period


def plan(now: datetime) -> Plan:
    """Create a queued Delivery for every due subscriber that has none for its period.

    The unique (subscriber, period) constraint is the guard: a second planner at the same
    moment creates nothing more.
    """
    result = Plan()
    requeue_expired(now)
    batch: list[tuple[int, Period]] = []
    for item in due_subscribers(now):
        batch.append(item)
        if len(batch) == PLAN_CHUNK:
            _plan_batch(batch, now, result)
            batch = []
    if batch:
        _plan_batch(batch, now, result)
    return result


def requeue_expired(now: datetime) -> int:
    """Deliveries whose sender died mid-send (lease over, never finished) go back in line,
    marked as having no send task, so that the same pass queues one for them."""
    return Delivery.objects.filter(status=Delivery.Status.SENDING, lease_until__lt=now).update(
        status=Delivery.Status.QUEUED, lease_until=None, enqueued_at=None, updated_at=now
    )


def _plan_batch(batch: list[tuple[int, Period]], now: datetime, result: Plan) -> None:
    periods = {p.key for _, p in batch}
    existing = set(
        Delivery.objects.filter(
            subscriber_id__in=[pk for pk, _ in batch], period__in=periods
        ).values_list("subscriber_id", "period")
    )
    fresh = [
        Delivery(
            subscriber_id=pk,
            period=period.key,
            window_start=period.window[0],
            window_end=period.window[1],
            created_at=now,
        )
        for pk, period in batch
        if (pk, period.key) not in existing
    ]
    # The unique (subscriber, period) constraint drops what another planner created first.
    created = bulk_insert_rows(fresh, ignore_conflicts=True)
    result.created.extend(created)


# --- choosing the papers ------------------------------------------------------------------
POOL_SECONDS = 300  # how long one process reuses a loaded pool of papers
MAX_SHARED_SELECTIONS = 5_000


@dataclass
class PaperPool:
    """The visible papers of a span of featured dates, ready for many readers: ranking
    indexes, each paper's card for the email, topic names, and selections already made."""

    ranking: RankingPool
    cards: dict[int, dict[str, object]]
    topics: dict[int, tuple[str, bool]]  # topic id -> (name, active)
    selections: dict[tuple, Selection] = field(default_factory=dict)

    def reader(
        self,
        topic_ids: Iterable[int],
        keywords: str,
        max_papers: int,
        taste: Taste | None = None,
        *,
        authors: Sequence[str] = (),
        organizations: Sequence[str] = (),
    ) -> Reader:
        named = sorted(
            (self.topics[t][0], t) for t in topic_ids if t in self.topics and self.topics[t][1]
        )
        words = tuple(k.strip() for k in keywords.split(",") if k.strip())
        return Reader(
            {t: name for name, t in named}, words, max_papers, taste,
            authors=tuple(authors), organizations=tuple(organizations),
        )  # fmt: skip

    def select(
        self, reader: Reader, window: tuple[date, date], already_sent: AbstractSet[int]
    ) -> Selection:
        """Rank once per group of readers with identical inputs: same topics, keywords,
        follows, cap and window, no ratings, and nothing of this window sent to them before.

        Follows are in the key as typed, not normalised: the reasons quote them."""
        if reader.taste is not None or already_sent & self.ranking.by_id.keys():
            return self.ranking.select(reader, window=window, already_sent=already_sent)
        key = (
            tuple(reader.topics), reader.keywords, reader.authors, reader.organizations,
            reader.max_papers, window,
        )  # fmt: skip
        selection = self.selections.get(key)
        if selection is None:
            selection = self.ranking.select(reader, window=window)
            if len(self.selections) >= MAX_SHARED_SELECTIONS:
                # Rare groups (unusual keyword mixes) would otherwise pile up: start over.
                self.selections.clear()
            self.selections[key] = selection
        return selection


_pools: dict[tuple[date, date, int], PaperPool] = {}


def pool_for(span: tuple[date, date], now: datetime) -> PaperPool:
    """A pool for these featured dates, reused by this process for POOL_SECONDS: papers
    change hourly at most, and batch after batch would otherwise load the same ones."""
    key = (*span, int(now.timestamp()) // POOL_SECONDS)
    if key not in _pools:
        _pools.clear()
        _pools[key] = load_pool(span, now)
    return _pools[key]


def forget_pools() -> None:
    _pools.clear()


def load_pool(span: tuple[date, date], now: datetime) -> PaperPool:
    """Every visible paper featured in the span: four queries, whatever the count."""
    papers = list(Paper.objects.filter(hidden=False, featured_on__range=span))
    ids = [paper.pk for paper in papers]
    topics = {t.pk: (t.name, t.active) for t in Topic.objects.all()}
    tags: dict[int, dict[int, float]] = defaultdict(dict)
    for paper_id, topic_id, score in PaperTopic.objects.filter(paper_id__in=ids).values_list(
        "paper_id", "topic_id", "score"
    ):
        if topics.get(topic_id, ("", False))[1]:
            tags[paper_id][topic_id] = score
    history: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for paper_id, taken_at, upvotes in PaperSnapshot.objects.filter(paper_id__in=ids).values_list(
        "paper_id", "taken_at", "upvotes"
    ):
        history[paper_id].append((taken_at, upvotes))
    candidates = [
        Candidate(
            paper_id=p.pk,
            title=p.title,
            abstract=p.abstract,
            upvotes=p.upvotes,
            featured_on=p.featured_on,
            trending=trending_score(
                upvotes=p.upvotes, featured_on=p.featured_on, now=now, history=history[p.pk]
            ),
            topics=tags[p.pk],
            pinned=p.pinned,
            authors=tuple(normalize_name(a) for a in p.authors if isinstance(a, str)),
            organization=normalize_name(p.organization),
        )
        for p in papers
    ]
    cards = {p.pk: paper_card(p, sorted(topics[t][0] for t in tags[p.pk])) for p in papers}
    return PaperPool(RankingPool(candidates), cards, topics)


def reader_for(subscriber: Subscriber) -> Reader:
    topics = sorted(subscriber.topics.all(), key=lambda t: t.name)
    keywords = tuple(k.strip() for k in subscriber.keywords.split(",") if k.strip())
    taste = tastes_for([subscriber.pk]).get(subscriber.pk) if subscriber.pk else None
    return Reader(
        {t.pk: t.name for t in topics if t.active}, keywords, subscriber.max_papers, taste,
        authors=subscriber.followed_authors, organizations=subscriber.followed_organizations,
    )  # fmt: skip


def sent_papers(subscriber_id: int) -> set[int]:
    return set(
        DeliveryPaper.objects.filter(subscriber_id=subscriber_id).values_list("paper_id", flat=True)
    )


def choose(subscriber: Subscriber, window: tuple[date, date], now: datetime) -> Selection:
    """What this subscriber would get for this window now (send_digests --dry-run)."""
    return pool_for(window, now).ranking.select(
        reader_for(subscriber), window=window, already_sent=sent_papers(subscriber.pk)
    )


# --- building the email -------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    paper_id: int
    card: Mapping[str, object]
    reason: str


def view_token(delivery_id: int, email: str) -> str:
    """The "view in browser" token: this digest, for this address, for 90 days."""
    return make_view_token(delivery_id, email)


def view_url(delivery_id: int, email: str) -> str:
    return settings.SITE_URL + reverse("digest:view", args=[view_token(delivery_id, email)])


def paper_card(paper: Paper, topic_names: Sequence[str]) -> dict[str, object]:
    """What the email shows of a paper, the same for every reader."""
    published = paper.published_on
    return {
        "title": paper.title,
        "url": paper.url,
        "byline": paper.byline,
        "date_label": f"{published:%b} {published.day}, {published.year}" if published else "",
        "upvotes": paper.upvotes,
        "topics": list(topic_names),
        "abstract": shorten(paper.abstract, ABSTRACT_CHARS),
        "editor_note": paper.editor_note,
    }


def items_from_papers(picks: Sequence[tuple[int, str]]) -> list[Item]:
    """Items for (paper id, reason) pairs, loading the papers: for pages, not for batches."""
    papers = Paper.objects.prefetch_related("topic_links__topic").in_bulk([p for p, _ in picks])
    items = []
    for paper_id, reason in picks:
        paper = papers[paper_id]
        names = sorted(link.topic.name for link in paper.topic_links.all() if link.topic.active)
        items.append(Item(paper_id, paper_card(paper, names), reason))
    return items


def feedback_links(subscriber: Subscriber, paper_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The "More like this" and "Less like this" links of each paper, for this reader."""
    if subscriber.pk is None:
        return {}  # a preview for a topic, with nobody to learn from
    signed = make_feedback_tokens(subscriber.pk, subscriber.email, paper_ids)
    # One reverse() per message, not two per paper: it costs more than the signing. The
    # choice goes in first: a signature could contain "CHOICE", but "more" no "TOKEN".
    path = reverse("digest:feedback", args=["TOKEN", "CHOICE"])
    return {
        paper_id: {
            choice: settings.SITE_URL + path.replace("CHOICE", choice).replace("TOKEN", token)
            for choice in ("more", "less")
        }
        for paper_id, token in signed.items()
    }


def digest_context(
    subscriber: Subscriber,
    reader: Reader,
    period: Period,
    items: Sequence[Item],
    delivery_id: int | None,
) -> dict[str, object]:
    topic_names = list(reader.topics.values())
    links = feedback_links(subscriber, [item.paper_id for item in items])
    papers = [
        {**item.card, "reason": item.reason, "feedback": links.get(item.paper_id)} for item in items
    ]
    first = papers[0]["title"] if papers else ""
    more = len(papers) - 1
    preheader = f"{first} and {more} more trending papers" if more > 0 else str(first)
    return {
        "frequency": period.frequency,
        "period_label": period.label,
        "date_label": period.date_label,
        "topic_names": topic_names,
        "keywords": list(reader.keywords),
        "follows": list(reader.follows),
        "preheader": preheader[:140],
        "papers": papers,
        "view_url": view_url(delivery_id, subscriber.email)
        if delivery_id
        else settings.SITE_URL + "/",
        "preferences_url": subscriber.preferences_url(),
        "unsubscribe_url": subscriber.unsubscribe_url(),
        "subscriber_email": subscriber.email,
    }


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id_for(delivery_id: int | None, host: str) -> str:
    """The same Message-ID on every attempt of one delivery.

    If a provider accepted a message but we never heard back (a timeout, a crash), the
    retry carries the same id, and mail systems that see an id twice (Gmail does) show one
    message. The signature keeps ids unguessable; previews get a fresh random one.
    """
    if delivery_id is None:
        return make_msgid(idstring="digest.preview", domain=host)
    signature = signing.Signer(salt="digest.message-id").signature(str(delivery_id))[:16]
    return f"<digest.{delivery_id}.{signature}@{host}>"


def digest_headers(unsubscribe_url: str, delivery_id: int | None) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe, the list's id, and a stable Message-ID."""
    host = _site_host()
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"Daily Papers digest <digest.{host}>",
        "Message-ID": message_id_for(delivery_id, host),
    }


def digest_message(
    subscriber: Subscriber,
    period: Period,
    items: Sequence[Item],
    *,
    delivery_id: int | None = None,
    to: str | None = None,
    reader: Reader | None = None,
) -> EmailMultiAlternatives:
    """The digest email: both parts, the one-click unsubscribe headers, anymail tags."""
    reader = reader or reader_for(subscriber)
    context = digest_context(subscriber, reader, period, items, delivery_id)
    message = build_message(
        "digest",
        to or subscriber.email,
        context,
        headers=digest_headers(str(context["unsubscribe_url"]), delivery_id),
        tags=["digest", period.frequency],
        metadata={"subscriber_id": subscriber.pk, "delivery_id": delivery_id},
    )
    if delivery_id is not None:
        # The same on every attempt, as the Message-ID: where the provider honours it, a
        # second hand-over of this digest is not delivered again.
        key = message.extra_headers["Message-ID"].strip("<>")
        message.idempotency_key = key  # type: ignore[attr-defined]
    return message


def delivery_period(delivery: Delivery) -> Period:
    frequency, _, _ = delivery.period.partition(":")
    return Period(
        delivery.period,
        frequency,
        delivery.window_end,
        (delivery.window_start, delivery.window_end),
    )


def delivery_items(delivery: Delivery) -> list[Item]:
    """The stored papers of a delivery, in order, with everything the email shows."""
    rows = DeliveryPaper.objects.filter(delivery=delivery).order_by("position")
    return items_from_papers(list(rows.values_list("paper_id", "reason")))


def delivery_message(delivery: Delivery) -> EmailMultiAlternatives:
    """Build a delivery's email again from its row: the same papers and reasons."""
    return digest_message(
        delivery.subscriber,
        delivery_period(delivery),
        delivery_items(delivery),
        delivery_id=delivery.pk,
    )


# --- previews ---------------------------------------------------------------------------
def preview(
    subscriber: Subscriber, now: datetime, reader: Reader | None = None
) -> tuple[Period, Selection, list[Item]]:
    """What this subscriber (or this reader) would get now; stores and sends nothing."""
    reader = reader or reader_for(subscriber)
    period = period_at(subscriber.frequency, subscriber.timezone, now)
    already = sent_papers(subscriber.pk) if subscriber.pk else set()
    # Fresh, not the sending pool: an editor who just pinned or hid a paper expects to see it.
    selection = load_pool(period.window, now).ranking.select(
        reader, window=period.window, already_sent=already
    )
    items = items_from_papers([(pick.paper_id, pick.reason) for pick in selection.picks])
    return period, selection, items
