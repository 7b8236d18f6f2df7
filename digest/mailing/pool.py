"""The papers a batch of digests is chosen from, loaded once per process and span of dates:
ranking indexes, each paper's card for the email, and the selections already made for
readers with identical inputs. And what one subscriber would get now (previews, dry runs).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from digest.mailing.periods import Period, period_at
from digest.mailing.selection import Candidate, RankingPool, Reader, Selection, shorten
from digest.models import DeliveryPaper, Paper, PaperSnapshot, PaperTopic, Topic
from digest.papers.names import normalize_name
from digest.papers.trending import trending_score
from digest.taste.features import Taste
from digest.taste.profiles import tastes_for
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

ABSTRACT_CHARS = 400


class Item(NamedTuple):
    """A paper of one digest: its shared card and this reader's reason (a named tuple, as
    there is one for every paper of every digest)."""

    paper_id: int
    card: Mapping[str, object]
    reason: str


POOL_SECONDS = 300  # how long one process reuses a loaded pool of papers
# Selections kept for readers with identical inputs, the least recently used dropped first.
# In make bench (90,000 readers without ratings, 32,400 different inputs, in the order of
# their deliveries), 20,000 leave 33,500 readers to rank, 10,000 left 39,200, and emptying
# a full cache of 5,000 left 60,000. One holds its picks (the reasons shared with the
# pool): going from 10,000 to 20,000 took the bench's peak RSS from 301 to 330 MB.
MAX_SHARED_SELECTIONS = 20_000


@dataclass
class PaperPool:
    """The visible papers of a span of featured dates, ready for many readers: ranking
    indexes, each paper's card for the email, topic names, and selections already made."""

    ranking: RankingPool
    cards: dict[int, dict[str, object]]
    topics: dict[int, tuple[str, bool]]  # topic id -> (name, active)
    selections: OrderedDict[tuple, Selection] = field(default_factory=OrderedDict)

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
            {t: name for name, t in named},
            words,
            max_papers,
            taste,
            authors=tuple(authors),
            organizations=tuple(organizations),
        )

    def select(
        self, reader: Reader, window: tuple[date, date], already_sent: AbstractSet[int]
    ) -> Selection:
        """Rank once per group of readers with identical inputs: same topics, keywords,
        follows, cap and window, no ratings, and nothing of this window sent to them before.

        Follows are in the key as typed, not normalised: the reasons quote them."""
        if reader.taste is not None or already_sent & self.ranking.by_id.keys():
            return self.ranking.select(reader, window=window, already_sent=already_sent)
        key = (
            tuple(reader.topics),
            reader.keywords,
            reader.authors,
            reader.organizations,
            reader.max_papers,
            window,
        )
        selection = self.selections.get(key)
        if selection is None:
            selection = self.ranking.select(reader, window=window)
            if len(self.selections) >= MAX_SHARED_SELECTIONS:
                # Rare groups (unusual keyword mixes) would otherwise pile up: the one used
                # least recently goes, and the groups of many readers stay.
                self.selections.popitem(last=False)
            self.selections[key] = selection
        else:
            self.selections.move_to_end(key)
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
        {t.pk: t.name for t in topics if t.active},
        keywords,
        subscriber.max_papers,
        taste,
        authors=subscriber.followed_authors,
        organizations=subscriber.followed_organizations,
    )


def sent_papers(subscriber_id: int) -> set[int]:
    return set(
        DeliveryPaper.objects.filter(subscriber_id=subscriber_id).values_list("paper_id", flat=True)
    )


def choose(subscriber: Subscriber, window: tuple[date, date], now: datetime) -> Selection:
    """What this subscriber would get for this window now (send_digests --dry-run)."""
    return pool_for(window, now).ranking.select(
        reader_for(subscriber), window=window, already_sent=sent_papers(subscriber.pk)
    )


def paper_card(paper: Paper, topic_names: Sequence[str]) -> dict[str, object]:
    """What the email shows of a paper, the same for every reader.

    `rendered` keeps the card's parts once a template has rendered them (HTML, wrapped
    text): every later reader of this card, from this pool, reuses them.
    """
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
        "rendered": {},
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
