# Look-alike characters (Greek letters, curly quotes, dashes) are the point of these cases.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import date

import pytest

from digest.papers.ingestion.text import (
    clean_text,
    normalize_title,
    parse_arxiv_id,
    parse_iso_date,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"a {\it sparse} model", "a sparse model"),
        (r"\textsc{LoRA} and \emph{tiny} \textbf{\textit{nested}}", "LoRA and tiny nested"),
        (r"{\bf bold} and {\em emphasis}", "bold and emphasis"),
        (r"\texttt{code} in \mathrm{text}", "code in text"),
        ("can be {it misaligned} with pass@N", "can be misaligned with pass@N"),
        ("Inference Scaling scriptsizeFLaws: The Limits", "Inference Scaling FLaws: The Limits"),
        (r"improves by 16.9\% and 12.5\%", "improves by 16.9% and 12.5%"),
        ("found here{https://github.com/a/b}.", "found here https://github.com/a/b."),
        ("(e.g., ``let's think step by step'' )", '(e.g., "let\'s think step by step" )'),
        (
            "Feed-Forward Network~(FFN) and g(f(X)) ~= X",
            "Feed-Forward Network (FFN) and g(f(X)) ~= X",
        ),
        (r"\href{https://x.org}{our site}", "our site (https://x.org)"),
    ],
)
def test_it_strips_markup_macros_and_page_leftovers(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"runs in $\mathcal{O}(n)$ time", "runs in O(n) time"),
        (r"${\it x}$-sparse", "x-sparse"),
        (r"an $\alpha$-divergence", "an α-divergence"),
        (r"$O(n^{2})$ and $10^{-3}$", "O(n^2) and 10^(-3)"),
        (r"$x \in \mathbb{R}^{d}$", "x ∈ R^d"),
        (r"$\frac{1}{2}$ of $\sqrt{n}$", "1/2 of √n"),
        (r"$\tilde{O}(\sqrt{T})$ regret", "Õ(√T) regret"),
        (r"with $\{0, 1\}$ labels", "with {0, 1} labels"),
    ],
)
def test_it_keeps_math_readable_as_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_it_keeps_math_commands_it_does_not_know() -> None:
    assert clean_text(r"the $\mysymbol{x}$ term") == r"the \mysymbol{x} term"


def test_dollar_amounts_are_not_math() -> None:
    assert clean_text("costs $5 and $10 per run") == "costs $5 and $10 per run"
    assert clean_text(r"only \$5") == "only $5"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"Garc\'ia", "García"),
        (r"Rav{\'e}nt{\'o}s", "Ravéntós"),
        (r"Ravent{\'o}s", "Raventós"),
        (r"N\'u\~nez", "Núñez"),
        (r"M\"{u}ller and \c{C}elik", "Müller and Çelik"),
        (r"Erd\H{o}s, Erd\H os", "Erdős, Erdős"),
        (r"Mart\'{\i}n", "Martín"),
        (r"{\o}rsted and Stra{\ss}e", "ørsted and Straße"),
    ],
)
def test_it_turns_tex_accents_into_letters(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_it_decodes_entities_exactly_once() -> None:
    assert clean_text("x &lt; y &amp; z") == "x < y & z"
    assert clean_text("&amp;lt; is how you write &lt;") == "&lt; is how you write <"


def test_text_an_xml_parser_decoded_is_not_decoded_again() -> None:
    assert clean_text("&lt; stays", decode_entities=False) == "&lt; stays"


def test_it_collapses_whitespace_and_newlines() -> None:
    assert clean_text("  a\n  b\t\tc \r\n d  ") == "a b c d"


def test_plain_text_is_left_as_it_is() -> None:
    assert clean_text("AT&T's 3 < 4 results") == "AT&T's 3 < 4 results"


def test_normalize_title_ignores_case_accents_and_punctuation() -> None:
    assert normalize_title("Zero-Shot: Núñez’s ÉCOLE — Test!") == "zero shot nunez s ecole test"
    assert normalize_title("ZERO–SHOT  Núñez's école test") == normalize_title(
        "Zero-Shot: Nunez's Ecole, Test"
    )


def test_normalize_title_is_at_most_255_characters() -> None:
    assert len(normalize_title("word " * 200)) <= 255


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2401.01234", ("2401.01234", None)),
        ("2401.01234v2", ("2401.01234", 2)),
        ("arXiv:2401.01234v2", ("2401.01234", 2)),
        ("http://arxiv.org/abs/2401.01234v2", ("2401.01234", 2)),
        ("https://arxiv.org/pdf/2401.01234v3.pdf", ("2401.01234", 3)),
        ("https://arxiv.org/pdf/2401.01234", ("2401.01234", None)),
        ("oai:arXiv.org:2401.01234v2", ("2401.01234", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.CA/0611800v2", ("math.CA/0611800", 2)),
        ("cs/0101001", ("cs/0101001", None)),
        ("solv-int/9901001v1", ("solv-int/9901001", 1)),
        ("http://arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
    ],
)
def test_parse_arxiv_id_reads_every_way_arxiv_writes_ids(
    raw: str, expected: tuple[str, int | None]
) -> None:
    assert parse_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "foo",
        "2413.01234",
        "1501.0001",
        "1412.00001",
        "2401.01234v0",
        "http://arxiv.org/api/errors#x",
    ],
)
def test_parse_arxiv_id_refuses_what_is_not_an_id(raw: str) -> None:
    assert parse_arxiv_id(raw) is None


def test_parse_iso_date_reads_the_date_the_api_wrote() -> None:
    assert parse_iso_date("2026-02-26T23:08:18.000-05:00") == date(2026, 2, 26)
    assert parse_iso_date("2026-03-06T03:55:12.777Z") == date(2026, 3, 6)
    assert parse_iso_date("2024-01-02") == date(2024, 1, 2)
    assert parse_iso_date("yesterday") is None
    assert parse_iso_date(None) is None
