"""Readers' feedback: recording ratings, fitting tastes from them, loading tastes to send.

- A rating (digest.Feedback) is written by the feedback page (or the "papers you like"
  page) and removed from there or from the preferences page; either way the reader's
  ReaderProfile is marked changed.
- `fit_profiles` fits again only the profiles changed since their last fit: a classifier
  per reader on their own ratings, with recent papers outside their topics as background
  (features.learn). A task queued after each rating runs it, beat runs it every 10
  minutes for any it missed, and a send fits the stale profiles of its batch first, so a
  digest always follows every rating given before it.
- Sending loads the tastes of a whole batch in one query (`tastes_for`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from digest.bulk import bulk_update_rows
from digest.models import Feedback, Paper, PaperTopic, ReaderProfile, Topic
from digest.taste.features import (
    LikedPaper,
    PaperVectors,
    Rating,
    Taste,
    TermRows,
    background_for,
    learn,
    outside_topics,
)
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

FIT_CHUNK = 250  # profiles written per statement: about 20 KB of JSON each
BACKGROUND = 2_000  # recent papers a chunk's background is drawn from
# A topic is offered to stop when the reader rated at least this many of its papers and
# marked at least this share of them "less like this".
STOP_TOPIC_RATINGS = 5
STOP_TOPIC_SHARE = 2 / 3


# --- ratings ------------------------------------------------------------------------------
def rate(subscriber_id: int, paper_id: int, value: int, now: datetime | None = None) -> None:
    """Record a rating, replacing this reader's earlier one on the same paper."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Feedback.objects.filter(subscriber_id=subscriber_id, paper_id=paper_id).update(
            value=value, created_at=now
        )
        if not updated:
            try:
                with transaction.atomic():
                    Feedback.objects.create(
                        subscriber_id=subscriber_id, paper_id=paper_id, value=value, created_at=now
                    )
            except IntegrityError:
                # A double click raced us to the insert: this click's value wins all the same.
                Feedback.objects.filter(subscriber_id=subscriber_id, paper_id=paper_id).update(
                    value=value, created_at=now
                )
        _changed(subscriber_id, now)


def unrate(subscriber_id: int, paper_ids: Iterable[int] | None = None) -> int:
    """Remove some of a reader's ratings, or all of them; returns how many went."""
    now = timezone.now()
    with transaction.atomic():
        rows = Feedback.objects.filter(subscriber_id=subscriber_id)
        if paper_ids is not None:
            rows = rows.filter(paper_id__in=list(paper_ids))
        removed, _ = rows.delete()
        if removed:
            _changed(subscriber_id, now)
    return removed


def rated_papers(subscriber_ids: Iterable[int], first_paper: int = 0) -> dict[int, set[int]]:
    """The papers these readers rated, from `first_paper` up: they have read them (in a
    digest, or on the "papers you like" page), so no digest brings them again."""
    found: dict[int, set[int]] = defaultdict(set)
    for subscriber_id, paper_id in Feedback.objects.filter(
        subscriber_id__in=list(subscriber_ids), paper_id__gte=first_paper
    ).values_list("subscriber_id", "paper_id"):
        found[subscriber_id].add(paper_id)
    return found


def rating_of(subscriber_id: int, paper_id: int) -> int | None:
    return (
        Feedback.objects.filter(subscriber_id=subscriber_id, paper_id=paper_id)
        .values_list("value", flat=True)
        .first()
    )


def _changed(subscriber_id: int, now: datetime) -> None:
    ReaderProfile.objects.update_or_create(
        subscriber_id=subscriber_id, defaults={"changed_at": now}
    )


# --- fitting --------------------------------------------------------------------------------
def stale_profiles() -> Q:
    return Q(fitted_at__isnull=True) | Q(changed_at__gt=F("fitted_at"))


def fit_profiles(subscriber_ids: Sequence[int] | None = None) -> int:
    """Fit the profiles changed since their last fit (of these readers, or all); returns
    how many were fitted."""
    pending = ReaderProfile.objects.filter(stale_profiles())
    if subscriber_ids is not None:
        pending = pending.filter(subscriber_id__in=list(subscriber_ids))
    ids = list(pending.order_by("subscriber_id").values_list("subscriber_id", flat=True))
    if not ids:
        return 0
    # One set of recent papers is the background of every reader fitted in this call, and
    # each paper's terms are worked out once for all of them.
    background = list(
        Paper.objects.filter(hidden=False)
        .order_by("-featured_on", "-pk")
        .values_list("pk", flat=True)[:BACKGROUND]
    )
    papers = _Papers()
    for start in range(0, len(ids), FIT_CHUNK):
        _fit_chunk(ids[start : start + FIT_CHUNK], background, papers)
    return len(ids)


def _fit_chunk(subscriber_ids: list[int], background: list[int], papers: _Papers) -> None:
    profiles = list(ReaderProfile.objects.filter(subscriber_id__in=subscriber_ids))
    # What each fit saw: a rating given while fitting moves changed_at past it, so the
    # profile stays stale and the next fit takes the new rating in.
    seen = {p.subscriber_id: p.changed_at for p in profiles}
    ratings: dict[int, list[Rating]] = defaultdict(list)
    for subscriber_id, paper_id, title, value in (
        Feedback.objects.filter(subscriber_id__in=subscriber_ids)
        .order_by("subscriber_id", "-created_at", "-pk")
        .values_list("subscriber_id", "paper_id", "paper__title", "value")
    ):
        ratings[subscriber_id].append(Rating(paper_id, title, value))
    topic_ids: dict[int, list[int]] = defaultdict(list)
    for subscriber_id, topic_id in Subscriber.topics.through.objects.filter(
        subscriber_id__in=subscriber_ids
    ).values_list("subscriber_id", "topic_id"):
        topic_ids[subscriber_id].append(topic_id)
    corpus = papers.vectors({r.paper_id for own in ratings.values() for r in own} | set(background))
    in_corpus = [pid for pid in background if pid in corpus.row]
    # Readers share sets of topics: the background outside each set is found once.
    outside: dict[frozenset[int], list[int]] = {}
    for profile in profiles:
        own = ratings.get(profile.subscriber_id, [])
        mine = frozenset(topic_ids[profile.subscriber_id])
        if mine not in outside:
            outside[mine] = outside_topics(corpus, in_corpus, mine)
        background_ids = background_for(
            profile.subscriber_id, [r.paper_id for r in own], outside[mine]
        )
        taste = learn(own, background_ids, corpus)
        profile.bias = taste.bias
        profile.terms = dict(taste.terms)
        profile.topics = {str(t): w for t, w in taste.topics.items()}
        profile.liked = [[p.paper_id, p.title, dict(p.terms)] for p in taste.liked]
        profile.likes = taste.likes
        profile.dislikes = taste.dislikes
        profile.fitted_at = seen[profile.subscriber_id]
    bulk_update_rows(
        profiles, ["bias", "terms", "topics", "liked", "likes", "dislikes", "fitted_at"]
    )


class _Papers:
    """The papers one fit_profiles call reads, each loaded and split into terms once: the
    background and the rated papers recur in chunk after chunk."""

    def __init__(self) -> None:
        self.rows = TermRows()
        self.topics: dict[int, dict[int, float]] = {}

    def vectors(self, paper_ids: Iterable[int]) -> PaperVectors:
        """The terms and topic scores of these papers (those that exist)."""
        wanted = set(paper_ids)
        missing = sorted(wanted - self.topics.keys())
        if missing:
            for paper_id, title, abstract in Paper.objects.filter(pk__in=missing).values_list(
                "pk", "title", "abstract"
            ):
                self.rows.add(paper_id, title, abstract)
                self.topics[paper_id] = {}
            for paper_id, topic_id, score in PaperTopic.objects.filter(
                paper_id__in=missing, topic__active=True
            ).values_list("paper_id", "topic_id", "score"):
                if paper_id in self.topics:
                    self.topics[paper_id][topic_id] = score
        ids = sorted(pid for pid in wanted if pid in self.rows)
        return PaperVectors(ids, self.rows, {pid: self.topics[pid] for pid in ids})


# --- sending --------------------------------------------------------------------------------
def tastes_for(subscriber_ids: Iterable[int]) -> dict[int, Taste]:
    """The tastes of these readers, those who rated anything: one query."""
    rows = ReaderProfile.objects.filter(
        Q(likes__gt=0) | Q(dislikes__gt=0), subscriber_id__in=list(subscriber_ids)
    ).values_list("subscriber_id", "bias", "terms", "topics", "liked", "likes", "dislikes")
    return {
        subscriber_id: Taste(
            bias,
            terms,
            {int(t): w for t, w in topics.items()},
            likes,
            dislikes,
            tuple(LikedPaper(pid, title, t) for pid, title, t in liked),
        )
        for subscriber_id, bias, terms, topics, liked, likes, dislikes in rows
    }


# --- what the reader sees of it ------------------------------------------------------------
@dataclass(frozen=True)
class Learned:
    """What a reader's ratings taught their classifier, in words, for the preferences page."""

    likes: int
    dislikes: int
    fitted: bool  # both kinds given: the ratings change the digest
    decides: bool  # enough of them: they decide what is sent, not only the order
    pulls: list[str]  # terms that bring papers in, strongest first
    pushes: list[str]  # terms that keep papers out
    topics_for: list[str]  # the reader's topics their ratings favour
    topics_against: list[str]  # and those they count against
    pending: bool  # rated since the last fit: the next digest takes it in


def learned(subscriber: Subscriber, count: int = 12) -> Learned | None:
    """None when the reader never rated anything (or forgot it all)."""
    profile = ReaderProfile.objects.filter(subscriber=subscriber).first()
    if profile is None or (profile.ratings == 0 and not profile.stale):
        return None
    taste = Taste(
        profile.bias,
        profile.terms,
        {int(t): w for t, w in profile.topics.items()},
        profile.likes,
        profile.dislikes,
    )
    names = dict(subscriber.topics.values_list("pk", "name"))
    # A topic's weight counts as a leaning when it moves a typical tag score's logit by 0.5.
    leaning = {
        names[t]: w for t, w in taste.topics.items() if t in names and abs(w) * 0.7 * 2 >= 0.5
    }
    return Learned(
        likes=taste.likes,
        dislikes=taste.dislikes,
        fitted=taste.fitted,
        decides=taste.decides,
        pulls=taste.pulls(count),
        pushes=taste.pushes(count),
        topics_for=sorted(n for n, w in leaning.items() if w > 0),
        topics_against=sorted(n for n, w in leaning.items() if w < 0),
        pending=profile.stale,
    )


@dataclass(frozen=True)
class UnwantedTopic:
    topic: Topic
    less: int  # papers of it the reader marked "less like this"
    rated: int  # papers of it the reader rated


def unwanted_topics(subscriber: Subscriber) -> list[UnwantedTopic]:
    """The reader's topics whose papers they mostly marked "less like this": each is worth
    a one-click offer to stop it. Never their only topic (that is unsubscribing)."""
    topics = {t.pk: t for t in subscriber.topics.all()}
    if len(topics) < 2:
        return []
    counts = (
        PaperTopic.objects.filter(topic_id__in=topics, paper__feedback__subscriber=subscriber)
        .values("topic_id")
        .annotate(
            rated=Count("paper__feedback"),
            less=Count("paper__feedback", filter=Q(paper__feedback__value=Feedback.Value.LESS)),
        )
    )
    found = [
        UnwantedTopic(topics[row["topic_id"]], row["less"], row["rated"])
        for row in counts
        if row["rated"] >= STOP_TOPIC_RATINGS and row["less"] >= STOP_TOPIC_SHARE * row["rated"]
    ]
    # The one most disliked first; never all of them, or nothing would be left.
    found.sort(key=lambda u: (-u.less / u.rated, u.topic.name))
    return found[: len(topics) - 1]
