# The abstracts hold math turned into Unicode (a multiplication sign) on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import date

import pytest

from digest.papers.ingestion import arxiv_atom, arxiv_rss
from digest.papers.ingestion.records import FeedError, PaperRecord
from tests.support.paths import FIXTURES

ATOM = (FIXTURES / "arxiv_api_sample.xml").read_bytes()
RSS = (FIXTURES / "arxiv_rss_sample.xml").read_bytes()

EMPTY_ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: search_query=cat:cs.XX&amp;id_list=&amp;start=0</title>
  <id>http://arxiv.org/api/empty</id>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:totalResults>
</feed>
"""
ERROR_ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: search_query=&amp;id_list=1234.1234v&amp;start=0</title>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.1234v</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.1234v</summary>
    <updated>2024-01-16T00:00:00-05:00</updated>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""
WEEKEND_RSS = b"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom"
     xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>cs.LG updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.LG</link>
    <description>cs.LG updates on the arXiv.org e-print archive.</description>
    <pubDate>Sat, 20 Jan 2024 00:00:00 -0500</pubDate>
    <skipDays><day>Sunday</day><day>Saturday</day></skipDays>
  </channel>
</rss>
"""


def rss_item(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel><title>t</title>'
        f"<item>{body}</item></channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def atom() -> list[PaperRecord]:
    result = arxiv_atom.parse(ATOM)
    assert result.rejections == []
    return result.records


@pytest.fixture(scope="module")
def rss() -> list[PaperRecord]:
    result = arxiv_rss.parse(RSS)
    assert result.rejections == []
    return result.records


# -- arXiv API (Atom) --


def test_atom_reads_base_id_and_version_from_the_entry_id(atom: list[PaperRecord]) -> None:
    assert [(r.arxiv_id, r.arxiv_version) for r in atom] == [
        ("2401.01234", 2),
        ("hep-th/9901001", 1),
        ("math/0611800", 2),
    ]


def test_atom_joins_a_title_that_spans_lines(atom: list[PaperRecord]) -> None:
    assert atom[0].title == (
        "Sparse Routing at Scale: Expert Dropout for Mixture-of-Experts Language Models"
    )
    assert atom[1].title == "Notes on Dualities of D-Brane Systems"


def test_atom_summary_is_stripped_collapsed_and_readable(atom: list[PaperRecord]) -> None:
    abstract = atom[0].abstract
    assert abstract.startswith("Mixture-of-Experts (MoE) layers route each token")
    assert "grows as O(n) in the number of experts n." in abstract
    assert "We introduce expert dropout, a regularizer" in abstract
    assert "8× fewer active experts (p < 0.05 on all benchmarks)" in abstract
    assert abstract.endswith("Code: https://github.com/example/expert-dropout.")
    assert "\n" not in abstract and "  " not in abstract


def test_atom_keeps_non_ascii_author_names(atom: list[PaperRecord]) -> None:
    assert atom[0].authors == ["Marta Raventós", "Wei Zhang", "Ana Núñez"]
    assert atom[0].author_count == 3
    assert atom[1].authors == ["J. García"]


def test_atom_dates_and_what_arxiv_does_not_say(atom: list[PaperRecord]) -> None:
    first = atom[0]
    assert first.published_on == date(2024, 1, 2)
    assert (first.featured_on, first.upvotes, first.is_replacement) == (None, None, False)
    assert first.extra["primary_category"] == "cs.LG"
    assert first.extra["categories"] == ["cs.LG", "cs.CL"]


def test_an_api_error_entry_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match=r"^arXiv API error: incorrect id format for 1234.1234v$"):
        arxiv_atom.parse(ERROR_ATOM)


def test_an_empty_atom_feed_is_no_records() -> None:
    result = arxiv_atom.parse(EMPTY_ATOM)
    assert (result.records, result.rejections) == ([], [])


def test_an_entry_without_an_arxiv_id_is_rejected() -> None:
    data = ATOM.replace(b"<id>http://arxiv.org/abs/hep-th/9901001v1</id>", b"<id>urn:x</id>")
    result = arxiv_atom.parse(data)
    assert len(result.records) == 2
    assert [str(r) for r in result.rejections] == [
        "entry 2 (Notes on Dualities of D-Brane Systems): no arXiv id"
    ]


def test_a_rate_limit_answer_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match=r"^not arxiv-atom: input is not XML: 'Rate exceeded.'$"):
        arxiv_atom.parse(b"Rate exceeded.")


def test_a_truncated_atom_document_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match=r"^arxiv-atom: the document ends too early"):
        arxiv_atom.parse(ATOM[: len(ATOM) // 2])


def test_rss_given_as_atom_says_so() -> None:
    with pytest.raises(
        FeedError, match=r"^not arxiv-atom: input is an RSS feed \(try arxiv-rss\)$"
    ):
        arxiv_atom.parse(RSS)


def test_a_str_that_looks_like_a_url_is_parsed_not_fetched() -> None:
    with pytest.raises(FeedError, match=r"^not arxiv-atom: input is not XML"):
        arxiv_atom.parse("http://export.arxiv.org/api/query?search_query=cat:cs.LG")


# -- arXiv RSS --


def test_rss_reads_ids_and_versions_from_the_guid(rss: list[PaperRecord]) -> None:
    assert [(r.arxiv_id, r.arxiv_version) for r in rss] == [
        ("2401.07001", 1),
        ("2401.06890", 1),
        ("2401.01234", 3),
    ]


def test_rss_flags_replace_items_as_replacements(rss: list[PaperRecord]) -> None:
    assert [(r.extra["announce_type"], r.is_replacement) for r in rss] == [
        ("new", False),
        ("cross", False),
        ("replace", True),
    ]


def test_rss_decodes_entities_exactly_once(rss: list[PaperRecord]) -> None:
    first = rss[0]
    assert first.title == "Calibrated Early Exits for Small & Fast Transformers"
    assert "when the margin is < 0.1" in first.abstract
    assert "within 1% of the full model" in first.abstract
    assert first.abstract.endswith("The HTML escape &lt; in our logs is shown as written.")


def test_rss_abstract_is_the_part_after_abstract(rss: list[PaperRecord]) -> None:
    assert rss[0].abstract.startswith("Early-exit transformers stop computing")
    assert rss[1].abstract == (
        "We locate attention heads that copy facts from context in O(1) layers of multilingual"
        " models."
    )
    assert "expert dropout, a regularizer" in rss[2].abstract


def test_rss_splits_dc_creator_and_cleans_tex_accents(rss: list[PaperRecord]) -> None:
    assert rss[0].authors == ["José García", "Ana Núñez", "Wei Zhang"]
    assert rss[1].authors == ["Priya Raman", "Lukas Müller"]
    assert rss[2].authors == ["Marta Raventós", "Wei Zhang", "Ana Núñez"]
    assert rss[0].author_count == 3


def test_rss_featured_on_is_the_announcement_day_as_written(rss: list[PaperRecord]) -> None:
    # 00:00 US Eastern is 05:00 UTC: the same day, but a conversion would move late items.
    assert {r.featured_on for r in rss} == {date(2024, 1, 16)}
    assert {r.published_on for r in rss} == {None}
    assert {r.upvotes for r in rss} == {None}


def test_rss_takes_the_id_and_type_from_the_description_without_guid() -> None:
    data = rss_item(
        "<title>T</title><link>https://arxiv.org/abs/2401.00042</link>"
        "<description>arXiv:2401.00042v4 Announce Type: replace-cross \n"
        "Abstract: Text.</description>"
    )
    (record,) = arxiv_rss.parse(data).records
    assert (record.arxiv_id, record.arxiv_version, record.is_replacement) == ("2401.00042", 4, True)
    assert record.abstract == "Text."


def test_rss_rejects_an_item_without_an_arxiv_id() -> None:
    result = arxiv_rss.parse(rss_item("<title>T</title><description>Nothing.</description>"))
    assert [r.reason for r in result.rejections] == ["no arXiv id"]


def test_an_empty_weekend_feed_is_no_records() -> None:
    result = arxiv_rss.parse(WEEKEND_RSS)
    assert (result.records, result.rejections) == ([], [])


def test_atom_given_as_rss_says_so() -> None:
    with pytest.raises(
        FeedError, match=r"^not arxiv-rss: input is an Atom feed \(try arxiv-atom\)$"
    ):
        arxiv_rss.parse(ATOM)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "^empty input$"),
        (b'[{"paper": {}}]', "^not arxiv-rss: input is not XML"),
        (b"<!DOCTYPE html><html><body>Service unavailable</body></html>", "HTML page"),
    ],
)
def test_what_is_not_a_feed_is_a_feed_error(data: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        arxiv_rss.parse(data)
