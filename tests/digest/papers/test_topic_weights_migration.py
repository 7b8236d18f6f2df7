"""Refitted topic weights reach a live database, and an operator's own fit stays theirs."""

from __future__ import annotations

import json

import pytest

from tests.support.migrations import migrate_to, migrate_to_latest
from tests.support.paths import ROOT

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("digest", "0017_ingest_runs")]
AFTER = [("digest", "0018_topic_weights_read_meaning")]
DATA = ROOT / "digest" / "papers" / "data"


def shipped(name: str) -> dict[str, dict]:
    return {t["slug"]: t["weights"] for t in json.loads((DATA / name).read_text())["topics"]}


@pytest.fixture
def old_state():
    yield migrate_to(BEFORE)
    migrate_to_latest()


def migrate_forward():
    return migrate_to(AFTER)


def test_shipped_weights_are_replaced_and_an_operators_own_fit_is_kept(old_state):
    Topic = old_state.get_model("digest", "Topic")
    before = shipped("topics-2026-11.json")
    Topic.objects.filter(slug="speech-and-audio").update(weights=before["speech-and-audio"])
    own = {**before["video"], "bias": -3.25}
    Topic.objects.filter(slug="video").update(weights=own)

    apps = migrate_forward()

    Topic = apps.get_model("digest", "Topic")
    after = shipped("topics-2026-12.json")
    assert Topic.objects.get(slug="speech-and-audio").weights == after["speech-and-audio"]
    assert len(after["speech-and-audio"]["embedding"]) == 256
    assert Topic.objects.get(slug="video").weights == own


def test_the_papers_of_updated_topics_are_tagged_again(old_state):
    Topic = old_state.get_model("digest", "Topic")
    Paper = old_state.get_model("digest", "Paper")
    PaperTopic = old_state.get_model("digest", "PaperTopic")
    before = shipped("topics-2026-11.json")
    for slug in ("speech-and-audio", "robotics-and-embodied-ai"):
        Topic.objects.filter(slug=slug).update(weights=before[slug])
    robots = Paper.objects.create(
        title="Legged robots on stairs",
        title_key="legged robots on stairs",
        abstract="A quadruped robot learns locomotion with sim-to-real transfer.",
        featured_on="2026-11-20",
    )
    speech = Topic.objects.get(slug="speech-and-audio")
    PaperTopic.objects.create(paper=robots, topic=speech, score=0.5, source="auto")

    apps = migrate_forward()

    PaperTopic = apps.get_model("digest", "PaperTopic")
    slugs = set(PaperTopic.objects.filter(paper_id=robots.pk).values_list("topic__slug", flat=True))
    assert "robotics-and-embodied-ai" in slugs
    assert "speech-and-audio" not in slugs  # the stale automatic tag is gone
