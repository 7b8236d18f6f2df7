from __future__ import annotations

import codecs
from datetime import UTC, date, datetime

import pytest

from digest.papers.ingestion.detect import UNKNOWN_FORMAT, detect_format, parse_any
from digest.papers.ingestion.records import FeedError
from tests.support.paths import FIXTURES, ROOT

SEED = (ROOT / "seeds" / "daily_papers_2025-11-20.txt").read_bytes()
ITEM = (FIXTURES / "hf_daily_papers_item.json").read_bytes()
ATOM = (FIXTURES / "arxiv_api_sample.xml").read_bytes()
RSS = (FIXTURES / "arxiv_rss_sample.xml").read_bytes()
PAGE_DAY = date(2025, 11, 20)
NOW = datetime(2025, 11, 20, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (SEED, "hf-page"),
        (b"[" + ITEM + b"]", "hf-json"),
        (b"[]", "hf-json"),
        (b'{"error": "Invalid date"}', "hf-json"),
        (ATOM, "arxiv-atom"),
        (RSS, "arxiv-rss"),
        (b'<?xml version="1.0"?>\n<!-- old feed -->\n<rdf:RDF xmlns:rdf="x"/>', "arxiv-rss"),
        (codecs.BOM_UTF8 + b"\n  [ ]", "hf-json"),
        (b"Title\n\nAbstract.\n\n  \xe2\x80\xa2 2 authors\n\xc2\xb7\nMay 7 8\n", "hf-page"),
    ],
)
def test_it_detects_each_format_from_the_content(data: bytes, fmt: str) -> None:
    assert detect_format(data) == fmt


@pytest.mark.parametrize(
    "data",
    [
        b"Rate exceeded.",
        b"<!DOCTYPE html><html><head><title>503</title></head></html>",
        b"<?xml version='1.0'?><svg/>",
        b"just some\n\nplain text\n",
    ],
)
def test_what_no_parser_reads_is_refused_with_the_known_formats(data: bytes) -> None:
    with pytest.raises(FeedError) as caught:
        detect_format(data)
    assert str(caught.value) == UNKNOWN_FORMAT
    assert str(caught.value) == (
        "not a known feed format (expected hf-page, hf-json, arxiv-atom or arxiv-rss)"
    )


@pytest.mark.parametrize("data", [b"", b" \n\t", codecs.BOM_UTF8])
def test_empty_input_is_said_plainly(data: bytes) -> None:
    with pytest.raises(FeedError, match=r"^empty input$"):
        detect_format(data)
    with pytest.raises(FeedError, match=r"^empty input$"):
        parse_any(data, None, PAGE_DAY)


def test_parse_any_detects_and_parses_the_seed_page() -> None:
    result = parse_any(SEED, None, PAGE_DAY, now=NOW)
    assert (result.source, len(result.records)) == ("hf-page", 65)
    assert result.records[0].observed_at == NOW


@pytest.mark.parametrize(
    ("data", "source", "count"),
    [(b"[" + ITEM + b"]", "hf-json", 1), (ATOM, "arxiv-atom", 3), (RSS, "arxiv-rss", 3)],
)
def test_parse_any_dispatches_to_the_detected_parser(data: bytes, source: str, count: int) -> None:
    result = parse_any(data, None, PAGE_DAY, now=NOW)
    assert (result.source, len(result.records)) == (source, count)


def test_an_explicit_format_is_used_as_given() -> None:
    assert parse_any(b"[" + ITEM + b"]", "hf-json", PAGE_DAY, now=NOW).records[0].observed_at == NOW


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (SEED, "hf-json", r"^not hf-json: input is not valid JSON \(.*line 1, column 1\)$"),
        (b"[" + ITEM + b"]", "hf-page", "^not hf-page: input looks like JSON"),
        (RSS, "arxiv-atom", r"^not arxiv-atom: input is an RSS feed \(try arxiv-rss\)$"),
        (SEED, "arxiv-rss", "^not arxiv-rss: input is not XML: 'new"),
    ],
)
def test_a_format_that_does_not_match_the_content_says_so_in_one_line(
    data: bytes, fmt: str, message: str
) -> None:
    with pytest.raises(FeedError, match=message) as caught:
        parse_any(data, fmt, PAGE_DAY)
    assert "\n" not in str(caught.value)


def test_an_unknown_format_name_is_refused() -> None:
    with pytest.raises(FeedError, match=r"^unknown format 'csv'"):
        parse_any(SEED, "csv", PAGE_DAY)


def test_a_byte_order_mark_is_not_part_of_the_text() -> None:
    result = parse_any(codecs.BOM_UTF8 + SEED, None, PAGE_DAY)
    assert len(result.records) == 65
    utf16 = parse_any(SEED.decode("utf-8").encode("utf-16"), None, PAGE_DAY)
    assert [r.title for r in utf16.records] == [r.title for r in result.records]


def test_undecodable_bytes_are_a_feed_error() -> None:
    with pytest.raises(FeedError, match=r"^input is not UTF-8 text"):
        parse_any(b"Daily Papers\n\n\xff\xfe\xfa", None, PAGE_DAY)
