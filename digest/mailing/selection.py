"""Choosing the papers of one digest: pure functions, no ORM.

Everything that decides what a person receives lives here and can be tested without a
database; the trending score it weighs is `digest.papers.trending`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import numpy as np
from scipy import sparse

from digest.papers.names import normalize_name
from digest.taste.features import TOPIC_SCALE, PaperVectors, Taste, probabilities

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
# A reader who rated papers ("more like this", "less like this") has a taste: a classifier
# fitted on their own ratings (digest/taste/features.py) that gives each paper p, the chance
# they like it. How far it is trusted:
#
# - no ratings, or only one kind: the ranking is exactly the one above;
# - a few (Taste.decides is False): p nudges the order,
#       score += NUDGE_WEIGHT * (p - 0.5);
# - enough (at least DECIDE_RATINGS, DECIDE_EACH of each kind): p decides what is sent.
#   Papers of the reader's topics and keywords with p < KEEP_LIKING are left out (pinned and
#   followed ones stay: those are explicit choices), papers from outside them with
#   p >= ADD_LIKING come in, and the order is
#       score = (1 - TASTE_BLEND) * score + TASTE_BLEND * p.
#   A digest may then hold fewer papers than the reader's cap: four right papers beat ten
#   with six wrong. When nothing is left, nothing is sent and the period is skipped with
#   SKIP_RATINGS_LEFT_NONE, which the preferences page shows with "Forget what I taught it".
#
# Tuned on simulated readers replaying dev days of the stream (bench/readers.py).

RELEVANCE_WEIGHT = 0.35
TRENDING_WEIGHT = 0.65
TRENDING_HALF = 5.0  # the trending score that counts as half of the most trending possible
KEYWORD_RELEVANCE = 0.6
KEYWORD_TITLE_RELEVANCE = 0.9
KEYWORD_GROUP = -1  # diversity group of papers matched by keywords only
FOLLOW_GROUP = -2  # diversity group of followed papers outside the reader's topics

LIKED_GROUP = -3  # diversity group of papers from outside the reader's topics they would like

NUDGE_WEIGHT = 0.25
KEEP_LIKING = 0.6
ADD_LIKING = 0.75
TASTE_BLEND = 0.3
# A pick's reason names a liked paper only when the taste thinks it likely liked, and when
# that paper is this close to it: otherwise "similar to" would be a guess.
REASON_LIKING = 0.6
TASTE_REASON_COSINE = 0.1
REASON_TITLE_CHARS = 48
REASON_CHARS = 255  # DeliveryPaper.reason

MAX_SHARED_REASONS = 100_000  # reasons a RankingPool keeps to share (upvotes, topic, keyword)

SKIP_NOTHING_FEATURED = "No papers were featured in this period."
SKIP_NO_MATCH = "No new paper matched your topics or keywords in this period."
SKIP_NO_MATCH_FOLLOWS = (
    "No new paper matched your topics or keywords, or was by {names}, in this period."
)
SKIP_ALL_SENT = "Every matching paper was already in one of your earlier digests."
SKIP_RATINGS_LEFT_NONE = (
    "Your ratings left out every new paper that matched your topics in this period."
)


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


class Pick(NamedTuple):
    """A chosen paper. A named tuple: made for every paper of every digest ranked anew,
    it costs a third of a frozen dataclass."""

    paper_id: int
    score: float
    reason: str
    group: int  # the topic the paper counts against for diversity, or a *_GROUP
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
    by organization, and for each window of dates readers ask for, in arrays (`_Window`).

    Choosing for one reader then combines the arrays of their topics and keywords and
    sorts in numpy, instead of scoring candidates one by one in Python: with thousands of
    readers per batch, that is what keeps choosing cheaper than rendering.
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
        self._reasons: dict[
            tuple[int, bool, str | None, str | None, str | None, str, bool], str
        ] = {}

    @property
    def vectors(self) -> PaperVectors:
        """The candidates' terms, as tastes read them: built the first time a reader has one."""
        if self._vectors is None:
            self._vectors = PaperVectors.of(
                (c.paper_id, c.title, c.abstract) for c in self.by_id.values()
            )
        return self._vectors

    def liking(self, taste: Taste | None, paper_ids: Iterable[int]) -> dict[int, float]:
        """The chance the reader likes each paper, by their taste (nothing without one)."""
        if not self.dates:
            return {}
        seen = self._window((min(self.dates), max(self.dates)))
        found = self._liking(taste, seen)
        if found is None:
            return {}
        return {pid: float(found[seen.position[pid]]) for pid in paper_ids}

    def _liking(self, taste: Taste | None, seen: _Window) -> np.ndarray | None:
        """liking for every paper of the window, in its order (None without a classifier)."""
        if taste is None or not taste.fitted or not seen.ids:
            return None
        logits = self.vectors.word_logits(taste.terms, seen.matrix(self.vectors)) + taste.bias
        for topic_id, weight in taste.topics.items():
            logits += (weight * TOPIC_SCALE) * np.maximum(seen.topic_array(topic_id), 0.0)
        return probabilities(logits)

    def _follows(self, reader: Reader, seen: _Window) -> dict[int, str]:
        """The papers of the window by a followed name, each with that name."""
        follow_of: dict[int, str] = {}
        for names, index in (
            (reader.authors, self.by_author),
            (reader.organizations, self.by_organization),
        ):
            for name in names:
                for pid in index.get(normalize_name(name), ()):
                    # The first followed name the reader listed names the paper.
                    if pid in seen.position and pid not in follow_of:
                        follow_of[pid] = name
        return follow_of

    def liked_like(self, taste: Taste, paper_ids: Sequence[int]) -> dict[int, str]:
        """For each paper close enough to one the reader liked, that liked paper's title."""
        return {
            pid: paper.title
            for pid, (paper, cosine) in self.vectors.closest(paper_ids, taste.liked).items()
            if cosine >= TASTE_REASON_COSINE
        }

    def _reason_for(
        self,
        paper_id: int,
        pinned: bool,
        follow: str | None,
        topic: str | None,
        keyword: str | None,
        liked_title: str,
        outside: bool = False,
    ) -> str:
        """A pick's reason. Most are the same for many readers (a topic and the upvotes):
        those are made once per pool, and every selection holding one shares the string.
        Reasons naming a reader's own follows or liked papers are not kept."""
        parts = (self.by_id[paper_id].upvotes, pinned, follow, topic, keyword, liked_title, outside)
        if follow is not None or liked_title:
            return _reason(*parts)
        found = self._reasons.get(parts)
        if found is None:
            if len(self._reasons) >= MAX_SHARED_REASONS:
                self._reasons.clear()  # unusual keywords by the thousand: start again
            found = self._reasons[parts] = _reason(*parts)
        return found

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
            found = self._windows[window] = _Window(self, *window)
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
        if not seen.ids:
            return Selection((), SKIP_NOTHING_FEATURED)
        # Every paper of the window scored at once, in arrays: a reader's topics and
        # keywords often match hundreds of them, and a digest holds ten or twenty.
        best = np.full(len(seen.ids), -1.0)
        for topic_id in reader.topics:
            np.maximum(best, seen.topic_array(topic_id), out=best)
        in_topics = best > -1.0
        relevance = np.where(in_topics, best, 0.0)
        matched = in_topics.copy()
        for keyword in reader.keywords:
            weights = seen.keyword_array(keyword)
            np.maximum(relevance, weights, out=relevance)
            matched |= weights > 0.0
        follow_of = self._follows(reader, seen)
        followed = np.zeros(len(seen.ids), dtype=bool)
        followed[[seen.position[pid] for pid in follow_of]] = True
        matched |= followed
        if not matched.any():
            return Selection((), _no_match(reader))
        unsent = np.ones(len(seen.ids), dtype=bool)
        unsent[[seen.position[pid] for pid in already_sent if pid in seen.position]] = False
        fresh = matched & unsent
        if not fresh.any():
            return Selection((), SKIP_ALL_SENT)
        score = RELEVANCE_WEIGHT * relevance + seen.trending
        pinned = seen.pinned & in_topics
        liking = self._liking(reader.taste, seen)
        brought = np.zeros(len(seen.ids), dtype=bool)
        if liking is not None and reader.taste is not None and reader.taste.decides:
            # The ratings decide: what they say no to goes, what they clearly say yes to
            # comes from outside the reader's topics. Pinned and followed papers stay.
            brought = (liking >= ADD_LIKING) & ~matched & unsent
            fresh = (fresh & ((liking >= KEEP_LIKING) | pinned | followed)) | brought
            score = (1.0 - TASTE_BLEND) * score + TASTE_BLEND * liking
            if not fresh.any():
                return Selection((), SKIP_RATINGS_LEFT_NONE)
        elif liking is not None:
            score = score + NUDGE_WEIGHT * (liking - 0.5)
        positions = np.flatnonzero(fresh)
        topical = in_topics[positions]
        pinned = pinned[positions]
        followed = followed[positions]
        # Each candidate's diversity group, as an index into `group_ids`: the reader's topic
        # it scores best in (the first listed on a tie, as argmax does), else followed,
        # keyword-only, or brought in by the ratings.
        topic_ids = list(reader.topics)
        group_ids = [*topic_ids, FOLLOW_GROUP, KEYWORD_GROUP, LIKED_GROUP]
        groups = np.where(followed, len(topic_ids), len(topic_ids) + 1)
        groups[brought[positions]] = len(topic_ids) + 2
        if len(topic_ids) == 1:
            groups[topical] = 0
        elif topic_ids:
            tags = np.vstack([seen.topic_array(t)[positions] for t in topic_ids])
            groups = np.where(topical, tags.argmax(axis=0), groups)
        ids = seen.id_array[positions]
        scores = _rounded(score[positions])
        # Pinned first, then followed, then by score, ties to the older paper.
        order = np.lexsort((ids, -scores, ~followed, ~pinned))
        pinned, followed, scores, ids, groups = (
            pinned[order],
            followed[order],
            scores[order],
            ids[order],
            groups[order],
        )
        at = _diversified(pinned, followed, groups, reader.max_papers)
        chosen = list(
            zip(
                ids[at].tolist(),
                scores[at].tolist(),
                pinned[at].tolist(),
                groups[at].tolist(),
                strict=True,
            )
        )
        liked: dict[int, str] = {}
        if liking is not None and reader.taste is not None:
            # Only the picks the taste likes say which liked paper they are like.
            likely = [pid for pid, *_ in chosen if liking[seen.position[pid]] >= REASON_LIKING]
            if likely:
                liked = self.liked_like(reader.taste, likely)
        picks = []
        for pid, paper_score, first, group in chosen:
            follow = follow_of.get(pid)
            topic_id = group_ids[group]
            topic = reader.topics[topic_id] if group < len(topic_ids) else None
            reason = self._reason_for(
                pid,
                pinned=first,
                follow=follow,
                topic=topic,
                keyword=seen.first_keyword(reader.keywords, pid),
                liked_title=liked.get(pid, ""),
                outside=topic_id == LIKED_GROUP,
            )
            picks.append(Pick(pid, paper_score, reason, topic_id, first))
        return Selection(tuple(picks))


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


def _reason(
    upvotes: int,
    pinned: bool,
    follow: str | None,
    topic: str | None,
    keyword: str | None,
    liked_title: str,
    outside: bool = False,
) -> str:
    parts = []
    if pinned:
        parts.append("Editor's pick")
    if follow is not None:
        parts.append(f"by «{follow}», whom you follow")
    if topic is not None:
        parts.append(topic)
    if keyword is not None:
        parts.append(f"matches “{keyword}”")
    if outside:
        # Not one of the reader's topics: the ratings brought it, and the reason says so.
        parts.append("outside your topics")
    if liked_title:
        parts.append(f"similar to «{shorten(liked_title, REASON_TITLE_CHARS)}», which you liked")
    elif outside:
        parts.append("like the papers you liked")
    parts.append(_votes(upvotes))
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


class _Window:
    """The visible papers featured in one window of dates, in arrays for scoring: the
    weighted trending, editors' picks, and (built when a reader first asks) each topic's
    tag scores and each keyword's relevance."""

    def __init__(self, pool: RankingPool, first: date, last: date):
        self.pool = pool
        self.ids = [pid for pid, c in pool.by_id.items() if first <= c.featured_on <= last]
        self.position = {pid: n for n, pid in enumerate(self.ids)}
        self.id_array = np.array(self.ids, dtype=np.int64)
        # The products the ranking adds, so that scores come out as they would one by one.
        self.trending = np.array([pool.trending[pid] for pid in self.ids]) * TRENDING_WEIGHT
        self.pinned = np.array([pool.by_id[pid].pinned for pid in self.ids], dtype=bool)
        self._topics: dict[int, np.ndarray] = {}
        self._keywords: dict[str, tuple[dict[int, float], np.ndarray]] = {}
        self._matrix: sparse.csr_matrix | None = None

    def _array(self, values: Mapping[int, float], missing: float) -> np.ndarray:
        array = np.full(len(self.ids), missing)
        array[[self.position[pid] for pid in values]] = list(values.values())
        return array

    def topic_array(self, topic_id: int) -> np.ndarray:
        """Each paper's tag score in this topic, -1 where it has none."""
        if topic_id not in self._topics:
            scores = {
                pid: score
                for papers in self.pool.by_topic.get(topic_id, {}).values()
                for pid, score in papers
                if pid in self.position
            }
            self._topics[topic_id] = self._array(scores, -1.0)
        return self._topics[topic_id]

    def _keyword(self, keyword: str) -> tuple[dict[int, float], np.ndarray]:
        if keyword not in self._keywords:
            in_title, anywhere = self.pool.keyword_hits(keyword)
            weights = {
                pid: KEYWORD_TITLE_RELEVANCE if pid in in_title else KEYWORD_RELEVANCE
                for pid in anywhere
                if pid in self.position
            }
            self._keywords[keyword] = (weights, self._array(weights, 0.0))
        return self._keywords[keyword]

    def keyword_array(self, keyword: str) -> np.ndarray:
        """The relevance a match of `keyword` gives each paper, 0 where it does not."""
        return self._keyword(keyword)[1]

    def first_keyword(self, keywords: Sequence[str], pid: int) -> str | None:
        """The keyword that matched the paper: the first found in its title, else the first
        found at all."""
        found, weight = None, 0.0
        for keyword in keywords:
            this = self._keyword(keyword)[0].get(pid, 0.0)
            if this > weight:
                found, weight = keyword.strip(), this
        return found

    def matrix(self, vectors: PaperVectors) -> sparse.csr_matrix:
        """The papers' rows of the pool's TF-IDF matrix, in this window's order: a reader's
        taste is scored against these, not the whole pool's (a daily window is a seventh)."""
        if self._matrix is None:
            rows = np.array([vectors.row[pid] for pid in self.ids], dtype=np.intp)
            self._matrix = vectors.matrix[rows]
        return self._matrix


def _rounded(scores: np.ndarray) -> np.ndarray:
    """round(score, 6) of every score, exactly as Python rounds one: scores equal to six
    places tie, and the older paper goes first.

    numpy rounds the product score * 1e6, whose own rounding can move a value lying within
    a hair of a half across it; Python rounds the exact value. Those few values are
    rounded by Python (two in a thousand; elsewhere the two agree)."""
    scaled = scores * 1e6
    rounded = np.rint(scaled) / 1e6
    for n in np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-3).tolist():
        rounded[n] = round(float(scores[n]), 6)
    return rounded


def _diversified(
    pinned: np.ndarray, followed: np.ndarray, groups: np.ndarray, limit: int
) -> np.ndarray:
    """Which of the ranked candidates (best first) a digest of `limit` takes, as their
    positions in that order: best first, pinned and then followed before all; no topic
    takes over half the slots while others wait, but pinned and followed papers are never
    held back for it. If other topics run out, the papers held back fill what is left,
    best first.

    Walking the ranking one by one, a paper that is not pinned or followed is held back
    exactly when half the slots' worth of its group came before it (those that are count
    too, being first): so each group's first ones pass, the digest takes the first
    `limit` that pass, in arrays, however far a walk would have gone to fill a topic."""
    special = pinned | followed
    per_group = max(1, limit // 2)
    passes = np.ones(len(groups), dtype=bool)
    for group, size in enumerate(np.bincount(groups).tolist()):
        if size <= per_group:
            continue
        members = np.flatnonzero(groups == group)
        ordinary = members[~special[members]]
        passes[ordinary[max(0, per_group - (len(members) - len(ordinary))) :]] = False
    chosen = np.flatnonzero(passes)[:limit]
    if len(chosen) < limit:
        held_back = np.flatnonzero(~passes)[: limit - len(chosen)]
        chosen = np.sort(np.concatenate([chosen, held_back]))
    return chosen
