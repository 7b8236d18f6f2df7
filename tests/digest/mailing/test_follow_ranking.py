"""Papers by the authors and organizations a reader follows: pure ranking, no database."""

from __future__ import annotations

from datetime import date

from digest.mailing.selection import (
    REASON_CHARS,
    SKIP_ALL_SENT,
    SKIP_NO_MATCH,
    Candidate,
    Reader,
    select,
)
from digest.papers.names import normalize_name

DAY = date(2026, 11, 26)
WINDOW = (DAY, DAY)
ZERO_SHOT, VISION = 1, 3
NAMES = {ZERO_SHOT: "Zero-shot learning", VISION: "Vision"}


def paper(
    pid: int,
    *,
    topics=None,
    upvotes=10,
    authors=(),
    organization="",
    pinned=False,
    hidden=False,
    featured_on=DAY,
) -> Candidate:
    return Candidate(
        paper_id=pid,
        title=f"Paper {pid}",
        abstract="",
        upvotes=upvotes,
        featured_on=featured_on,
        trending=float(upvotes),
        topics=topics if topics is not None else {ZERO_SHOT: 0.6},
        pinned=pinned,
        hidden=hidden,
        authors=tuple(normalize_name(a) for a in authors),
        organization=normalize_name(organization),
    )


def reader(*topic_ids: int, authors=(), organizations=(), keywords=(), max_papers=10) -> Reader:
    return Reader(
        {t: NAMES[t] for t in topic_ids},
        tuple(keywords),
        max_papers,
        authors=tuple(authors),
        organizations=tuple(organizations),
    )


def ids(selection) -> list[int]:
    return [pick.paper_id for pick in selection.picks]


def reasons(selection) -> dict[int, str]:
    return {pick.paper_id: pick.reason for pick in selection.picks}


def test_a_followed_authors_paper_outside_the_readers_topics_comes_with_who_it_is_by():
    candidates = [
        paper(1, upvotes=40),
        paper(2, topics={VISION: 0.9}, upvotes=3, authors=["Ana Silva", "Yann LeCun"]),
        paper(3, topics={VISION: 0.9}, upvotes=90),
    ]

    selection = select(candidates, reader(ZERO_SHOT, authors=["Yann LeCun"]), window=WINDOW)

    assert ids(selection) == [2, 1]
    assert reasons(selection)[2] == "by «Yann LeCun», whom you follow · 3 upvotes"


def test_the_reason_names_the_author_as_the_reader_typed_it():
    candidates = [paper(1, topics={}, authors=["Jean-Pierre Lévy"])]

    selection = select(candidates, reader(authors=["jean pierre levy"]), window=WINDOW)

    assert reasons(selection)[1] == "by «jean pierre levy», whom you follow · 10 upvotes"


def test_a_followed_organizations_paper_comes_too():
    candidates = [paper(1, topics={}, organization="Google DeepMind", upvotes=1)]

    selection = select(candidates, reader(organizations=["google deepmind"]), window=WINDOW)

    assert reasons(selection)[1] == "by «google deepmind», whom you follow · 1 upvote"


def test_a_followed_paper_in_the_readers_topics_still_says_who_it_is_by():
    candidates = [paper(1, upvotes=41, authors=["Fei-Fei Li"])]

    selection = select(candidates, reader(ZERO_SHOT, authors=["Fei-Fei Li"]), window=WINDOW)

    reason = "by «Fei-Fei Li», whom you follow · Zero-shot learning · 41 upvotes"
    assert reasons(selection)[1] == reason


def test_followed_papers_come_after_editors_picks_and_before_everything_else():
    candidates = [
        paper(1, upvotes=500),
        paper(2, upvotes=1, pinned=True),
        paper(3, topics={}, upvotes=0, authors=["Yann LeCun"]),
    ]

    selection = select(candidates, reader(ZERO_SHOT, authors=["Yann LeCun"]), window=WINDOW)

    assert ids(selection) == [2, 3, 1]


def test_followed_papers_are_never_held_back_to_leave_room_for_other_topics():
    followed = [paper(n, upvotes=1, authors=["Yann LeCun"]) for n in range(1, 5)]
    others = [paper(n, topics={VISION: 0.6}, upvotes=50) for n in range(10, 14)]

    selection = select(
        [*followed, *others],
        reader(ZERO_SHOT, VISION, authors=["Yann LeCun"], max_papers=4),
        window=WINDOW,
    )

    assert sorted(ids(selection)) == [1, 2, 3, 4]


def test_followed_papers_still_fit_in_max_papers():
    candidates = [paper(n, topics={}, authors=["Yann LeCun"], upvotes=n) for n in range(1, 9)]

    selection = select(candidates, reader(authors=["Yann LeCun"], max_papers=5), window=WINDOW)

    assert ids(selection) == [8, 7, 6, 5, 4]


def test_a_followed_paper_already_sent_never_comes_again():
    candidates = [paper(1, topics={}, authors=["Yann LeCun"]), paper(2)]

    selection = select(
        candidates, reader(ZERO_SHOT, authors=["Yann LeCun"]), window=WINDOW, already_sent={1}
    )

    assert ids(selection) == [2]


def test_every_followed_paper_already_sent_is_skipped_with_that_reason():
    candidates = [paper(1, topics={}, authors=["Yann LeCun"])]

    selection = select(candidates, reader(authors=["Yann LeCun"]), window=WINDOW, already_sent={1})

    assert selection.skipped_reason == SKIP_ALL_SENT


def test_a_hidden_or_out_of_window_followed_paper_never_comes():
    candidates = [
        paper(1, topics={}, authors=["Yann LeCun"], hidden=True),
        paper(2, topics={}, authors=["Yann LeCun"], featured_on=date(2026, 11, 20)),
        paper(3, topics={}, authors=["Yann LeCun"]),
    ]

    assert ids(select(candidates, reader(authors=["Yann LeCun"]), window=WINDOW)) == [3]


def test_a_follow_needs_the_full_name():
    candidates = [
        paper(1, topics={}, authors=["Yann Dauphin"]),
        paper(2, topics={}, authors=["Alexandre LeCun"]),
    ]

    selection = select(candidates, reader(authors=["Yann LeCun"]), window=WINDOW)

    assert selection.skipped


def test_an_author_follow_does_not_match_an_organization_of_that_name():
    candidates = [paper(1, topics={}, organization="Yann LeCun")]

    assert select(candidates, reader(authors=["Yann LeCun"]), window=WINDOW).skipped


def test_a_follow_that_never_matches_is_named_in_the_skip_reason():
    candidates = [paper(1, topics={VISION: 0.9}, authors=["Yann LeCun"])]

    selection = select(
        candidates,
        reader(ZERO_SHOT, authors=["Yann LeCunn"], organizations=["Meta AI"]),
        window=WINDOW,
    )

    assert selection.skipped_reason == (
        "No new paper matched your topics or keywords, or was by Yann LeCunn or Meta AI, "
        "in this period."
    )


def test_a_reader_who_follows_nobody_gets_the_usual_skip_reason():
    selection = select([paper(1, topics={VISION: 0.9})], reader(ZERO_SHOT), window=WINDOW)

    assert selection.skipped_reason == SKIP_NO_MATCH


def test_a_skip_reason_naming_many_follows_fits_the_column():
    follows = [f"Author Number {n} With A Long Name" for n in range(20)]

    selection = select([paper(1)], reader(VISION, authors=follows), window=WINDOW)

    assert len(selection.skipped_reason) <= REASON_CHARS
    assert selection.skipped_reason.startswith("No new paper matched your topics or keywords, or")
    assert selection.skipped_reason.endswith(", in this period.")


def test_keywords_and_topics_still_work_beside_follows():
    candidates = [
        paper(1, upvotes=20),
        paper(2, topics={}, authors=["Yann LeCun"]),
        paper(3, topics={VISION: 0.9}, upvotes=5),
    ]

    selection = select(candidates, reader(ZERO_SHOT, authors=["Yann LeCun"]), window=WINDOW)

    assert ids(selection) == [2, 1]
