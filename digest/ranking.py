"""Trending score and (later) digest selection: pure functions, no ORM.

Everything that decides what a person receives lives here and can be tested
without a database.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

# Recent upvotes count more than old ones: a paper gaining votes today is trending now.
VELOCITY_WEIGHT = 2.0
VELOCITY_WINDOW = timedelta(hours=24)
# How fast a featured paper fades: the score halves after about 0.6 days, and a week-old
# paper needs about 20 times the votes of a fresh one to rank level with it.
GRAVITY = 1.5


def trending_score(
    *,
    upvotes: int,
    featured_on: date | None,
    now: datetime,
    history: Sequence[tuple[datetime, int]] = (),
) -> float:
    """How much a paper is trending at `now`.

        score = (upvotes + VELOCITY_WEIGHT * gained) / (1 + age_days) ** GRAVITY

    - `upvotes`: the latest count.
    - `gained`: upvotes gained within the last VELOCITY_WINDOW, measured against the newest
      observation from before the window (or the oldest one, when all are recent); only
      observed gains count, so a paper first seen with 40 votes has gained 0 so far.
    - `age_days`: days since the start of the day the feed featured the paper (UTC); a date
      in the future counts as today; an unknown date counts as 30 days old.

    The form is Hacker News' gravity ranking with a velocity term: it is monotonic in
    upvotes and in recent gain, and decays smoothly with age, so yesterday's hit does not
    bury today's papers but still beats today's papers nobody voted for.
    """
    upvotes = max(0, upvotes)
    gained = max(0, upvotes - _baseline(history, now, default=upvotes))
    if featured_on is None:
        age_days = 30.0
    else:
        featured_at = datetime.combine(featured_on, time.min, tzinfo=UTC)
        age_days = max(0.0, (now - featured_at).total_seconds() / 86_400)
    return (upvotes + VELOCITY_WEIGHT * gained) / (1.0 + age_days) ** GRAVITY


def _baseline(history: Sequence[tuple[datetime, int]], now: datetime, *, default: int) -> int:
    """The upvote count to measure recent gain against."""
    if not history:
        return default
    cutoff = now - VELOCITY_WINDOW
    before = [(taken_at, votes) for taken_at, votes in history if taken_at <= cutoff]
    if before:
        return max(before)[1]
    return min(history)[1]


# --- Selecting the papers of one digest ---------------------------------------------------------
#
#   score = RELEVANCE_WEIGHT * relevance + TRENDING_WEIGHT * trending / (trending + TRENDING_HALF)
#
# - relevance: the best PaperTopic score (0..1) among the subscriber's topics; a keyword
#   match counts as KEYWORD_RELEVANCE (more in the title), whichever is higher.
# - trending: trending_score(), squashed into 0..1 without looking at the other candidates,
#   so a paper's score does not depend on what else is in the window.
# Trending weighs more: the promise is the trending papers, in your topics. Editor-pinned
# papers in the subscriber's topics come first whatever their score.

RELEVANCE_WEIGHT = 0.35
TRENDING_WEIGHT = 0.65
TRENDING_HALF = 5.0  # the trending score that counts as half of the most trending possible
KEYWORD_RELEVANCE = 0.6
KEYWORD_TITLE_RELEVANCE = 0.9
KEYWORD_GROUP = -1  # diversity group of papers matched by keywords only

SKIP_NOTHING_FEATURED = "No papers were featured in this period."
SKIP_NO_MATCH = "No new paper matched your topics or keywords in this period."
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


@dataclass(frozen=True)
class Reader:
    """What a subscriber asked for."""

    topics: Mapping[int, str]  # topic id -> name, in the subscriber's order
    keywords: tuple[str, ...] = ()
    max_papers: int = 10


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


def keyword_patterns(keywords: Sequence[str]) -> list[tuple[str, re.Pattern[str]]]:
    """Whole-word, case-insensitive patterns for a subscriber's keywords."""
    return [
        (keyword, re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE))
        for keyword in (k.strip() for k in keywords)
        if keyword
    ]


def select(
    candidates: Sequence[Candidate],
    reader: Reader,
    *,
    window: tuple[date, date],
    already_sent: AbstractSet[int] = frozenset(),
) -> Selection:
    """The papers of one digest, best first, each with the reason it was picked.

    `window` is the inclusive range of featured dates the period covers. A paper this
    reader was already sent never comes again; hidden papers never come at all.
    """
    first, last = window
    in_window = [c for c in candidates if not c.hidden and first <= c.featured_on <= last]
    if not in_window:
        return Selection((), SKIP_NOTHING_FEATURED)
    patterns = keyword_patterns(reader.keywords)
    scored = [pick for c in in_window if (pick := _score(c, reader, patterns)) is not None]
    fresh = [pick for pick in scored if pick.paper_id not in already_sent]
    if not fresh:
        return Selection((), SKIP_ALL_SENT if scored else SKIP_NO_MATCH)
    return Selection(tuple(_diversify(fresh, reader.max_papers)))


def _score(
    candidate: Candidate, reader: Reader, patterns: list[tuple[str, re.Pattern[str]]]
) -> Pick | None:
    topic_id, topic_score = max(
        ((t, s) for t, s in candidate.topics.items() if t in reader.topics),
        key=lambda item: item[1],
        default=(None, 0.0),
    )
    keyword, keyword_score = _keyword_match(candidate, patterns)
    if topic_id is None and keyword is None:
        return None
    relevance = max(topic_score, keyword_score)
    trending = candidate.trending / (candidate.trending + TRENDING_HALF)
    score = RELEVANCE_WEIGHT * relevance + TRENDING_WEIGHT * trending
    pinned = candidate.pinned and topic_id is not None
    return Pick(
        paper_id=candidate.paper_id,
        score=round(score, 6),
        reason=_reason(candidate, reader, topic_id, keyword, pinned),
        group=topic_id if topic_id is not None else KEYWORD_GROUP,
        pinned=pinned,
    )


def _keyword_match(
    candidate: Candidate, patterns: list[tuple[str, re.Pattern[str]]]
) -> tuple[str | None, float]:
    best: tuple[str | None, float] = (None, 0.0)
    for keyword, pattern in patterns:
        if pattern.search(candidate.title):
            return keyword, KEYWORD_TITLE_RELEVANCE
        if best[0] is None and pattern.search(candidate.abstract):
            best = (keyword, KEYWORD_RELEVANCE)
    return best


def _reason(
    candidate: Candidate, reader: Reader, topic_id: int | None, keyword: str | None, pinned: bool
) -> str:
    parts = []
    if pinned:
        parts.append("Editor's pick")
    if topic_id is not None:
        parts.append(reader.topics[topic_id])
    if keyword is not None:
        parts.append(f"matches “{keyword}”")
    parts.append(_votes(candidate.upvotes))
    return " · ".join(parts)


def _votes(upvotes: int) -> str:
    if upvotes == 0:
        return "new"
    return f"{upvotes} upvote{'s' if upvotes != 1 else ''}"


def _diversify(picks: list[Pick], limit: int) -> list[Pick]:
    """Best first, pinned before all; no topic takes over half the slots while others wait."""
    ranked = sorted(picks, key=lambda p: (p.pinned, p.score, -p.paper_id), reverse=True)
    per_group = max(1, limit // 2)
    chosen: list[Pick] = []
    deferred: list[Pick] = []
    counts: Counter[int] = Counter()
    for pick in ranked:
        if len(chosen) == limit:
            break
        if counts[pick.group] >= per_group and not pick.pinned:
            deferred.append(pick)
            continue
        chosen.append(pick)
        counts[pick.group] += 1
    # Other topics ran out: the deferred papers fill what is left, best first.
    chosen.extend(deferred[: limit - len(chosen)])
    return sorted(chosen, key=lambda p: (p.pinned, p.score, -p.paper_id), reverse=True)
