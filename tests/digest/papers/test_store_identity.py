"""One paper is one row, whatever the source and day."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime
from typing import Any

import pytest

from digest.models import Paper, PaperSnapshot
from digest.papers.ingestion.records import (
    ARXIV_ATOM,
    ARXIV_RSS,
    HF_JSON,
    HF_PAGE,
    FeedError,
    PaperRecord,
    ParseResult,
)
from digest.papers.ingestion.service import ingest_bytes
from digest.papers.ingestion.store import store

pytestmark = pytest.mark.django_db

NOV_20 = datetime(2025, 11, 20, 12, tzinfo=UTC)
NOV_21 = datetime(2025, 11, 21, 12, tzinfo=UTC)


def ingest(source: str, *records: PaperRecord, now: datetime = NOV_20):
    for position, record in enumerate(records, 1):
        record.source = source
        record.position = position
    return store(ParseResult(source, list(records)), now=now)


def zerosearch(**overrides) -> PaperRecord:
    fields: dict[str, Any] = dict(
        source=HF_PAGE,
        title="ZeroSearch: Incentivize the Search Capability of LLMs without Searching",
        abstract="Effective information searching is essential.",
        author_count=9,
        published_on=date(2025, 5, 7),
        featured_on=date(2025, 11, 20),
        upvotes=8,
        observed_at=NOV_20,
    )
    return PaperRecord(**(fields | overrides))


def test_a_page_entry_then_the_api_item_for_it_are_one_paper():
    ingest(HF_PAGE, zerosearch())
    report = ingest(
        HF_JSON,
        zerosearch(
            arxiv_id="2505.04588", authors=["Hao Sun", "Zile Qiao"], upvotes=12, observed_at=NOV_21
        ),
        now=NOV_21,
    )

    assert report.counts == "created=0 updated=1 unchanged=0 rejected=0"
    paper = Paper.objects.get()
    assert paper.arxiv_id == "2505.04588"
    assert paper.upvotes == 12
    assert paper.authors == ["Hao Sun", "Zile Qiao"]
    assert paper.sources == [HF_JSON, HF_PAGE]


def test_arxiv_versions_and_sources_share_the_row_of_the_base_id():
    ingest(ARXIV_ATOM, zerosearch(arxiv_id="2505.04588", arxiv_version=1, upvotes=None))
    ingest(
        ARXIV_RSS,
        zerosearch(
            arxiv_id="2505.04588",
            arxiv_version=2,
            title="ZeroSearch v2 title",
            upvotes=None,
            is_replacement=True,
        ),
    )

    paper = Paper.objects.get()
    assert paper.arxiv_version == 2
    assert paper.title == "ZeroSearch v2 title"


def test_a_replacement_announcement_never_creates_a_paper_and_keeps_the_featured_day():
    ingest(HF_JSON, zerosearch(arxiv_id="2505.04588", featured_on=date(2025, 11, 20)))
    ingest(
        ARXIV_RSS,
        zerosearch(
            arxiv_id="2505.04588",
            arxiv_version=3,
            upvotes=None,
            is_replacement=True,
            featured_on=date(2025, 12, 1),
        ),
    )

    assert Paper.objects.count() == 1
    assert Paper.objects.get().featured_on == date(2025, 11, 20)


def test_same_title_with_a_different_arxiv_id_is_another_paper():
    ingest(HF_JSON, zerosearch(arxiv_id="2505.04588"))
    ingest(HF_JSON, zerosearch(arxiv_id="2601.00001"))

    assert Paper.objects.count() == 2


def test_title_matching_ignores_case_punctuation_and_spacing():
    ingest(HF_PAGE, zerosearch())
    ingest(
        HF_JSON,
        zerosearch(
            title="zerosearch  incentivize the search capability of LLMs without searching!",
            arxiv_id="2505.04588",
        ),
    )

    assert Paper.objects.count() == 1


def test_re_ingesting_the_same_input_changes_nothing():
    first = ingest(HF_PAGE, zerosearch(), zerosearch(title="Another paper"))
    second = ingest(HF_PAGE, zerosearch(), zerosearch(title="Another paper"))

    assert first.counts == "created=2 updated=0 unchanged=0 rejected=0"
    assert second.counts == "created=0 updated=0 unchanged=2 rejected=0"
    assert PaperSnapshot.objects.count() == 2


def test_each_upvote_change_records_a_snapshot():
    ingest(HF_JSON, zerosearch(arxiv_id="2505.04588", upvotes=8, observed_at=NOV_20))
    ingest(HF_JSON, zerosearch(arxiv_id="2505.04588", upvotes=8, observed_at=NOV_21), now=NOV_21)
    ingest(HF_JSON, zerosearch(arxiv_id="2505.04588", upvotes=15, observed_at=NOV_21), now=NOV_21)

    history = list(PaperSnapshot.objects.values_list("upvotes", flat=True))
    assert history == [8, 15]


def test_an_older_observation_never_moves_upvotes_back():
    ingest(HF_JSON, zerosearch(arxiv_id="2505.04588", upvotes=15, observed_at=NOV_21), now=NOV_21)
    report = ingest(HF_JSON, zerosearch(arxiv_id="2505.04588", upvotes=8, observed_at=NOV_20))

    assert Paper.objects.get().upvotes == 15
    assert report.unchanged == 1


def test_the_same_paper_twice_in_one_input_is_one_row():
    report = ingest(
        ARXIV_RSS,
        zerosearch(arxiv_id="2505.04588", upvotes=None),
        zerosearch(arxiv_id="2505.04588", upvotes=None),
    )

    assert Paper.objects.count() == 1
    assert report.created == 1
    assert report.unchanged == 1


def test_a_feed_without_a_date_features_the_paper_on_the_ingest_day():
    ingest(
        ARXIV_ATOM, zerosearch(arxiv_id="2505.04588", featured_on=None, upvotes=None), now=NOV_21
    )

    assert Paper.objects.get().featured_on == date(2025, 11, 21)


def test_curation_survives_re_ingest():
    ingest(HF_PAGE, zerosearch())
    Paper.objects.update(hidden=True, pinned=True, editor_note="Great")
    ingest(HF_JSON, zerosearch(arxiv_id="2505.04588", upvotes=30))

    paper = Paper.objects.get()
    assert (paper.hidden, paper.pinned, paper.editor_note) == (True, True, "Great")


def test_an_ingest_gives_the_cycle_collector_back_even_when_the_feed_is_bad():
    ingest_bytes(b'[{"title": "A paper", "summary": "An abstract."}]', label="x", fmt="hf-json")
    assert gc.isenabled()
    with pytest.raises(FeedError):
        ingest_bytes(b"not json at all", label="x", fmt="hf-json")
    assert gc.isenabled()
