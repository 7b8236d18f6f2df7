"""The starting topics fit the real stream: named so a reader recognises them, fitted to tag
papers they have never seen, and old topic links still lead somewhere."""

from __future__ import annotations

import pytest

from digest.models import Paper, Topic
from digest.papers.topics import tag_papers

pytestmark = pytest.mark.django_db

THE_THIRTEEN = [
    "Agents and tool use",
    "LLM reasoning and RL post-training",
    "Code generation and software agents",
    "Vision-language models",
    "Image generation and editing",
    "Video",
    "3D and 4D",
    "Robotics and embodied AI",
    "Speech and audio",
    "Safety, security and alignment",
    "Efficient training and inference",
    "Retrieval and RAG",
    "AI for science and medicine",
]


def test_every_topic_a_reader_of_the_real_stream_looks_for_is_there_and_fitted():
    topics = {t.name: t for t in Topic.objects.filter(active=True)}

    for name in THE_THIRTEEN:
        assert name in topics, name
        assert topics[name].weights, f"{name} has no learned weights"
    assert len(topics) >= 20
    assert {"Zero-shot learning", "Zeroth-order optimization"} <= topics.keys()


@pytest.mark.parametrize(
    ("title", "abstract", "slug"),
    [
        (
            "Quadrupeds that climb stairs",
            "A legged robot learns to climb stairs in simulation and "
            "transfers the policy to the real robot.",
            "robotics-and-embodied-ai",
        ),
        (
            "Whispering to a transcriber",
            "We improve automatic speech recognition of whispered speech with a new audio encoder.",
            "speech-and-audio",
        ),
        (
            "Folding enzymes faster",
            "A protein language model predicts enzyme structures and helps design new proteins.",
            "ai-for-science-and-medicine",
        ),
        (
            "Breaking the guardrails",
            "We jailbreak aligned chat models with a new prompt attack and propose a defense.",
            "safety-security-and-alignment",
        ),
        (
            "Fewer bits, same answers",
            "We quantize large language model weights to 3 bits and "
            "compress the KV cache, doubling inference throughput.",
            "efficient-training-and-inference",
        ),
    ],
)
def test_papers_it_has_never_seen_land_in_their_topic(title, abstract, slug):
    paper = Paper.objects.create(
        title=title, title_key=title.lower(), abstract=abstract, featured_on="2026-11-26"
    )

    tag_papers([paper])

    assert slug in set(paper.topics.values_list("slug", flat=True))


def test_an_old_topic_page_redirects_to_the_topic_under_its_new_name(client):
    response = client.get("/topics/agents/")

    assert response.status_code == 301
    assert response["Location"] == "/topics/agents-and-tool-use/"


def test_an_old_topic_feed_redirects_to_the_new_feed(client):
    response = client.get("/topics/retrieval-search/feed/")

    assert response.status_code == 301
    assert response["Location"] == "/topics/retrieval-and-rag/feed/"


def test_a_slug_no_topic_ever_had_is_still_not_found(client):
    assert client.get("/topics/agent/").status_code == 404
    assert client.get("/topics/agent/feed/").status_code == 404
