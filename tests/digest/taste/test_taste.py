"""A reader's taste, learned from their ratings, reorders their digest: pure, no database."""

from __future__ import annotations

from datetime import date

from digest.mailing.selection import Candidate, RankingPool, Reader, select
from digest.taste.features import PaperVectors, Rating, learn

DAY = date(2026, 11, 26)
WINDOW = (DAY, DAY)
AI = 1
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


def candidate(pid: int, title: str, abstract: str, *, upvotes: int = 20) -> Candidate:
    return Candidate(pid, title, abstract, upvotes, DAY, float(upvotes), {AI: 0.7})


def rated_reader(likes, dislikes) -> tuple[Reader, list[Candidate]]:
    """A reader who liked `likes` and disliked `dislikes` (ids 100+, 200+)."""
    rated = [candidate(100 + n, *text) for n, text in enumerate(likes)]
    rated += [candidate(200 + n, *text) for n, text in enumerate(dislikes)]
    ratings = [Rating(c.paper_id, c.title, 1 if c.paper_id < 200 else -1) for c in rated]
    vectors = PaperVectors((c.paper_id, c.title, c.abstract) for c in rated)
    terms = [""] * len(vectors.vocabulary)
    for term, column in vectors.vocabulary.items():
        terms[column] = term
    taste = learn(ratings, vectors.row, vectors.matrix, terms)
    return Reader(NAMES, (), 10, taste), rated


def unseen() -> list[Candidate]:
    # Equal trending scores: only the taste can tell these apart.
    return [candidate(1 + n, *text) for n, text in enumerate(UNSEEN_REASONING)] + [
        candidate(11 + n, *text) for n, text in enumerate(UNSEEN_VISION)
    ]


def test_five_likes_and_five_dislikes_rank_unseen_reasoning_papers_above_vision_papers():
    reader, _ = rated_reader(REASONING, VISION)

    picks = select(unseen(), reader, window=WINDOW).picks

    assert {p.paper_id for p in picks[:2]} == {1, 2}
    assert {p.paper_id for p in picks[2:]} == {11, 12}


def test_a_reader_without_ratings_gets_exactly_what_they_got_before():
    plain = Reader(NAMES, (), 10)
    unrated = Reader(NAMES, (), 10, taste=learn([], {}, PaperVectors([]).matrix, []))

    assert select(unseen(), unrated, window=WINDOW) == select(unseen(), plain, window=WINDOW)


def test_the_reason_names_the_liked_paper_the_pick_is_most_like():
    reader, _ = rated_reader(REASONING, VISION)

    picks = {p.paper_id: p for p in select(unseen(), reader, window=WINDOW).picks}

    assert "which you liked" in picks[1].reason
    assert "similar to «" in picks[1].reason
    assert "which you liked" not in picks[11].reason


def test_a_long_liked_title_is_cut_at_a_word_in_the_reason():
    long_title = "Reinforcement learning teaches language models to reason step by step " * 2
    reader, _ = rated_reader([(long_title, REASONING[0][1]), *REASONING[1:]], VISION)

    reasons = [p.reason for p in select(unseen(), reader, window=WINDOW).picks]

    assert all(len(r) < 255 for r in reasons)
    assert any("…» which you liked" in r for r in reasons)


def test_ratings_reorder_but_do_not_bury_a_paper_everyone_is_reading():
    reader, _ = rated_reader(REASONING, VISION)
    hit = candidate(11, *UNSEEN_VISION[0], upvotes=400)
    papers = [candidate(1, *UNSEEN_REASONING[0], upvotes=3), hit]

    picks = select(papers, reader, window=WINDOW).picks

    assert [p.paper_id for p in picks] == [11, 1]


def test_one_rating_nudges_less_than_twenty():
    one, _ = rated_reader(REASONING[:1], [])
    many, _ = rated_reader(REASONING * 4, [])
    pool = RankingPool(unseen())

    assert pool.taste_boosts(one.taste, [1])[1] < pool.taste_boosts(many.taste, [1])[1]


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
    from digest.taste.features import LikedPaper

    vectors = PaperVectors(
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
