"""A topic's classifier: fitted from labelled papers, stored as readable weights, pure."""

from __future__ import annotations

import json

import pytest

from digest.papers import topic_model
from digest.papers.embedding import DIMENSIONS, embed_papers
from digest.papers.topic_model import LinearTagger, TopicWeights, features, fit
from tests.support.paths import FIXTURES

FIXTURE = FIXTURES / "topics" / "feed"


def fixture_papers() -> list[tuple[str, str, str]]:
    items = json.loads(next(FIXTURE.glob("*.json")).read_text())
    return [(i["paper"]["id"], i["paper"]["title"], i["paper"]["summary"]) for i in items]


def test_a_papers_terms_are_words_and_neighbouring_pairs_weighted_to_a_unit_vector():
    terms = topic_model.terms(["speech", "recognition", "speech"])

    assert set(terms.counts) == {
        "speech",
        "recognition",
        ("speech", "recognition"),
        ("recognition", "speech"),
    }
    assert sum(w * w for w in terms.weights().values()) == pytest.approx(1.0)
    assert terms.weight("speech") > terms.weight("recognition")


def test_every_real_abstract_is_a_unit_vector_whatever_its_repeated_words():
    texts = [features(title, abstract).text for _, title, abstract in fixture_papers()]

    assert {1, 2, 3} <= {count for text in texts for count in text.counts.values()}
    for text in texts:
        assert sum(w * w for w in text.weights().values()) == pytest.approx(1.0, abs=1e-12)


def test_stop_words_and_single_letters_are_not_terms():
    found = features("A study of the X model", "")

    assert "the" not in found.text.counts and "x" not in found.text.counts
    assert "study" in found.title.counts


def test_fitted_weights_tell_unseen_papers_of_the_two_subjects_apart():
    papers = fixture_papers()
    robots = [p for p in papers if int(p[0][-2:]) <= 8]
    speech = [p for p in papers if 9 <= int(p[0][-2:]) <= 16]
    train = robots[:6] + speech[:6]
    labels = [{"robots"}] * 6 + [{"speech"}] * 6

    weights = fit([features(t, a) for _, t, a in train], labels, ["robots", "speech"], tune=False)
    tagger = LinearTagger(weights)

    for _, title, abstract in robots[6:]:
        p = tagger.probabilities(features(title, abstract))
        assert p["robots"] > 0.5 > p["speech"], title
    for _, title, abstract in speech[6:]:
        p = tagger.probabilities(features(title, abstract))
        assert p["speech"] > 0.5 > p["robots"], title


def test_a_topic_with_too_few_labelled_papers_is_not_fitted():
    papers = fixture_papers()[:8]
    labels = [{"rare"}] + [set()] * 7

    assert fit([features(t, a) for _, t, a in papers], labels, ["rare"]) == {}


def test_keyword_hits_count_towards_the_topic():
    weights = TopicWeights(bias=-2.0, keyword_title=3.0, keyword_abstract=1.0)
    tagger = LinearTagger({"t": weights})

    with_title_hit = features("x", "y", {"t": (True, 0)})
    without = features("x", "y")

    assert tagger.probabilities(with_title_hit)["t"] > 0.5 > tagger.probabilities(without)["t"]


def test_weights_survive_the_round_trip_through_json_and_show_their_strongest_terms():
    weights = TopicWeights(
        bias=-1.5,
        keyword_title=2.0,
        keyword_abstract=0.5,
        terms={"robot": 3.2, ("sim", "real"): 1.1, "language": -0.7},
        title_terms={"manipulation": 2.5},
    )

    again = TopicWeights.from_json(json.loads(json.dumps(weights.to_json())))

    assert again == weights
    assert weights.strongest_terms(3) == [
        ("robot", 3.2),
        ("title: manipulation", 2.5),
        ("sim real", 1.1),
    ]


@pytest.mark.parametrize("value", [{}, {"terms": {}}, {"bias": "high"}, {"bias": 1, "terms": []}])
def test_malformed_weights_mean_no_classifier(value):
    assert TopicWeights.from_json(value) is None


def test_a_topic_fitted_with_papers_meanings_weighs_them_and_keeps_them_in_json():
    papers = fixture_papers()
    robots = [p for p in papers if int(p[0][-2:]) <= 8]
    speech = [p for p in papers if 9 <= int(p[0][-2:]) <= 16]
    train = robots[:6] + speech[:6]
    vectors = embed_papers([(t, a) for _, t, a in train])
    papers_read = [features(t, a, embedding=vectors[n]) for n, (_, t, a) in enumerate(train)]

    weights = fit(papers_read, [{"robots"}] * 6 + [{"speech"}] * 6, ["robots"], tune=False)

    fitted = weights["robots"]
    assert len(fitted.embedding) == DIMENSIONS
    again = TopicWeights.from_json(json.loads(json.dumps(fitted.to_json())))
    assert again is not None
    assert again.embedding == pytest.approx(fitted.embedding, abs=1e-4)
    # The meaning alone moves a paper towards the topic: the same words, with and without it.
    tagger = LinearTagger(weights)
    robot_title, robot_abstract = robots[6][1], robots[6][2]
    meaning = embed_papers([(robot_title, robot_abstract)])[0]
    with_meaning = tagger.probabilities(features(robot_title, robot_abstract, embedding=meaning))
    words_only = tagger.probabilities(features(robot_title, robot_abstract))
    assert with_meaning["robots"] > words_only["robots"]


def test_weights_with_an_embedding_of_the_wrong_size_are_refused():
    data = TopicWeights(bias=0.1, terms={"robot": 1.0}).to_json()

    assert TopicWeights.from_json({**data, "embedding": [0.1] * 3}) is None
    assert TopicWeights.from_json({**data, "embedding": "0.1"}) is None
    assert TopicWeights.from_json({**data, "embedding": [0.1] * DIMENSIONS}) is not None
