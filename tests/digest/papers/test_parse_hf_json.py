from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from digest.papers.ingestion import hf_json
from digest.papers.ingestion.records import FeedError, ParseResult
from tests.support.paths import FIXTURES

ITEM_PATH = FIXTURES / "hf_daily_papers_item.json"
NOW = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def item() -> dict[str, Any]:
    return json.loads(ITEM_PATH.read_text(encoding="utf-8"))


def parse(*items: object) -> ParseResult:
    return hf_json.parse(json.dumps(list(items)), now=NOW)


def test_it_reads_the_real_item(item: dict[str, Any]) -> None:
    result = hf_json.parse(b"[" + ITEM_PATH.read_bytes() + b"]", now=NOW)

    assert result.rejections == []
    (record,) = result.records
    assert record.source == "hf-json"
    assert (record.arxiv_id, record.arxiv_version) == ("2602.23229", None)
    assert record.title == "Large Multimodal Models as General In-Context Classifiers"
    assert record.abstract.startswith("Which multimodal model should we use for classification?")
    assert record.authors == [
        "Marco Garosi",
        "Matteo Farina",
        "Alessandro Conti",
        "Massimiliano Mancini",
        "Elisa Ricci",
    ]
    assert record.author_count == 5
    assert record.organization == "Multimedia and Human Understanding Group"
    assert record.published_on == date(2026, 2, 26)
    assert record.featured_on == date(2026, 3, 6)
    assert (record.upvotes, record.num_comments) == (10, 1)
    assert record.github_repo == "https://github.com/marco-garosi/CIRCLE"
    assert record.github_stars == 9
    assert record.project_page == "https://circle-lmm.github.io/"
    assert record.thumbnail and record.thumbnail.endswith("/papers/2602.23229.png")
    assert record.observed_at == NOW
    keywords = record.extra["ai_keywords"]
    assert isinstance(keywords, list) and "in-context learning" in keywords


def test_it_reads_upvotes_only_from_paper_upvotes(item: dict[str, Any]) -> None:
    item["upvotes"] = 999
    without = copy.deepcopy(item)
    del without["paper"]["upvotes"]

    first, second = parse(item, without).records

    assert first.upvotes == 10
    assert second.upvotes is None


def test_observed_at_defaults_to_now(item: dict[str, Any]) -> None:
    before = datetime.now(UTC)
    (record,) = hf_json.parse(json.dumps([item])).records
    assert record.observed_at is not None
    assert before <= record.observed_at <= datetime.now(UTC)


def test_the_title_and_summary_fall_back_to_the_top_level(item: dict[str, Any]) -> None:
    del item["paper"]["title"]
    item["paper"]["summary"] = ""
    item["summary"] = "Top-level &amp; {\\it summary}."

    (record,) = parse(item).records

    assert record.title == "Large Multimodal Models as General In-Context Classifiers"
    assert record.abstract == "Top-level & summary."


def test_authors_without_a_name_are_skipped(item: dict[str, Any]) -> None:
    item["paper"]["authors"] = [{"name": "Ana Garc\\'ia"}, {"name": None}, {"_id": "x"}, "junk"]
    (record,) = parse(item).records
    assert (record.authors, record.author_count) == (["Ana García"], 1)


def test_an_item_without_organization_has_a_blank_one(item: dict[str, Any]) -> None:
    del item["organization"]
    del item["paper"]["organization"]
    assert parse(item).records[0].organization == ""


def test_the_organization_can_come_from_the_paper(item: dict[str, Any]) -> None:
    del item["organization"]
    item["paper"]["organization"] = {"name": "google", "fullname": "Google"}
    assert parse(item).records[0].organization == "Google"


def test_featured_on_is_left_to_the_store_without_submitted_on_daily_at(
    item: dict[str, Any],
) -> None:
    del item["paper"]["submittedOnDailyAt"]
    assert parse(item).records[0].featured_on is None


def test_an_item_without_a_title_is_rejected_and_the_rest_kept(item: dict[str, Any]) -> None:
    untitled = copy.deepcopy(item)
    untitled["paper"]["title"] = ""
    untitled["title"] = "   "

    result = parse(untitled, item)

    assert [r.position for r in result.records] == [2]
    (rejection,) = result.rejections
    assert (rejection.position, rejection.reason) == (1, "missing title")


def test_a_withdrawn_paper_is_rejected(item: dict[str, Any]) -> None:
    item["paper"]["withdrawnAt"] = "2026-03-07T10:00:00.000Z"
    result = parse(item)
    assert result.records == []
    assert [str(r) for r in result.rejections] == [
        "entry 1 (Large Multimodal Models as General In-Context Classifiers): withdrawn"
    ]


def test_a_five_megabyte_abstract_is_rejected_by_validation(item: dict[str, Any]) -> None:
    huge = copy.deepcopy(item)
    huge["paper"]["summary"] = "Scaling {\\it laws} $\\alpha$ " * 200_000

    result = parse(huge, item)

    assert len(result.records) == 1
    assert [r.reason for r in result.rejections] == ["abstract over 100 KB"]


@pytest.mark.parametrize("upvotes", [-1, "5", 2.5, True, [3]])
def test_negative_or_non_integer_upvotes_are_rejected(
    item: dict[str, Any], upvotes: object
) -> None:
    item["paper"]["upvotes"] = upvotes
    result = parse(item)
    assert result.records == []
    assert result.rejections[0].reason.startswith("upvotes must be")


def test_an_item_that_is_not_an_object_is_rejected(item: dict[str, Any]) -> None:
    result = parse("a string", None, item)
    assert [r.position for r in result.records] == [3]
    assert [r.reason for r in result.rejections] == [
        "item is a string, not an object",
        "item is null, not an object",
    ]


def test_an_item_without_a_paper_object_is_rejected(item: dict[str, Any]) -> None:
    del item["paper"]
    assert [r.reason for r in parse(item).rejections] == ["no paper object"]


def test_a_paper_id_that_is_not_an_arxiv_id_is_rejected(item: dict[str, Any]) -> None:
    item["paper"]["id"] = "not-an-id"
    assert "is not an arXiv id" in parse(item).rejections[0].reason


def test_an_empty_list_is_no_records() -> None:
    result = hf_json.parse(b"[]", now=NOW)
    assert (result.records, result.rejections) == ([], [])


def test_truncated_json_is_a_feed_error() -> None:
    data = (b"[" + ITEM_PATH.read_bytes() + b"]")[:500]
    with pytest.raises(
        FeedError, match=r"^hf-json: the JSON ends too early, truncated\?"
    ) as caught:
        hf_json.parse(data)
    assert "\n" not in str(caught.value)


def test_text_that_is_not_json_says_it_is_not_hf_json() -> None:
    with pytest.raises(
        FeedError, match=r"^not hf-json: input is not valid JSON \(.*line 1, column 1\)$"
    ):
        hf_json.parse("new\n\nDaily Papers\n")


def test_an_api_error_object_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match=r"^hf-json: the API answered an error: Invalid date$"):
        hf_json.parse(b'{"error": "Invalid date"}')


@pytest.mark.parametrize(
    ("data", "kind"), [(b'{"papers": []}', "an object"), (b'"x"', "a string"), (b"3", "a number")]
)
def test_json_that_is_not_a_list_is_a_feed_error(data: bytes, kind: str) -> None:
    with pytest.raises(
        FeedError, match=f"^not hf-json: expected a JSON list of papers, got {kind}$"
    ):
        hf_json.parse(data)


def test_empty_and_undecodable_input_are_feed_errors() -> None:
    with pytest.raises(FeedError, match=r"^empty input$"):
        hf_json.parse(b"  \n")
    with pytest.raises(FeedError, match=r"^not hf-json: input is not UTF-8"):
        hf_json.parse(b"[\xff]")


def test_a_broken_link_is_dropped_and_the_paper_kept(item: dict[str, Any]) -> None:
    item["paper"]["githubRepo"] = "javascript:alert(1)"
    item["paper"]["projectPage"] = "not a url"

    result = hf_json.parse(json.dumps([item]), now=NOW)

    record = result.records[0]
    assert (record.github_repo, record.project_page) == (None, None)
    assert result.rejections == []


def test_an_item_that_does_not_say_when_it_was_featured_takes_the_day_of_the_input():
    item = {
        "paper": {"id": "2606.00001", "title": "A paper", "upvotes": 3},
        "publishedAt": "2026-06-01T00:00:00.000Z",
    }

    dated = hf_json.parse(json.dumps([item]), featured_on=date(2026, 6, 15))
    undated = hf_json.parse(json.dumps([item]))

    assert dated.records[0].featured_on == date(2026, 6, 15)
    assert undated.records[0].featured_on is None  # the store uses the ingest date
