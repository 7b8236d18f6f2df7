"""Moving a live database to the new topics loses nobody's choice."""

from __future__ import annotations

from importlib import import_module

import pytest

from tests.support.migrations import migrate_to, migrate_to_latest

# The test runs migrations both ways; the topics and the rest are restored afterwards.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("digest", "0011_topic_weights"), ("subscriptions", "0003_subscriber_follows")]
AFTER = [("digest", "0012_topics_for_the_real_stream")]


@pytest.fixture
def old_state():
    """The database as it was before the new topics: the eight starting topics and nothing
    else; left at the latest migration afterwards."""
    apps = migrate_to(BEFORE)
    apps.get_model("digest", "Topic").objects.all().delete()
    import_module("digest.migrations.0002_starting_topics").create_topics(apps, None)
    yield apps
    migrate_to_latest()


def migrate_forward():
    return migrate_to(AFTER)


def test_readers_keep_their_topics_under_the_new_names_and_the_catch_all_becomes_its_parts(
    old_state,
):
    Topic = old_state.get_model("digest", "Topic")
    Subscriber = old_state.get_model("subscriptions", "Subscriber")
    vera = Subscriber.objects.create(email="vera@example.com")
    vera.topics.set(Topic.objects.filter(slug__in=["vision-multimodal", "agents"]))
    rita = Subscriber.objects.create(email="rita@example.com")
    rita.topics.set(Topic.objects.filter(slug="llm-reasoning-rl"))

    apps = migrate_forward()

    Subscriber = apps.get_model("subscriptions", "Subscriber")
    slugs = set(
        Subscriber.objects.get(email="vera@example.com").topics.values_list("slug", flat=True)
    )
    assert slugs == {
        "agents-and-tool-use",
        "vision-language-models",
        "image-generation-and-editing",
        "video",
        "3d-and-4d",
        "visual-perception",
    }
    rita_slugs = Subscriber.objects.get(email="rita@example.com").topics.values_list(
        "slug", flat=True
    )
    assert list(rita_slugs) == ["llm-reasoning-and-rl-post-training"]


def test_an_editors_assignment_and_removal_survive_and_papers_are_tagged_again(old_state):
    Topic = old_state.get_model("digest", "Topic")
    Paper = old_state.get_model("digest", "Paper")
    PaperTopic = old_state.get_model("digest", "PaperTopic")
    agents, code = Topic.objects.get(slug="agents"), Topic.objects.get(slug="code-generation")
    paper = Paper.objects.create(
        title="A coding agent that fixes GitHub issues",
        title_key="a coding agent that fixes github issues",
        abstract="Our software engineering agent resolves issues on SWE-bench with tool calls.",
        featured_on="2026-11-20",
    )
    PaperTopic.objects.create(paper=paper, topic=agents, score=0.9, source="editor")
    paper.removed_topics.add(code)
    robots = Paper.objects.create(
        title="Legged robots on stairs",
        title_key="legged robots on stairs",
        abstract="A quadruped robot learns locomotion with sim-to-real transfer.",
        featured_on="2026-11-20",
    )
    PaperTopic.objects.create(paper=robots, topic=agents, score=0.5, source="auto")

    apps = migrate_forward()

    PaperTopic = apps.get_model("digest", "PaperTopic")
    links = {
        link.topic.slug: link.source
        for link in PaperTopic.objects.filter(paper_id=paper.pk).select_related("topic")
    }
    assert links["agents-and-tool-use"] == "editor"
    assert "code-generation-and-software-agents" not in links  # the editor took it off
    robot_topics = set(
        PaperTopic.objects.filter(paper_id=robots.pk).values_list("topic__slug", flat=True)
    )
    assert robot_topics == {"robotics-and-embodied-ai"}  # the stale automatic tag is gone


def test_a_topic_an_editor_created_is_left_alone(old_state):
    Topic = old_state.get_model("digest", "Topic")
    Topic.objects.create(name="Quantum computing", slug="quantum", keywords="qubit")

    apps = migrate_forward()

    topic = apps.get_model("digest", "Topic").objects.get(slug="quantum")
    assert (topic.name, topic.keywords, topic.active, topic.weights) == (
        "Quantum computing",
        "qubit",
        True,
        {},
    )
