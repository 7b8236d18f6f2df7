"""Papers a reader rates to start: recent papers of their topics, a few of each, on one
page, so that the first digest already follows what they like (the "papers you like" page
after confirming, and on the preferences page)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.models import Feedback, Paper, PaperTopic
from digest.taste import profiles
from subscriptions.models import Subscriber

STARTER_DAYS = 14  # how recent the papers offered are
STARTER_PAPERS = 20  # how many are offered at once
ABSTRACT_CHARS = 300


@dataclass(frozen=True)
class PaperToRate:
    paper: Paper
    topics: list[str]


def papers_to_rate(
    subscriber: Subscriber, now: datetime, limit: int = STARTER_PAPERS
) -> list[PaperToRate]:
    """Up to `limit` recent papers of the reader's topics they have not rated, taken from
    each topic in turn, its most upvoted first: a reader who picked three topics sees all
    three, and can say which they did not mean."""
    topics = {t.pk: t.name for t in subscriber.topics.filter(active=True)}
    if not topics:
        return []
    since = now.date() - timedelta(days=STARTER_DAYS)
    rated = Feedback.objects.filter(subscriber=subscriber).values("paper_id")
    links = (
        PaperTopic.objects.filter(
            topic_id__in=topics, paper__hidden=False, paper__featured_on__gte=since
        )
        .exclude(paper_id__in=rated)
        .order_by("-paper__upvotes", "-paper_id")
        .values_list("topic_id", "paper_id")
    )
    queues: dict[int, list[int]] = {t: [] for t in sorted(topics, key=topics.__getitem__)}
    for topic_id, paper_id in links[: 50 * len(topics)]:
        queues[topic_id].append(paper_id)
    chosen: list[int] = []
    while len(chosen) < limit and any(queues.values()):
        for queue in queues.values():
            while queue and queue[0] in chosen:
                queue.pop(0)
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    papers = Paper.objects.in_bulk(chosen)
    names: dict[int, list[str]] = {pk: [] for pk in chosen}
    for paper_id, topic_name in PaperTopic.objects.filter(
        paper_id__in=chosen, topic__active=True
    ).values_list("paper_id", "topic__name"):
        names[paper_id].append(topic_name)
    return [PaperToRate(papers[pk], sorted(names[pk])) for pk in chosen if pk in papers]


def save_ratings(subscriber: Subscriber, choices: Mapping[int, int]) -> int:
    """Record the page's ratings ({paper id: +1 or -1}) of papers that exist; returns how
    many were recorded."""
    existing = set(Paper.objects.filter(pk__in=list(choices)).values_list("pk", flat=True))
    for paper_id, value in choices.items():
        if paper_id in existing:
            profiles.rate(subscriber.pk, paper_id, value)
    return len(existing)
