"""Choosing a reader's papers: pure functions, no database."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import numpy as np

from digest.mailing.selection import (
    SKIP_ALL_SENT,
    SKIP_NO_MATCH,
    SKIP_NOTHING_FEATURED,
    Candidate,
    Reader,
    _diversified,
    _rounded,
    select,
)

DAY = date(2026, 11, 26)
WINDOW = (DAY, DAY)
ZERO_SHOT, RETRIEVAL, VISION = 1, 2, 3
NAMES = {ZERO_SHOT: "Zero-shot learning", RETRIEVAL: "Retrieval and RAG", VISION: "Vision"}


def paper(
    pid: int,
    *,
    topics=None,
    upvotes=10,
    trending=None,
    title=None,
    abstract="",
    featured_on=DAY,
    pinned=False,
    hidden=False,
) -> Candidate:
    return Candidate(
        paper_id=pid,
        title=title or f"Paper {pid}",
        abstract=abstract,
        upvotes=upvotes,
        featured_on=featured_on,
        trending=float(upvotes if trending is None else trending),
        topics=topics if topics is not None else {ZERO_SHOT: 0.6},
        pinned=pinned,
        hidden=hidden,
    )


def reader(*topic_ids: int, keywords=(), max_papers=10) -> Reader:
    return Reader({t: NAMES[t] for t in topic_ids}, tuple(keywords), max_papers)


def ids(selection) -> list[int]:
    return [pick.paper_id for pick in selection.picks]


def test_it_picks_papers_in_the_readers_topics_most_trending_first():
    candidates = [paper(1, upvotes=5), paper(2, upvotes=40), paper(3, topics={VISION: 0.9})]

    selection = select(candidates, reader(ZERO_SHOT), window=WINDOW)

    assert ids(selection) == [2, 1]


def test_each_pick_says_why_in_words():
    candidates = [
        paper(1, upvotes=41),
        paper(2, topics={}, title="Dense retrieval at scale", upvotes=1),
        paper(3, pinned=True, upvotes=0),
    ]

    selection = select(candidates, reader(ZERO_SHOT, keywords=["retrieval"]), window=WINDOW)

    reasons = {pick.paper_id: pick.reason for pick in selection.picks}
    assert reasons[1] == "Zero-shot learning · 41 upvotes"
    assert reasons[2] == "matches “retrieval” · 1 upvote"
    assert reasons[3] == "Editor's pick · Zero-shot learning · new"


def test_keywords_match_whole_words_in_title_or_abstract_ignoring_case():
    candidates = [
        paper(1, topics={}, abstract="We improve RETRIEVAL for agents."),
        paper(2, topics={}, title="Retrievals"),
        paper(3, topics={}, abstract="Nothing relevant here."),
    ]

    selection = select(candidates, reader(keywords=["retrieval"]), window=WINDOW)

    assert ids(selection) == [1]


def test_a_keyword_in_the_title_ranks_above_one_in_the_abstract():
    candidates = [
        paper(1, topics={}, abstract="about retrieval", upvotes=10),
        paper(2, topics={}, title="Retrieval at scale", upvotes=10),
    ]

    assert ids(select(candidates, reader(keywords=["retrieval"]), window=WINDOW)) == [2, 1]


def test_pinned_papers_in_the_readers_topics_come_first():
    candidates = [paper(1, upvotes=300), paper(2, upvotes=1, pinned=True)]

    assert ids(select(candidates, reader(ZERO_SHOT), window=WINDOW)) == [2, 1]


def test_a_pinned_paper_outside_the_readers_topics_is_not_forced_on_them():
    candidates = [paper(1), paper(2, topics={VISION: 0.9}, pinned=True)]

    assert ids(select(candidates, reader(ZERO_SHOT), window=WINDOW)) == [1]


def test_hidden_papers_never_come():
    candidates = [paper(1, hidden=True, upvotes=500), paper(2)]

    assert ids(select(candidates, reader(ZERO_SHOT), window=WINDOW)) == [2]


def test_papers_already_sent_never_come_again():
    candidates = [paper(1, upvotes=50), paper(2)]

    selection = select(candidates, reader(ZERO_SHOT), window=WINDOW, already_sent={1})

    assert ids(selection) == [2]


def test_only_papers_featured_in_the_window_count():
    candidates = [paper(1, featured_on=date(2026, 11, 25)), paper(2)]

    assert ids(select(candidates, reader(ZERO_SHOT), window=WINDOW)) == [2]


def test_no_topic_takes_more_than_half_the_slots_while_others_have_papers():
    zero_shot = [paper(n, upvotes=100 - n) for n in range(1, 9)]
    retrieval = [paper(n, topics={RETRIEVAL: 0.6}, upvotes=5) for n in range(10, 14)]

    selection = select(
        [*zero_shot, *retrieval], reader(ZERO_SHOT, RETRIEVAL, max_papers=6), window=WINDOW
    )

    groups = [pick.group for pick in selection.picks]
    assert groups.count(ZERO_SHOT) == 3
    assert groups.count(RETRIEVAL) == 3


def test_a_topic_fills_the_slots_when_the_others_run_out():
    zero_shot = [paper(n, upvotes=100 - n) for n in range(1, 9)]
    retrieval = [paper(10, topics={RETRIEVAL: 0.6})]

    selection = select(
        [*zero_shot, *retrieval], reader(ZERO_SHOT, RETRIEVAL, max_papers=6), window=WINDOW
    )

    assert len(selection.picks) == 6
    assert [p.group for p in selection.picks].count(RETRIEVAL) == 1


def test_the_digest_holds_at_most_max_papers():
    candidates = [paper(n) for n in range(1, 40)]

    assert len(select(candidates, reader(ZERO_SHOT, max_papers=5), window=WINDOW).picks) == 5


def test_nothing_featured_is_skipped_with_that_reason():
    selection = select([], reader(ZERO_SHOT), window=WINDOW)

    assert selection.skipped
    assert selection.skipped_reason == SKIP_NOTHING_FEATURED


def test_nothing_matching_is_skipped_with_that_reason():
    selection = select([paper(1, topics={VISION: 1.0})], reader(ZERO_SHOT), window=WINDOW)

    assert selection.skipped_reason == SKIP_NO_MATCH


def test_everything_already_sent_is_skipped_with_that_reason():
    selection = select([paper(1)], reader(ZERO_SHOT), window=WINDOW, already_sent={1})

    assert selection.skipped_reason == SKIP_ALL_SENT


def test_relevance_breaks_ties_between_equally_trending_papers():
    candidates = [paper(1, topics={ZERO_SHOT: 0.3}), paper(2, topics={ZERO_SHOT: 0.9})]

    assert ids(select(candidates, reader(ZERO_SHOT), window=WINDOW)) == [2, 1]


def test_papers_whose_scores_round_alike_go_older_first():
    # Scores are kept to six places: these two differ only beyond them.
    candidates = [paper(2, topics={ZERO_SHOT: 0.6 + 3e-9}), paper(1, topics={ZERO_SHOT: 0.6})]

    both = select(candidates, reader(ZERO_SHOT), window=WINDOW)
    one = select(candidates, reader(ZERO_SHOT, max_papers=1), window=WINDOW)

    assert ids(both) == [1, 2]
    assert both.picks[0].score == both.picks[1].score
    assert ids(one) == [1]


def test_scores_round_to_six_places_exactly_as_python_rounds_each():
    rng = random.Random(7)
    scores = [rng.uniform(-0.25, 1.25) for _ in range(20_000)]
    # Halves at the seventh place, where rounding the product score * 1e6 can go astray.
    scores += [n / 1e6 + 5e-7 for n in range(-300, 1_300_000, 4_321)]
    scores += [0.0, 1.0, -0.0000005, 0.0000005, 0.1234565, 0.6 + 3e-9]

    assert _rounded(np.array(scores)).tolist() == [round(s, 6) for s in scores]


def walked(pinned: list[bool], followed: list[bool], groups: list[int], limit: int) -> list[int]:
    """What a digest takes of a ranking, walked one paper at a time."""
    per_group = max(1, limit // 2)
    chosen: list[int] = []
    held_back: list[int] = []
    counts: Counter[int] = Counter()
    for n, group in enumerate(groups):
        if len(chosen) == limit:
            break
        if counts[group] >= per_group and not (pinned[n] or followed[n]):
            held_back.append(n)
            continue
        chosen.append(n)
        counts[group] += 1
    return sorted(chosen + held_back[: limit - len(chosen)])


def test_the_digest_takes_what_walking_the_ranking_one_paper_at_a_time_would():
    rng = random.Random(11)
    for _ in range(3_000):
        size = rng.randint(1, 80)
        # Pinned papers first, then followed ones, as the ranking puts them.
        flags = sorted(
            ((rng.random() < 0.05, rng.random() < 0.05) for _ in range(size)),
            key=lambda f: (not f[0], not f[1]),
        )
        pinned, followed = [p for p, _ in flags], [f for _, f in flags]
        groups = [rng.choice([0, 0, 0, 1, 2, 3]) for _ in range(size)]
        limit = rng.choice([1, 2, 5, 10, 15, 30])

        taken = _diversified(np.array(pinned), np.array(followed), np.array(groups), limit)

        assert taken.tolist() == walked(pinned, followed, groups, limit)


def test_a_week_of_one_topic_gives_its_best_papers():
    candidates = [paper(n, upvotes=(n * 37) % 301) for n in range(1, 301)]
    best = sorted(candidates, key=lambda c: (-c.upvotes, c.paper_id))[:10]

    selection = select(candidates, reader(ZERO_SHOT), window=WINDOW)

    assert ids(selection) == [c.paper_id for c in best]


def test_papers_found_only_by_a_keyword_get_their_half_even_far_down_the_ranking():
    topical = [paper(n, upvotes=200 + n) for n in range(1, 41)]
    by_keyword = [
        paper(n, topics={}, upvotes=1, abstract="sparse attention") for n in range(50, 53)
    ]

    selection = select(
        [*topical, *by_keyword], reader(ZERO_SHOT, keywords=["sparse"]), window=WINDOW
    )

    groups = [pick.group for pick in selection.picks]
    assert len(groups) == 10
    assert sorted(p.paper_id for p in selection.picks if p.group != ZERO_SHOT) == [50, 51, 52]
    # The topic's five, then (the keyword's papers having run out) its next two.
    assert groups.count(ZERO_SHOT) == 7


def test_a_long_run_of_equal_scores_goes_older_first_all_the_way_down():
    # Seventy equal scores, listed newest first: one run of ties, far longer than a digest.
    candidates = [paper(n, upvotes=7) for n in range(70, 0, -1)]

    selection = select(candidates, reader(ZERO_SHOT, max_papers=60), window=WINDOW)

    assert ids(selection) == list(range(1, 61))
