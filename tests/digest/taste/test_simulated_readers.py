"""The readers' simulation (bench/readers.py) on a made-up stream: readers who press "more
like this" and "less like this" come to get what they like; readers who never click get
what they always got. Read where a person reads it (the outbox, the text part), clicked
where a person clicks (GET the link, then POST the page's button)."""

from __future__ import annotations

import json
from argparse import Namespace
from datetime import date, timedelta
from pathlib import Path

import pytest

from bench import readers
from tests.digest.conftest import make_paper
from tests.digest.taste.papers import made_up

# Signups and their confirmation emails go out after commit, as in production: the data
# must really be committed (serialized_rollback restores the topics for later tests).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FIRST = date(2026, 5, 11)  # a Monday
# Per day: the subject, how many papers, and the topic a person would give them.
MIX = [
    ("reasoning", 4, "llm-reasoning-and-rl-post-training"),
    ("agents", 4, "agents-and-tool-use"),
    ("proteins", 2, "ai-for-science-and-medicine"),
]


def made_up_stream(folder: Path, days: int) -> tuple[Path, Path]:
    """`days` weekdays of made-up papers in the HF API's shape, and a person's labels."""
    stream = folder / "stream"
    stream.mkdir()
    labels: dict[str, list[str]] = {}
    day, written = FIRST, 0
    while written < days:
        if day.weekday() < 5:
            items: list[dict[str, object]] = []
            for subject, count, slug in MIX:
                for n, (title, abstract) in enumerate(made_up(subject, count, seed=written)):
                    arxiv_id = f"2605.{written:02d}{len(items):03d}"
                    labels[arxiv_id] = [slug]
                    items.append(
                        {
                            "paper": {
                                "id": arxiv_id,
                                "title": f"{title} {written}-{n}",
                                "summary": abstract,
                                "authors": [{"name": "Ada Lovelace"}],
                                "publishedAt": f"{day}T00:00:00.000Z",
                                "upvotes": 5 + 3 * n,
                            },
                            "publishedAt": f"{day}T00:00:00.000Z",
                            "title": title,
                        }
                    )
            (stream / f"hf_daily_papers_{day}.json").write_text(json.dumps(items))
            written += 1
        day += timedelta(days=1)
    (folder / "labels.json").write_text(json.dumps(labels))
    return stream, folder / "labels.json"


@pytest.fixture(autouse=True)
def outbox(tmp_path, settings) -> None:
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"


def run(tmp_path: Path, *, clicks: bool, per_reader: bool = False) -> dict[str, float]:
    stream, labels = made_up_stream(tmp_path, 8)
    args = Namespace(
        stream=str(stream),
        labels=str(labels),
        days=8,
        start=None,
        no_clicks=not clicks,
        onboard=0,
        refit_topics=False,
        only_labelled=False,
        per_reader=per_reader,
    )
    return readers.replay(args)


def test_readers_who_click_get_what_they_like(tmp_path, capsys):
    figures = run(tmp_path, clicks=True, per_reader=True)

    # Over-selecting readers picked two popular topics they did not mean: without clicks
    # half of what they get is not for them (the test below).
    assert figures["over_p_last"] >= 0.9
    assert figures["over_r_last"] >= 0.9
    assert figures["exact_p_last"] >= 0.9
    # With --per-reader, a line per reader (test below), and the contract line still last.
    printed = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("#   exact ") for line in printed) == len(MIX)
    assert printed[-1].startswith("readers=") and "over_r_last=" in printed[-1]


def test_readers_who_never_click_get_what_they_always_got(tmp_path):
    figures = run(tmp_path, clicks=False)

    assert figures["over_p_first"] < 0.6
    assert figures["over_p_last"] == figures["over_p_first"]


def test_the_per_reader_breakdown_tells_untagged_papers_from_tagged_ones_never_sent(
    db, capsys, monkeypatch
):
    agents = "agents-and-tool-use"
    sent, left_out = "2606.00001", "2606.00002"
    untagged = ["2606.00003", "2606.00004"]
    make_paper("Sent", agents, arxiv_id=sent)
    make_paper("Tagged, not sent", agents, arxiv_id=left_out)
    for n, arxiv_id in enumerate(untagged):
        make_paper(f"Tagged with nothing {n}", None, arxiv_id=arxiv_id)
    featured = {sent, left_out, *untagged}
    monkeypatch.setattr(readers, "LABELS_BY_ID", {i: (agents,) for i in featured})
    reader = readers.readers([agents])[0]
    reader.sent[FIRST] = reader.everything = {sent}

    readers.report_readers([reader], [FIRST], {FIRST: featured})

    [line] = [line for line in capsys.readouterr().out.splitlines() if agents in line]
    assert "sent=  1 wanted_sent=  1 | wanted=  4 got=  1 | untagged= 2 tagged= 1" in line
