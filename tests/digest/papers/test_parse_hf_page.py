from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from digest.papers.ingestion import hf_page
from digest.papers.ingestion.records import FeedError, PaperRecord
from tests.support.paths import ROOT

SEED = ROOT / "seeds" / "daily_papers_2025-11-20.txt"
PAGE_DAY = date(2025, 11, 20)
HEADER = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
    "byAK and the research community\n\nNov 20\n\n"
)


def page(*entries: str) -> str:
    return HEADER + "\n\n".join(entries) + "\n"


def entry(title: str, date_line: str = "May 7 8", who: str = "  • 3 authors") -> str:
    return f"{title}\n\nAn abstract about {title}.\n\n{who}\n·\n{date_line}"


@pytest.fixture(scope="module")
def seed() -> list[PaperRecord]:
    result = hf_page.parse(SEED.read_text(encoding="utf-8"), PAGE_DAY)
    assert result.rejections == []
    return result.records


def by_title(records: list[PaperRecord], start: str) -> PaperRecord:
    (found,) = [r for r in records if r.title.startswith(start)]
    return found


def test_it_reads_all_65_entries_of_the_seed_page(seed: list[PaperRecord]) -> None:
    assert len(seed) == 65
    assert [r.position for r in seed] == list(range(1, 66))
    assert seed[0].title == "Adaptive Confidence Smoothing for Generalized Zero-Shot Learning"
    assert seed[-1].title.startswith("Lotus: Diffusion-based Visual Foundation Model")


def test_it_reads_zerosearch_date_upvotes_and_authors(seed: list[PaperRecord]) -> None:
    zerosearch = by_title(seed, "ZeroSearch")
    assert zerosearch.published_on == date(2025, 5, 7)
    assert zerosearch.upvotes == 8
    assert zerosearch.author_count == 9
    assert zerosearch.organization is None
    assert zerosearch.abstract.startswith("Effective information searching is essential")


def test_it_takes_the_organization_from_an_avatar_and_name_line(seed: list[PaperRecord]) -> None:
    (google,) = [r for r in seed if r.organization]
    assert google.organization == "Google"
    assert google.title == "LLM-guided Hierarchical Retrieval"
    assert google.author_count is None
    assert (google.published_on, google.upvotes) == (date(2025, 10, 15), 2)


def test_it_keeps_the_two_entries_without_metadata(seed: list[PaperRecord]) -> None:
    bare = [r for r in seed if r.published_on is None]
    assert [r.title for r in bare] == [
        "General-Reasoner: Advancing LLM Reasoning Across All Domains",
        "Absolute Zero: Reinforced Self-play Reasoning with Zero Data",
    ]
    for record in bare:
        assert record.upvotes == 0
        assert record.author_count is None
        assert record.abstract.startswith("Reinforcement learning")


def test_the_entry_after_one_without_metadata_keeps_its_own(seed: list[PaperRecord]) -> None:
    after = by_title(seed, "Generative Query Reformulation")
    assert (after.published_on, after.author_count) == (date(2024, 5, 27), 3)


def test_dates_with_and_without_year_and_upvotes(seed: list[PaperRecord]) -> None:
    assert by_title(seed, "Adaptive Confidence Smoothing").published_on == date(2018, 12, 24)
    assert by_title(seed, "Adaptive Confidence Smoothing").upvotes == 0
    assert by_title(seed, "DeepZero").published_on == date(2023, 10, 3)
    assert by_title(seed, "DeepZero").upvotes == 2
    assert by_title(seed, "Rethinking Fine-Tuning").published_on == date(2025, 2, 10)


def test_one_authors_is_read_as_one(seed: list[PaperRecord]) -> None:
    assert by_title(seed, "On Zero-Shot Reinforcement Learning").author_count == 1


def test_it_cleans_latex_leftovers(seed: list[PaperRecord]) -> None:
    rethinking = by_title(seed, "Rethinking Fine-Tuning")
    assert "can be misaligned with pass@N" in rethinking.abstract
    assert "{it" not in rethinking.abstract
    assert by_title(seed, "Inference Scaling").title.startswith("Inference Scaling FLaws:")
    assert "unique identifiers" in by_title(seed, "Protecting Copyrighted").abstract


def test_every_entry_is_featured_on_the_page_day(seed: list[PaperRecord]) -> None:
    assert {r.featured_on for r in seed} == {PAGE_DAY}
    assert {r.source for r in seed} == {"hf-page"}


def test_observed_at_is_the_end_of_the_page_day_in_utc(seed: list[PaperRecord]) -> None:
    assert {r.observed_at for r in seed} == {datetime.combine(PAGE_DAY, time.max, tzinfo=UTC)}


def test_observed_at_is_never_later_than_now() -> None:
    now = datetime(2025, 11, 20, 9, 30, tzinfo=UTC)
    result = hf_page.parse(page(entry("A Paper")), PAGE_DAY, now=now)
    assert result.records[0].observed_at == now


def test_a_date_without_a_year_takes_the_page_year() -> None:
    result = hf_page.parse(page(entry("A Paper", "Nov 20 4")), PAGE_DAY)
    assert result.records[0].published_on == date(2025, 11, 20)


def test_a_date_after_the_page_day_belongs_to_the_year_before() -> None:
    result = hf_page.parse(page(entry("A Paper", "Dec 24 3"), entry("B Paper", "Nov 21")), PAGE_DAY)
    assert [r.published_on for r in result.records] == [date(2024, 12, 24), date(2024, 11, 21)]


def test_february_29_goes_to_the_last_leap_year() -> None:
    result = hf_page.parse(page(entry("A Paper", "Feb 29")), date(2025, 3, 1))
    assert result.records[0].published_on == date(2024, 2, 29)


def test_an_unparseable_date_rejects_that_entry_and_keeps_the_rest() -> None:
    text = page(entry("A Paper"), entry("Broken Paper", "Foo 99"), entry("C Paper"))
    result = hf_page.parse(text, PAGE_DAY)
    assert [r.title for r in result.records] == ["A Paper", "C Paper"]
    (rejection,) = result.rejections
    assert (rejection.position, rejection.label) == (2, "Broken Paper")
    assert rejection.reason == "unparseable date 'Foo 99'"
    assert str(rejection) == "entry 2 (Broken Paper): unparseable date 'Foo 99'"


def test_an_organization_line_that_does_not_repeat_is_kept_whole() -> None:
    text = page(entry("A Paper", who="meta-llama Meta Llama"), entry("B", who="Allen Institute"))
    assert [r.organization for r in hf_page.parse(text, PAGE_DAY).records] == [
        "Meta Llama",
        "Allen Institute",
    ]


def test_it_copes_with_crlf_tabs_and_trailing_spaces() -> None:
    text = page(
        "A Paper  \n \nAn abstract about A Paper.\n\n  • 3 authors\n·\nMay 7 8",
        "\tB Paper\t\n\t\nAbstract B.   \n\n  • 2 authors  \n·  \nOct 3, 2023 2 ",
    )
    result = hf_page.parse(text.replace("\n", "\r\n"), PAGE_DAY)
    assert [(r.title, r.abstract, r.upvotes) for r in result.records] == [
        ("A Paper", "An abstract about A Paper.", 8),
        ("B Paper", "Abstract B.", 2),
    ]
    assert result.records[1].published_on == date(2023, 10, 3)


def test_a_byte_order_mark_does_not_become_a_title() -> None:
    records = hf_page.parse("\ufeff" + page(entry("A Paper")), PAGE_DAY).records
    assert [r.title for r in records] == ["A Paper"]


def test_a_title_paragraph_of_several_lines_gives_the_rest_to_the_abstract() -> None:
    text = page("A Paper\nFirst abstract line,\nsecond line.\n\n  • 2 authors\n·\nMay 7")
    (record,) = hf_page.parse(text, PAGE_DAY).records
    assert (record.title, record.abstract) == ("A Paper", "First abstract line, second line.")


def test_an_entry_without_an_abstract_is_kept() -> None:
    text = page("A Paper\n\n  • 2 authors\n·\nMay 7", "B Paper", entry("C Paper"))
    records = hf_page.parse(text, PAGE_DAY).records
    assert [(r.title, r.abstract) for r in records] == [
        ("A Paper", ""),
        ("B Paper", ""),
        ("C Paper", "An abstract about C Paper."),
    ]
    assert [r.published_on for r in records] == [date(2025, 5, 7), None, date(2025, 5, 7)]


def test_a_title_followed_by_another_title_has_no_abstract() -> None:
    text = page("A Paper", entry("B Paper"))
    records = hf_page.parse(text, PAGE_DAY).records
    assert [(r.title, r.abstract) for r in records] == [
        ("A Paper", ""),
        ("B Paper", "An abstract about B Paper."),
    ]


def test_an_empty_file_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match=r"empty input"):
        hf_page.parse("", PAGE_DAY)
    with pytest.raises(FeedError, match=r"empty input"):
        hf_page.parse(" \r\n\t\n", PAGE_DAY)


def test_a_page_with_only_its_header_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match=r"no paper entries"):
        hf_page.parse(HEADER, PAGE_DAY)


def test_json_given_as_a_page_says_so() -> None:
    with pytest.raises(FeedError, match=r"^not hf-page: input looks like JSON"):
        hf_page.parse('[{"paper": {"id": "2401.01234"}}]', PAGE_DAY)
