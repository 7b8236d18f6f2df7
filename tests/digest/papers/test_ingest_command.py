"""`manage.py ingest`: the seed page, re-runs, and bad input that loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.models import Paper, PaperSnapshot, PaperTopic

pytestmark = pytest.mark.django_db


def ingest(*args: str, capsys) -> str:
    call_command("ingest", *args)
    return capsys.readouterr().out


def test_the_seed_page_creates_65_papers_and_a_second_run_none(seed_path, capsys):
    first = ingest(str(seed_path), capsys=capsys)
    second = ingest(str(seed_path), capsys=capsys)

    assert "hf-page" in first
    assert "created=65 updated=0 unchanged=0 rejected=0" in first
    assert "created=0 updated=0 unchanged=65 rejected=0" in second
    assert Paper.objects.count() == 65


def test_the_seed_page_is_dated_from_its_file_name(seed_path, capsys):
    ingest(str(seed_path), capsys=capsys)

    zerosearch = Paper.objects.get(title__startswith="ZeroSearch")
    assert str(zerosearch.featured_on) == "2025-11-20"
    assert str(zerosearch.published_on) == "2025-05-07"
    assert (zerosearch.upvotes, zerosearch.author_count) == (8, 9)
    assert zerosearch.snapshots.get().upvotes == 8


def test_seed_papers_are_tagged_with_fitting_topics(seed_path, capsys):
    ingest(str(seed_path), capsys=capsys)

    def topics_of(prefix: str) -> set[str]:
        paper = Paper.objects.get(title__startswith=prefix)
        return set(paper.topics.values_list("slug", flat=True))

    assert "zero-shot-learning" in topics_of("Adaptive Confidence Smoothing")
    assert "zeroth-order-optimization" in topics_of("DeepZero")
    assert "retrieval-and-rag" in topics_of("LLM-guided Hierarchical Retrieval")
    assert "efficient-training-and-inference" in topics_of("ZeRO: Memory Optimizations")
    assert "code-generation-and-software-agents" in topics_of(
        "Training Language Models on Synthetic Edit"
    )
    assert PaperTopic.objects.filter(source=PaperTopic.Source.AUTO).count() > 65


def test_the_date_option_overrides_the_file_name(seed_path, tmp_path, capsys):
    page = tmp_path / "page.txt"
    page.write_text(seed_path.read_text())

    ingest("--date", "2025-06-01", str(page), capsys=capsys)

    # "Nov 20" without a year falls after June 1st 2025, so it belongs to 2024.
    assert Paper.objects.filter(featured_on="2025-06-01").count() == 65


def test_a_malformed_entry_is_rejected_with_its_reason_and_the_rest_saved(tmp_path, capsys):
    items = [
        {"paper": {"id": "2601.00001", "title": "Good paper", "summary": "Fine.", "upvotes": 3}},
        {"paper": {"id": "2601.00002", "summary": "No title here.", "upvotes": 1}},
        {"paper": {"id": "2601.00003", "title": "Huge", "summary": "x" * 5_000_000, "upvotes": 1}},
    ]
    path = tmp_path / "api.json"
    path.write_text(json.dumps(items))

    out = ingest(str(path), capsys=capsys)

    assert "created=1 updated=0 unchanged=0 rejected=2" in out
    assert "missing title" in out
    assert "abstract over 100 KB" in out
    assert list(Paper.objects.values_list("title", flat=True)) == ["Good paper"]


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (b"", [], "empty"),
        (b'[{"paper": {"id": "2601.00001", "title": "Cut', [], "JSON"),
        (b"just some words\nthat are no feed\n", [], "not a known feed format"),
        (b"<html><body>Not a feed</body></html>", [], "not a known feed format"),
    ],
)
def test_unreadable_input_exits_non_zero_with_one_line_and_writes_nothing(
    tmp_path, capsys, content, options, message
):
    path = tmp_path / "input.txt"
    path.write_bytes(content)

    with pytest.raises(CommandError):
        call_command("ingest", *options, str(path))

    err = capsys.readouterr().err
    assert message.lower() in err.lower()
    assert len(err.strip().splitlines()) == 1
    assert Paper.objects.count() == 0


def test_the_wrong_format_option_is_a_clear_error(seed_path, capsys):
    with pytest.raises(CommandError):
        call_command("ingest", "--format", "hf-json", str(seed_path))

    assert "hf-json" in capsys.readouterr().err
    assert Paper.objects.count() == 0


def test_a_missing_file_is_a_clear_error(capsys):
    with pytest.raises(CommandError):
        call_command("ingest", "no/such/file.txt")

    assert "no such file" in capsys.readouterr().err


def test_the_real_hf_item_is_stored_with_its_details(fixtures: Path, tmp_path, capsys):
    item = json.loads((fixtures / "hf_daily_papers_item.json").read_text())
    listing = tmp_path / "daily_papers.json"
    listing.write_text(json.dumps([item]))

    ingest(str(listing), capsys=capsys)

    paper = Paper.objects.get(arxiv_id="2602.23229")
    assert paper.upvotes == 10
    assert paper.organization == "Multimedia and Human Understanding Group"
    assert paper.authors[0] == "Marco Garosi"
    assert paper.github_repo == "https://github.com/marco-garosi/CIRCLE"
    assert paper.url == "https://huggingface.co/papers/2602.23229"
    assert PaperSnapshot.objects.filter(paper=paper).count() == 1


def test_atom_and_rss_samples_ingest_and_a_replacement_updates(fixtures: Path, capsys):
    ingest(str(fixtures / "arxiv_api_sample.xml"), capsys=capsys)
    before = Paper.objects.count()
    out = ingest(str(fixtures / "arxiv_rss_sample.xml"), capsys=capsys)

    assert "arxiv-rss" in out
    assert Paper.objects.filter(arxiv_id="hep-th/9901001").exists()
    assert Paper.objects.count() >= before
