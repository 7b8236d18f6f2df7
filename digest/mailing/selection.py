"""Choosing the papers of one digest: pure functions, no ORM.

Everything that decides what a person receives lives here and can be tested without a
database; the trending score it weighs is `digest.papers.trending`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from digest.papers.names import normalize_name
from digest.taste.features import PaperVectors, Taste

# --- Selecting the papers of one digest ---------------------------------------------------------
#
#   score = RELEVANCE_WEIGHT * relevance + TRENDING_WEIGHT * trending / (trending + TRENDING_HALF)
#
# - relevance: the best PaperTopic score (0..1) among the subscriber's topics; a keyword
#   match counts as KEYWORD_RELEVANCE (more in the title), whichever is higher.
# - trending: trending_score(), squashed into 0..1 without looking at the other candidates,
#   so a paper's score does not depend on what else is in the window.
# Trending weighs more: the promise is the trending papers, in your topics. Editor-pinned
# papers in the subscriber's topics come first whatever their score, then the papers of the
# authors and organizations the reader follows, in their topics or not: someone who asked
# for everything by a person should not lose it to trending strangers.
#
# A reader who rated papers ("more like this", "less like this") gets one more term:
#
#   + TASTE_WEIGHT * n / (n + TASTE_HALF_RATINGS) * clamp(affinity / AFFINITY_FULL, -1, 1)
#
# - affinity: the cosine between the paper and the reader's taste (digest/taste/features.py);
#   at AFFINITY_FULL a paper is as like the liked ones as papers on one subject get.
# - n: the number of ratings, so one click nudges and twenty steer; with none the term
#   is absent and the ranking is exactly the one above. Topics still decide which papers
#   are candidates at all, and trending still counts: ratings reorder, they do not replace.

RELEVANCE_WEIGHT = 0.35
TRENDING_WEIGHT = 0.65
TRENDING_HALF = 5.0  # the trending score that counts as half of the most trending possible
KEYWORD_RELEVANCE = 0.6
KEYWORD_TITLE_RELEVANCE = 0.9
KEYWORD_GROUP = -1  # diversity group of papers matched by keywords only
FOLLOW_GROUP = -2  # diversity group of followed papers outside the reader's topics

TASTE_WEIGHT = 0.25
TASTE_HALF_RATINGS = 5
AFFINITY_FULL = 0.3
# A pick's reason names a liked paper only when the taste moved it this much, and when that
# paper is this close to it: otherwise "similar to" would be a guess.
TASTE_REASON_BOOST = 0.04
TASTE_REASON_COSINE = 0.08
REASON_TITLE_CHARS = 48
REASON_CHARS = 255  # DeliveryPaper.reason

SKIP_NOTHING_FEATURED = "No papers were featured in this period."
SKIP_NO_MATCH = "No new paper matched your topics or keywords in this period."
SKIP_NO_MATCH_FOLLOWS = (
    "No new paper matched your topics or keywords, or was by {names}, in this period."
)
SKIP_ALL_SENT = "Every matching paper was already in one of your earlier digests."


@dataclass(frozen=True)
class Candidate:
    """A paper as selection sees it: plain values, loaded once for many subscribers."""

    paper_id: int
    title: str
    abstract: str
    upvotes: int
    featured_on: date
    trending: float
    topics: Mapping[int, float] = field(default_factory=dict)  # topic id -> tag score
    pinned: bool = False
    hidden: bool = False
    authors: tuple[str, ...] = ()  # normalize_name() of each author
    organization: str = ""  # normalize_name() of the organization


@dataclass(frozen=True)
class Reader:
    """What a subscriber asked for."""

    topics: Mapping[int, str]  # topic id -> name, in the subscriber's order
    keywords: tuple[str, ...] = ()
    max_papers: int = 10
    taste: Taste | None = None  # learned from their ratings, when they gave any
    authors: tuple[str, ...] = ()  # followed, as the reader typed them
    organizations: tuple[str, ...] = ()

    @property
    def follows(self) -> tuple[str, ...]:
        return self.authors + self.organizations


@dataclass(frozen=True)
class Pick:
    paper_id: int
    score: float
    reason: str
    group: int  # the topic the paper counts against for diversity, or KEYWORD_GROUP
    pinned: bool = False


@dataclass(frozen=True)
class Selection:
    picks: tuple[Pick, ...]
    skipped_reason: str = ""

    @property
    def skipped(self) -> bool:
        return not self.picks


_WORD = re.compile(r"\w+")


class RankingPool:
    """Candidates prepared once for many readers: indexed by topic, by word, by author and
    by organization.

    Choosing for one reader then touches only the papers in their topics, the papers
    containing their keywords and the papers of the names they follow, instead of scoring
    every candidate: with thousands of readers per batch, that is what keeps choosing
    cheaper than rendering.
    """

    def __init__(self, candidates: Sequence[Candidate]):
        visible = [c for c in candidates if not c.hidden]
        self.by_id = {c.paper_id: c for c in visible}
        self.dates = frozenset(c.featured_on for c in visible)
        self.trending = {c.paper_id: c.trending / (c.trending + TRENDING_HALF) for c in visible}
        # By topic, then by featured date: a daily reader's window is one or two of the
        # pool's seven days, and looking only at those is most of the cost of ranking anew.
        self.by_topic: dict[int, dict[date, list[tuple[int, float]]]] = {}
        for candidate in visible:
            for topic_id, score in candidate.topics.items():
                days = self.by_topic.setdefault(topic_id, {})
                days.setdefault(candidate.featured_on, []).append((candidate.paper_id, score))
        self.by_author: dict[str, list[int]] = {}
        self.by_organization: dict[str, list[int]] = {}
        for candidate in visible:
            for author in set(candidate.authors):
                self.by_author.setdefault(author, []).append(candidate.paper_id)
            if candidate.organization:
                self.by_organization.setdefault(candidate.organization, []).append(
                    candidate.paper_id
                )
        self._title_words: dict[str, set[int]] | None = None
        self._words: dict[str, set[int]] | None = None
        self._vectors: PaperVectors | None = None
        self._windows: dict[tuple[date, date], _Window] = {}
        self.pinned = frozenset(c.paper_id for c in visible if c.pinned)
        self.weighted_trending = {pid: TRENDING_WEIGHT * t for pid, t in self.trending.items()}

    @property
    def vectors(self) -> PaperVectors:
        """TF-IDF vectors of the candidates, built the first time a reader has a taste."""
        if self._vectors is None:
            self._vectors = PaperVectors(
                (c.paper_id, c.title, c.abstract) for c in self.by_id.values()
            )
        return self._vectors

    def taste_boosts(self, taste: Taste | None, paper_ids: Iterable[int]) -> dict[int, float]:
        """What the reader's taste adds to each paper's score (nothing without ratings)."""
        if taste is None or taste.ratings == 0 or not taste.terms:
            return {}
        weight = TASTE_WEIGHT * taste.ratings / (taste.ratings + TASTE_HALF_RATINGS)
        affinities = self.vectors.affinities(taste.terms).tolist()  # floats: fast to index
        row = self.vectors.row
        return {
            pid: weight * max(-1.0, min(1.0, affinities[row[pid]] / AFFINITY_FULL))
            for pid in paper_ids
        }

    def liked_like(self, taste: Taste, paper_ids: Sequence[int]) -> dict[int, str]:
        """For each paper close enough to one the reader liked, that liked paper's title."""
        return {
            pid: paper.title
            for pid, (paper, cosine) in self.vectors.closest(paper_ids, taste.liked).items()
            if cosine >= TASTE_REASON_COSINE
        }

    def _index(self) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
        if self._words is None or self._title_words is None:
            title_words: dict[str, set[int]] = {}
            words: dict[str, set[int]] = {}
            for pid, c in self.by_id.items():
                for word in _WORD.findall(c.title.lower()):
                    title_words.setdefault(word, set()).add(pid)
                    words.setdefault(word, set()).add(pid)
                for word in _WORD.findall(c.abstract.lower()):
                    words.setdefault(word, set()).add(pid)
            self._title_words, self._words = title_words, words
        return self._title_words, self._words

    def keyword_hits(self, keyword: str) -> tuple[set[int], set[int]]:
        """Papers with `keyword` as whole words (any case): (in the title, anywhere)."""
        title_words, words = self._index()
        tokens = _WORD.findall(keyword.lower())
        if not tokens:
            return set(), set()
        in_title = set.intersection(*(title_words.get(t, set()) for t in tokens))
        anywhere = set.intersection(*(words.get(t, set()) for t in tokens))
        if tokens == [keyword.lower()]:
            return in_title, anywhere  # one plain word: the index is exact
        # A phrase or a word with punctuation: the words are there, check they form it.
        pattern = re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)
        in_title = {p for p in in_title if pattern.search(self.by_id[p].title)}
        anywhere = in_title | {
            p for p in anywhere - in_title if pattern.search(self.by_id[p].abstract)
        }
        return in_title, anywhere

    def _window(self, window: tuple[date, date]) -> _Window:
        """The pool seen through one window of featured dates, kept for the readers who
        share it: thousands do, since a window is a period in a time zone."""
        found = self._windows.get(window)
        if found is None:
            first, last = window
            by_topic: dict[int, list[tuple[int, float]]] = {}
            for topic_id, days in self.by_topic.items():
                papers = [
                    item for day, items in days.items() if first <= day <= last for item in items
                ]
                if papers:
                    by_topic[topic_id] = papers
            found = self._windows[window] = _Window(
                any(first <= day <= last for day in self.dates), by_topic, {}
            )
        return found

    def _keyword_in_window(
        self, keyword: str, window: tuple[date, date]
    ) -> list[tuple[int, float]]:
        """The papers in the window matching `keyword`, each with the relevance it gives."""
        seen = self._window(window).keywords
        found = seen.get(keyword)
        if found is None:
            first, last = window
            in_title, anywhere = self.keyword_hits(keyword)
            found = seen[keyword] = [
                (pid, KEYWORD_TITLE_RELEVANCE if pid in in_title else KEYWORD_RELEVANCE)
                for pid in anywhere
                if first <= self.by_id[pid].featured_on <= last
            ]
        return found

    def select(
        self,
        reader: Reader,
        *,
        window: tuple[date, date],
        already_sent: AbstractSet[int] = frozenset(),
    ) -> Selection:
        """The papers of one digest, best first, each with the reason it was picked.

        `window` is the inclusive range of featured dates the period covers. A paper this
        reader was already sent never comes again; hidden papers never come at all.
        """
        seen = self._window(window)
        if not seen.featured:
            return Selection((), SKIP_NOTHING_FEATURED)
        first, last = window
        best_topic: dict[int, tuple[float, int]] = {}
        for topic_id in reader.topics:
            for pid, score in seen.by_topic.get(topic_id, ()):
                if score > best_topic.get(pid, _NO_TOPIC)[0]:
                    best_topic[pid] = (score, topic_id)
        keyword_of: dict[int, tuple[str | None, float]] = {}
        for keyword in reader.keywords:
            for pid, weight in self._keyword_in_window(keyword, window):
                # The first keyword found in the title wins, else the first found at all.
                if weight > keyword_of.get(pid, ("", 0.0))[1]:
                    keyword_of[pid] = (keyword.strip(), weight)
        follow_of: dict[int, str] = {}
        for names, index in (
            (reader.authors, self.by_author),
            (reader.organizations, self.by_organization),
        ):
            for name in names:
                for pid in index.get(normalize_name(name), ()):
                    # The first followed name the reader listed names the paper.
                    if first <= self.by_id[pid].featured_on <= last and pid not in follow_of:
                        follow_of[pid] = name
        matched = best_topic.keys() | keyword_of.keys() | follow_of.keys()
        if not matched:
            return Selection((), _no_match(reader))
        fresh = [pid for pid in matched if pid not in already_sent] if already_sent else matched
        if not fresh:
            return Selection((), SKIP_ALL_SENT)
        boosts = self.taste_boosts(reader.taste, fresh)
        # Only the sort key of every candidate: the rest of a Ranked is built for the chosen.
        trending, pinned = self.weighted_trending, self.pinned
        keys: list[_Key] = []
        for pid in fresh:
            topic = best_topic.get(pid)
            relevance = max(topic[0] if topic else 0.0, keyword_of.get(pid, _NO_KEYWORD)[1])
            score = RELEVANCE_WEIGHT * relevance + trending[pid]
            if boosts:
                score += boosts[pid]
            keys.append(
                (pid in pinned and topic is not None, pid in follow_of, round(score, 6), -pid)
            )

        def group(key: _Key) -> int:
            topic = best_topic.get(-key[3])
            if topic is not None:
                return topic[1]
            return FOLLOW_GROUP if key[1] else KEYWORD_GROUP

        chosen = []
        for key in _diversify(keys, reader.max_papers, group):
            pid = -key[3]
            topic = best_topic.get(pid)
            found = keyword_of.get(pid)
            chosen.append(
                Ranked(
                    *key,
                    group=group(key),
                    topic_id=None if topic is None else topic[1],
                    keyword=None if found is None else found[0],
                    follow=follow_of.get(pid),
                )
            )
        # Only the picks the taste moved say which liked paper they are like.
        moved = [c.paper_id for c in chosen if boosts.get(c.paper_id, 0.0) >= TASTE_REASON_BOOST]
        liked = self.liked_like(reader.taste, moved) if reader.taste and moved else {}
        return Selection(
            tuple(
                Pick(
                    paper_id=item.paper_id,
                    score=item.score,
                    reason=_reason(
                        self.by_id[item.paper_id], reader, item, liked.get(item.paper_id, "")
                    ),
                    group=item.group,
                    pinned=item.pinned,
                )
                for item in chosen
            )
        )


def select(
    candidates: Sequence[Candidate],
    reader: Reader,
    *,
    window: tuple[date, date],
    already_sent: AbstractSet[int] = frozenset(),
) -> Selection:
    """RankingPool(candidates).select(...): for one reader, or a test."""
    return RankingPool(candidates).select(reader, window=window, already_sent=already_sent)


def _no_match(reader: Reader) -> str:
    """Why nothing came, naming whom the reader follows: a misspelt name shows here."""
    if not reader.follows:
        return SKIP_NO_MATCH
    names = " or ".join(reader.follows) if len(reader.follows) <= 2 else ", ".join(reader.follows)
    # At most what Delivery.skipped_reason holds, the names cut first.
    room = REASON_CHARS - len(SKIP_NO_MATCH_FOLLOWS.format(names=""))
    return SKIP_NO_MATCH_FOLLOWS.format(names=shorten(names, room))


def _reason(candidate: Candidate, reader: Reader, item: Ranked, liked_title: str = "") -> str:
    parts = []
    if item.pinned:
        parts.append("Editor's pick")
    if item.follow is not None:
        parts.append(f"by «{item.follow}», whom you follow")
    if item.topic_id is not None:
        parts.append(reader.topics[item.topic_id])
    if item.keyword is not None:
        parts.append(f"matches “{item.keyword}”")
    if liked_title:
        parts.append(f"similar to «{shorten(liked_title, REASON_TITLE_CHARS)}» which you liked")
    parts.append(_votes(candidate.upvotes))
    # A long topic name, keyword and liked title together could pass what the row holds.
    return shorten(" · ".join(parts), REASON_CHARS)


def shorten(text: str, limit: int) -> str:
    """About `limit` characters, cut at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.-\u2013\u2014")
    return f"{cut}…"


def _votes(upvotes: int) -> str:
    if upvotes == 0:
        return "new"
    return f"{upvotes} upvote{'s' if upvotes != 1 else ''}"


class Ranked(NamedTuple):
    """A paper's place in a reader's ranking; tuples compare field by field, so sorting
    puts pinned papers first, then followed ones, then the best scores."""

    pinned: bool
    followed: bool
    score: float
    neg_paper_id: int  # ties go to the older paper, and no two items ever compare equal
    group: int  # the topic the paper counts against for diversity, or a *_GROUP
    topic_id: int | None
    keyword: str | None
    follow: str | None  # the followed name, as the reader typed it

    @property
    def paper_id(self) -> int:
        return -self.neg_paper_id


_NO_TOPIC = (-1.0, 0)
_NO_KEYWORD = (None, 0.0)


class _Window(NamedTuple):
    featured: bool  # whether any candidate was featured in it
    by_topic: dict[int, list[tuple[int, float]]]  # topic id -> (paper id, tag score)
    keywords: dict[str, list[tuple[int, float]]]  # keyword -> (paper id, relevance)


_Key = tuple[bool, bool, float, int]  # the fields of Ranked that decide the order


def _diversify(keys: list[_Key], limit: int, group: Callable[[_Key], int]) -> list[_Key]:
    """Best first, pinned and then followed before all; no topic takes over half the slots
    while others wait, but pinned and followed papers are never held back for it.

    Works on the sort keys alone (the first four fields of Ranked): a reader of one topic
    walks every candidate, so the rest of a Ranked is built only for the chosen."""
    keys.sort(reverse=True)
    per_group = max(1, limit // 2)
    chosen: list[_Key] = []
    deferred: list[_Key] = []
    counts: Counter[int] = Counter()
    for key in keys:
        if len(chosen) == limit:
            break
        item_group = group(key)
        if counts[item_group] >= per_group and not (key[0] or key[1]):
            deferred.append(key)
            continue
        chosen.append(key)
        counts[item_group] += 1
    # Other topics ran out: the deferred papers fill what is left, best first.
    chosen.extend(deferred[: limit - len(chosen)])
    return sorted(chosen, reverse=True)
