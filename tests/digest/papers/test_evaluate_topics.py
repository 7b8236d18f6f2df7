"""evaluate_topics: coverage, shares, precision and recall against labels, one last line."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from digest.papers.topic_quality import LabelsError, TopicRef, evaluate, parse_labels, resolve
from tests.support.paths import FIXTURES, ROOT

pytestmark = pytest.mark.django_db

FIXTURES = FIXTURES / "topics"
FEED = FIXTURES / "feed"
LABELS = FIXTURES / "labels.json"


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("evaluate_topics", *args, stdout=out, stderr=StringIO())
    return out.getvalue().splitlines()


def test_it_reports_coverage_shares_and_per_topic_quality_and_ends_with_one_summary_line():
    lines = run(str(FEED), "--labels", str(LABELS))

    assert lines[0].startswith("papers=24 with a topic=")
    assert any(line.endswith("Robotics and embodied AI") and "0.333" in line for line in lines)
    assert any("precision" in line and "recall" in line for line in lines)
    summary = dict(part.split("=") for part in lines[-1].split())
    assert list(summary) == ["coverage", "max_share", "macro_precision", "macro_recall"]
    assert float(summary["coverage"]) >= 0.9
    assert float(summary["macro_precision"]) >= 0.9
    assert float(summary["macro_recall"]) >= 0.8


def test_without_labels_it_still_ends_with_the_summary_line():
    last = run(str(FEED / "made_up_papers_2026-01-06.json"))[-1]

    assert last.startswith("coverage=") and last.endswith("macro_precision=n/a macro_recall=n/a")


def test_labels_may_name_topics_by_name_and_papers_with_a_version(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "id,topics\n2601.00001v2,Robotics and embodied AI\n2601.00009,speech-and-audio\n"
    )

    summary = run(str(FEED), "--labels", str(labels))[-1]

    assert "macro_precision=1.000 macro_recall=1.000" in summary


def test_a_missing_file_is_one_clear_error():
    with pytest.raises(CommandError, match="no such file"):
        run("/nonexistent/feed.json")


def test_a_broken_labels_file_is_one_clear_error(tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text("{not json")

    with pytest.raises(CommandError, match="not valid JSON"):
        run(str(FEED), "--labels", str(labels))


@pytest.mark.parametrize(
    "text",
    [
        '{"2601.00001": ["video", "3d-and-4d"]}',
        '{"2601.00001": "video, 3d-and-4d"}',
        '[{"arxiv_id": "2601.00001v3", "labels": ["video", "3d-and-4d"]}]',
        '{"id": "2601.00001", "topics": ["video"]}\n{"id": "2601.00002", "topics": []}',
        "id\ttopics\n2601.00001\tvideo;3d-and-4d\n",
        "2601.00001,video,3d-and-4d\n",
    ],
)
def test_labels_load_from_json_json_lines_csv_and_tsv(text):
    labels = parse_labels(text)

    assert labels["2601.00001"][0] == "video"


def test_an_unknown_label_counts_as_a_topic_never_found():
    labels, unknown = resolve({"p1": ["Astrology"]}, [TopicRef("video", "Video")])
    report = evaluate({"p1": {"video"}}, labels)

    assert unknown == ["Astrology"]
    assert [(s.key, s.precision, s.recall) for s in report.scores] == [("Astrology", 0.0, 0.0)]


def test_an_empty_labels_file_is_refused():
    with pytest.raises(LabelsError):
        parse_labels("  ")


def test_the_numbers_are_counted_the_way_a_person_would():
    tagged = {"a": {"video"}, "b": {"video", "3d"}, "c": set(), "d": {"3d"}}
    labels = {"a": {"video"}, "b": {"3d"}, "c": {"video"}}

    report = evaluate(tagged, labels)

    assert report.coverage == 0.75
    assert report.max_share == 0.5
    scores = {s.key: (s.precision, s.recall) for s in report.scores}
    assert scores == {"video": (0.5, 0.5), "3d": (1.0, 1.0)}
    assert report.summary() == (
        "coverage=0.750 max_share=0.500 macro_precision=0.750 macro_recall=0.750"
    )


def test_the_shipped_labels_files_name_only_known_topics():
    taxonomy = json.loads((ROOT / "digest" / "papers" / "data" / "topics-2026-11.json").read_text())
    slugs = {t["slug"] for t in taxonomy["topics"]}
    for name in ("dev.json", "eval.json"):
        labels = json.loads((ROOT / "bench" / "topic_labels" / name).read_text())
        assert {s for topics in labels.values() for s in topics} <= slugs, name


def scored_lines(lines: list[str]) -> list[str]:
    """The precision and recall lines: after their heading and column names, before the end."""
    start = next(n for n, line in enumerate(lines) if line.startswith("precision and recall"))
    return lines[start + 2 : -1]


def summary(lines: list[str]) -> dict[str, str]:
    return dict(part.split("=") for part in lines[-1].split())


def test_the_averages_can_be_over_the_topics_being_judged_alone():
    every = run(str(FEED), "--labels", str(LABELS))
    robotics = run(str(FEED), "--labels", str(LABELS), "--topics", "Robotics and embodied AI")

    assert len(scored_lines(every)) > 1
    [line] = scored_lines(robotics)
    precision, recall, *_ = line.split()
    assert line.endswith("Robotics and embodied AI")
    assert summary(robotics) == {
        **summary(every),  # coverage and shares count every topic all the same
        "macro_precision": precision,
        "macro_recall": recall,
    }


def test_an_unknown_topic_to_judge_is_one_clear_error():
    with pytest.raises(CommandError, match="no active topic is called Astrology"):
        run(str(FEED), "--labels", str(LABELS), "--topics", "robotics-and-embodied-ai,Astrology")
