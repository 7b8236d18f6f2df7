"""A reader's taste, a classifier fitted on their own ratings, shapes their digest: pure, no
database."""

from __future__ import annotations

from datetime import date

from digest.mailing.selection import (
    SKIP_RATINGS_LEFT_NONE,
    Candidate,
    RankingPool,
    Reader,
    select,
)
from digest.taste.features import (
    LikedPaper,
    PaperVectors,
    Rating,
    Taste,
    background_for,
    learn,
    outside_topics,
)
from tests.digest.taste.papers import made_up

DAY = date(2026, 11, 26)
WINDOW = (DAY, DAY)
AI = 1
OTHER = 2  # a topic the reader did not pick
NAMES = {AI: "Machine learning"}

REASONING = [
    (
        "Reinforcement learning teaches language models to reason step by step",
        "We train a language model with reinforcement learning from verifiable rewards on math "
        "problems; the policy learns longer chains of reasoning and self-verification.",
    ),
    (
        "Policy optimization for chain-of-thought reasoning",
        "A group relative policy optimization variant improves reasoning accuracy; rewards come "
        "from checking final answers, and the policy gradient needs no value model.",
    ),
    (
        "Reward models for multi-step reasoning",
        "Process reward models score each reasoning step; reinforcement learning against them "
        "yields better math reasoning than outcome rewards alone.",
    ),
    (
        "Self-play reinforcement learning for theorem proving",
        "An agent proposes and solves problems in self-play; reinforcement learning with a "
        "verifier reward improves formal reasoning and proof search.",
    ),
    (
        "Scaling test-time reasoning with reinforcement learning",
        "Longer reasoning traces learned through reinforcement learning improve accuracy; we "
        "study reward shaping and policy entropy during training.",
    ),
]
VISION = [
    (
        "Segmenting objects in images with a promptable vision transformer",
        "A vision transformer segments objects in images and video from point prompts; trained "
        "on millions of masks, it transfers to medical images.",
    ),
    (
        "Image generation with diffusion transformers",
        "Diffusion transformers generate high resolution images; we study pixel and latent "
        "spaces, image quality and the cost of sampling.",
    ),
    (
        "Depth estimation from a single image",
        "A monocular depth model predicts dense depth maps from a single image, trained on "
        "synthetic and real scenes with pixel-level supervision.",
    ),
    (
        "Open-vocabulary object detection in images",
        "Detecting objects from text queries: image regions are aligned with captions so the "
        "detector recognizes objects never labelled in training images.",
    ),
    (
        "Video understanding with visual tokens",
        "Compressing visual tokens from video frames lets a vision encoder understand long "
        "videos; pixels are pooled across frames before the language model.",
    ),
]
UNSEEN_REASONING = [
    (
        "Verifiable rewards make small models better reasoners",
        "Reinforcement learning with verifiable rewards on math and code improves reasoning of "
        "small language models; the policy learns to check its own steps.",
    ),
    (
        "Curriculum reinforcement learning for reasoning",
        "Ordering problems by difficulty during reinforcement learning speeds up reasoning "
        "gains; rewards from answer checking guide the policy.",
    ),
]
UNSEEN_VISION = [
    (
        "Image segmentation for satellite images",
        "A vision model segments buildings and roads in satellite images; masks from pixels "
        "are refined with a transformer over image patches.",
    ),
    (
        "Generating video from images with diffusion",
        "An image-to-video diffusion model animates a single image into video frames with "
        "consistent objects and motion.",
    ),
]


# Papers of a topic the reader did not pick: the background a taste is fitted against.
ELSEWHERE = made_up("proteins", 30)


def candidate(
    pid: int, title: str, abstract: str, *, upvotes: int = 20, topic: int | None = AI
) -> Candidate:
    return Candidate(
        pid, title, abstract, upvotes, DAY, float(upvotes), {topic: 0.7} if topic else {}
    )


def rated_reader(likes, dislikes) -> tuple[Reader, list[Candidate]]:
    """A reader of "Machine learning" who liked `likes` and disliked `dislikes` (ids 100+,
    200+), fitted against the background of papers in another topic (ids 300+)."""
    rated = [candidate(100 + n, *text) for n, text in enumerate(likes)]
    rated += [candidate(200 + n, *text) for n, text in enumerate(dislikes)]
    elsewhere = [candidate(300 + n, *text, topic=OTHER) for n, text in enumerate(ELSEWHERE)]
    ratings = [Rating(c.paper_id, c.title, 1 if c.paper_id < 200 else -1) for c in rated]
    corpus = PaperVectors.of(
        [(c.paper_id, c.title, c.abstract) for c in rated + elsewhere],
        {c.paper_id: c.topics for c in rated + elsewhere},
    )
    outside = outside_topics(corpus, [c.paper_id for c in elsewhere], [AI])
    background = background_for(7, [r.paper_id for r in ratings], outside)
    return Reader(NAMES, (), 10, learn(ratings, background, corpus)), rated


def taste_of(reader: Reader) -> Taste:
    assert reader.taste is not None
    return reader.taste


def unseen() -> list[Candidate]:
    # Equal trending scores: only the taste can tell these apart.
    return [candidate(1 + n, *text) for n, text in enumerate(UNSEEN_REASONING)] + [
        candidate(11 + n, *text) for n, text in enumerate(UNSEEN_VISION)
    ]


def ids(selection) -> list[int]:
    return [p.paper_id for p in selection.picks]


def test_a_reader_without_ratings_gets_exactly_what_they_got_before():
    plain = Reader(NAMES, (), 10)
    unrated = Reader(NAMES, (), 10, taste=Taste())

    assert select(unseen(), unrated, window=WINDOW) == select(unseen(), plain, window=WINDOW)


def test_likes_alone_or_dislikes_alone_change_nothing_until_both_are_given():
    plain = select(unseen(), Reader(NAMES, (), 10), window=WINDOW)
    only_likes, _ = rated_reader(REASONING, [])
    only_dislikes, _ = rated_reader([], VISION)

    assert not taste_of(only_likes).fitted and not taste_of(only_dislikes).fitted
    assert select(unseen(), only_likes, window=WINDOW) == plain
    assert select(unseen(), only_dislikes, window=WINDOW) == plain


def test_a_few_ratings_reorder_the_digest_and_leave_nothing_out():
    reader, _ = rated_reader(REASONING[:2], VISION[:2])

    picked = ids(select(unseen(), reader, window=WINDOW))

    assert not taste_of(reader).decides
    assert set(picked[:2]) == {1, 2}
    assert set(picked[2:]) == {11, 12}


def decided() -> Reader:
    """A reader who rated enough for the ratings to decide: 15 likes, 15 dislikes."""
    reader, _ = rated_reader(made_up("reasoning", 15), made_up("vision", 15))
    assert reader.taste is not None and reader.taste.decides
    return reader


def todays(
    subject: str, first_id: int, *, topic: int | None = AI, seed: int = 9
) -> list[Candidate]:
    return [
        candidate(first_id + n, *text, topic=topic)
        for n, text in enumerate(made_up(subject, 3, seed=seed))
    ]


def test_enough_ratings_leave_out_papers_like_the_disliked_ones():
    picked = ids(select(todays("reasoning", 1) + todays("vision", 11), decided(), window=WINDOW))

    assert sorted(picked) == [1, 2, 3], "a digest may hold fewer papers than the cap"


def test_when_the_ratings_leave_out_every_paper_nothing_is_sent_and_the_reason_says_so():
    selection = select(todays("vision", 11), decided(), window=WINDOW)

    assert selection.skipped
    assert selection.skipped_reason == SKIP_RATINGS_LEFT_NONE


def test_pinned_and_followed_papers_stay_whatever_the_ratings():
    reader = decided()
    (title, abstract), (title2, abstract2) = made_up("vision", 2, seed=9)
    pinned = Candidate(11, title, abstract, 20, DAY, 20.0, {AI: 0.7}, pinned=True)
    followed = Candidate(12, title2, abstract2, 20, DAY, 20.0, {AI: 0.7}, authors=("ada lovelace",))
    follower = Reader(NAMES, (), 10, reader.taste, authors=("Ada Lovelace",))

    picked = ids(select([pinned, followed, *todays("reasoning", 1)], follower, window=WINDOW))

    assert picked[:2] == [11, 12]
    assert sorted(picked[2:]) == [1, 2, 3]


def test_a_paper_from_outside_the_readers_topics_that_clearly_matches_their_likes_comes_in():
    reader, _ = rated_reader(made_up("reasoning", 30), made_up("vision", 30))
    untagged = [
        *todays("reasoning", 21, topic=None, seed=8)[:1],
        *todays("proteins", 31, topic=None, seed=8)[:1],
    ]

    selection = select(todays("reasoning", 1) + untagged, reader, window=WINDOW)
    picks = {p.paper_id: p for p in selection.picks}

    assert 21 in picks and 31 not in picks
    assert picks[21].reason.startswith("outside your topics · similar to «")
    assert "», which you liked" in picks[21].reason
    assert "outside your topics" not in picks[1].reason


def test_the_reason_names_the_liked_paper_the_pick_is_most_like():
    reader = decided()
    papers = todays("reasoning", 1)

    picks = select(papers, reader, window=WINDOW).picks
    before = select(papers, Reader(NAMES, (), 10), window=WINDOW).picks

    assert all("similar to «" in p.reason for p in picks)
    assert all(p.reason.split(" · ")[1].endswith("», which you liked") for p in picks)
    assert all("which you liked" not in p.reason for p in before)


def test_a_long_liked_title_is_cut_at_a_word_in_the_reason():
    long_title = "Reinforcement learning teaches language models to reason step by step " * 2
    likes = [
        (f"{long_title}{n}", abstract) for n, (_, abstract) in enumerate(made_up("reasoning", 15))
    ]
    reader, _ = rated_reader(likes, made_up("vision", 15))

    reasons = [p.reason for p in select(todays("reasoning", 1), reader, window=WINDOW).picks]

    assert all(len(r) < 255 for r in reasons)
    assert any("…», which you liked" in r for r in reasons)


def test_a_few_ratings_reorder_but_do_not_bury_a_paper_everyone_is_reading():
    reader, _ = rated_reader(REASONING[:2], VISION[:2])
    hit = candidate(11, *UNSEEN_VISION[0], upvotes=400)
    papers = [candidate(1, *UNSEEN_REASONING[0], upvotes=3), hit]

    assert ids(select(papers, reader, window=WINDOW)) == [11, 1]


def test_the_chance_of_liking_follows_the_ratings():
    few, _ = rated_reader(REASONING, VISION)
    liking = RankingPool(unseen()).liking(few.taste, [1, 2, 11, 12])
    assert min(liking[1], liking[2]) > max(liking[11], liking[12])

    liking = RankingPool(todays("reasoning", 1) + todays("vision", 11)).liking(
        decided().taste, [1, 2, 3, 11, 12, 13]
    )
    assert (
        min(liking[1], liking[2], liking[3]) > 0.6 > 0.4 > max(liking[11], liking[12], liking[13])
    )


def test_the_words_learned_are_the_ones_that_tell_liked_from_disliked():
    reader, _ = rated_reader(REASONING, VISION)

    assert {"reinforcement", "reasoning"} <= set(taste_of(reader).pulls(10))
    assert {"images", "image"} & set(taste_of(reader).pushes(10))


def test_fitting_twice_on_the_same_ratings_gives_the_same_taste():
    first, _ = rated_reader(REASONING, VISION)
    again, _ = rated_reader(REASONING, VISION)

    assert first.taste == again.taste


def test_a_reason_never_outgrows_its_column_whatever_the_names():
    reader, _ = rated_reader(REASONING, VISION)
    topic = "A topic name as long as an editor may make it " * 2
    keyword = "verifiable rewards for reasoning models " * 2
    long_names = Reader({AI: topic.strip()}, (keyword.strip(),), 10, reader.taste)
    title, abstract = UNSEEN_REASONING[0]
    papers = [candidate(1, f"{title} {keyword}", abstract, upvotes=12345)]

    [pick] = select(papers, long_names, window=WINDOW).picks

    assert len(pick.reason) <= 255
    assert pick.reason.startswith("A topic name as long")


def test_each_paper_is_most_like_the_liked_paper_sharing_its_words_and_never_itself():
    vectors = PaperVectors.of(
        [(n, title, abstract) for n, (title, abstract) in enumerate(REASONING + VISION, 1)]
    )
    terms = vectors.vocabulary
    reasoning = LikedPaper(1, REASONING[0][0], {"reinforcement": 0.8, "reasoning": 0.6})
    vision = LikedPaper(6, VISION[0][0], {"vision": 0.7, "images": 0.7, "unknownword": 0.1})
    assert "unknownword" not in terms

    found = vectors.closest([1, 2, 6, 7, 404], [reasoning, vision])

    assert {pid: liked.paper_id for pid, (liked, _) in found.items()} == {
        1: 6,  # not itself, though it shares every word
        2: 1,
        6: 1,
        7: 6,
    }, "404 is not among the vectors"
    assert found[2][1] > 0.1 and found[7][1] > 0.1
    assert vectors.closest([1], [reasoning]) == {}, "the only liked paper is itself"
