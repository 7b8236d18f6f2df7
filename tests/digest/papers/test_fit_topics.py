"""fit_topics: an editor's labelled papers become a topic's classifier, and papers follow."""

from __future__ import annotations

import json
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from digest.models import Paper, Topic
from digest.papers.topic_model import TopicWeights
from tests.support.paths import FIXTURES, ROOT

pytestmark = pytest.mark.django_db

FIXTURES = FIXTURES / "topics"


def fit(*args: str) -> str:
    out = StringIO()
    call_command(
        "fit_topics",
        str(FIXTURES / "feed"),
        "--labels",
        str(FIXTURES / "labels.json"),
        *args,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


def test_fitting_stores_new_weights_and_re_tags_the_papers():
    robotics = Topic.objects.get(slug="robotics-and-embodied-ai")
    before = robotics.weights
    paper = Paper.objects.create(
        title="Robot hands",
        title_key="robot hands",
        abstract="A dexterous robot hand grasps cups.",
        featured_on="2026-01-06",
    )

    output = fit()

    robotics.refresh_from_db()
    assert robotics.weights != before
    assert TopicWeights.from_json(robotics.weights) is not None
    assert "fitted=3 labelled_papers=24" in output
    assert "robotics-and-embodied-ai" in set(paper.topics.values_list("slug", flat=True))


def test_a_dry_run_reports_and_changes_nothing():
    before = Topic.objects.get(slug="speech-and-audio").weights

    output = fit("--dry-run")

    assert "fitted=3" in output
    assert Topic.objects.get(slug="speech-and-audio").weights == before


def test_it_writes_weights_into_a_taxonomy_file(tmp_path):
    taxonomy = tmp_path / "topics.json"
    shutil.copy(ROOT / "digest" / "papers" / "data" / "topics-2026-11.json", taxonomy)

    fit("--into", str(taxonomy))

    topics = {t["slug"]: t for t in json.loads(taxonomy.read_text())["topics"]}
    assert TopicWeights.from_json(topics["speech-and-audio"]["weights"]) is not None
    assert topics["video"]["weights"] == {}  # no labelled papers of its own here


def test_labels_for_papers_not_in_the_files_are_one_clear_error(tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text('{"2999.99999": ["video"]}')

    with pytest.raises(CommandError, match="none of the labelled papers"):
        call_command(
            "fit_topics",
            str(FIXTURES / "feed"),
            "--labels",
            str(labels),
            stdout=StringIO(),
            stderr=StringIO(),
        )
