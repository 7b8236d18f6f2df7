"""Suggested topics: papers that no topic caught, grouped by their text and named by their
terms. Pure functions, tested without a database on twelve made-up papers, four each on
protein folding, speech synthesis and graph neural networks."""

from __future__ import annotations

import pytest

from digest.papers import suggestions
from digest.papers.suggestions import Suggestion, cluster_count, distinct_terms, suggest_topics
from tests.support import three_subjects


@pytest.fixture
def found() -> dict[str, Suggestion]:
    """Each suggestion by the subject of its papers (it fails if one mixes subjects)."""
    subject_of = {
        title: subject
        for subject, papers in three_subjects.SUBJECTS.items()
        for title, _abstract in papers
    }
    titles = {paper_id: title for paper_id, title, _abstract in three_subjects.numbered()}
    by_subject = {}
    for suggestion in suggest_topics(three_subjects.numbered()):
        subjects = {subject_of[titles[paper_id]] for paper_id in suggestion.paper_ids}
        assert len(subjects) == 1, f"{suggestion.name} mixes {subjects}"
        by_subject[subjects.pop()] = suggestion
    return by_subject


def test_three_subjects_come_back_as_three_suggestions_of_four_papers(found):
    assert set(found) == {"protein folding", "speech synthesis", "graph neural networks"}
    assert [s.count for s in found.values()] == [4, 4, 4]


def test_each_suggestion_is_named_after_its_subject(found):
    assert found["protein folding"].name == "Protein Folding"
    assert found["speech synthesis"].name == "Speech Synthesis"
    assert found["graph neural networks"].name == "Graph Neural Networks"


def test_each_suggestion_lists_the_terms_that_set_its_papers_apart(found):
    assert found["protein folding"].terms[0] == "protein folding"
    assert "amino acid" in found["protein folding"].terms
    assert found["speech synthesis"].terms[0] == "speech synthesis"
    assert {"vocoder", "text-to-speech"} <= set(found["speech synthesis"].terms)
    assert "message passing" in found["graph neural networks"].terms
    for suggestion in found.values():
        assert 6 <= len(suggestion.terms) <= 10
        assert len(set(suggestion.terms)) == len(suggestion.terms)


def test_the_examples_are_titles_of_its_own_papers_closest_to_the_centre_first(found):
    speech = found["speech synthesis"]
    titles = {title for title, _ in three_subjects.SPEECH_SYNTHESIS}

    assert 3 <= len(speech.examples) <= 5
    assert set(speech.examples) <= titles
    by_id = {paper_id: title for paper_id, title, _ in three_subjects.numbered()}
    assert list(speech.examples) == [by_id[i] for i in speech.paper_ids[: len(speech.examples)]]


def test_a_suggestion_fills_in_a_topics_keywords_and_description(found):
    protein = found["protein folding"]

    assert protein.keywords == ", ".join(protein.terms)
    assert protein.keywords.startswith("protein folding, amino acid")
    assert protein.description.startswith("Papers about protein folding, amino acid")
    assert protein.description.endswith(".")


def test_the_same_papers_always_give_the_same_suggestions():
    papers = three_subjects.numbered()

    assert suggest_topics(papers) == suggest_topics(list(papers))


def test_the_tightest_group_comes_first():
    result = suggest_topics(three_subjects.numbered())

    assert [s.coherence for s in result] == sorted((s.coherence for s in result), reverse=True)


def test_the_number_of_groups_grows_with_the_square_root_of_the_papers_up_to_eight():
    assert [cluster_count(n) for n in (0, 1, 2, 12, 50, 100, 2_000)] == [0, 1, 1, 3, 5, 8, 8]


def test_groups_of_fewer_than_three_papers_are_not_suggested():
    two_pairs = three_subjects.PROTEIN_FOLDING[:2] + three_subjects.SPEECH_SYNTHESIS[:2]

    papers = [(i, title, abstract) for i, (title, abstract) in enumerate(two_pairs)]

    assert suggest_topics(papers) == []


def test_identical_papers_make_one_suggestion():
    title, abstract = three_subjects.PROTEIN_FOLDING[0]

    [only] = suggest_topics([(i, title, abstract) for i in range(5)])

    assert only.count == 5
    named = set(only.name.lower().replace(" and ", " ").split())
    assert named <= set(title.lower().split())


@pytest.mark.parametrize(
    "papers",
    [
        [],
        [(1, "Protein folding", "Protein folding again.")],
        [(1, "A", ""), (2, "B", ""), (3, "C", "")],
        [(1, "The of and", "It is what it is."), (2, "And the", ""), (3, "Of", "the")],
        [(i, f"Paper {i}", "") for i in range(10)],
        [(i, "2024", "1 2 3 4") for i in range(6)],
        [(i, "<b>Graphs</b> & <i>nodes</i>", "$\\mathcal{O}(n)$ https://x.org") for i in range(4)],
        [(i, title, "") for i, (title, _) in enumerate(three_subjects.SPEECH_SYNTHESIS * 2)],
    ],
    ids=[
        "nothing",
        "one paper",
        "one-letter titles",
        "only stop words",
        "no term in two papers",
        "only numbers",
        "markup and a URL",
        "titles without abstracts",
    ],
)
def test_any_input_gives_suggestions_or_none_without_an_error(papers):
    result = suggest_topics(papers)

    for suggestion in result:
        assert suggestion.name and suggestion.terms and suggestion.count >= 3


def test_fewer_papers_than_groups_still_work():
    papers = [
        (i, title, abstract)
        for i, (title, abstract) in enumerate(three_subjects.GRAPH_NEURAL_NETWORKS[:3])
    ]

    result = suggest_topics(papers)

    assert [s.count for s in result] in ([], [3])


def test_a_term_adds_a_word_or_is_left_out():
    assert distinct_terms(["agents", "agent", "llm agents"], {}, 5) == ["agents", "llm agents"]
    assert distinct_terms(["distillation", "opd", "distillation opd"], {}, 5) == [
        "distillation",
        "opd",
    ]


def test_a_phrase_takes_the_place_of_its_word_when_most_papers_with_the_word_use_it():
    shares = {"gaussian": 0.8, "gaussian splatting": 0.6, "noise": 0.5, "gaussian noise": 0.1}

    assert distinct_terms(["gaussian", "noise", "gaussian splatting"], shares, 5) == [
        "gaussian splatting",
        "noise",
    ]
    assert distinct_terms(["gaussian", "gaussian noise"], shares, 5) == [
        "gaussian",
        "gaussian noise",
    ]


def test_a_name_never_repeats_a_word():
    assert distinct_terms(["scaling", "scaling laws", "compute"], {}, 2, disjoint=True) == [
        "scaling",
        "compute",
    ]


def test_names_keep_the_papers_capitals_and_join_a_phrase_they_write():
    texts = ["We study LLMs and their KV cache.", "LLMs need a KV cache.", "A kv cache."]

    assert suggestions.topic_name(["llms"], texts) == "LLMs"
    assert suggestions.topic_name(["kv", "cache"], texts) == "KV Cache"
    assert suggestions.topic_name(["on-policy distillation"], []) == "On-Policy Distillation"
    assert suggestions.topic_name(["3d", "scene"], ["3D scenes and a 3D scene"]) == "3D Scene"


def test_boilerplate_and_urls_are_not_terms():
    words = suggestions.analyze(
        "We propose a novel framework; code is available at https://github.com/x/y. "
        "Text-to-speech works."
    )

    assert "novel" not in words and "framework" not in words and "github" not in words
    assert "text-to-speech" in words
    assert "framework code" not in words  # no bigram across a removed word
