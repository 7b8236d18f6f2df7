"""Followed names match however they are typed: case, accents, hyphens, dots and spacing."""

from __future__ import annotations

import pytest

from digest.papers.names import NameMatcher, normalize_name, split_names


@pytest.mark.parametrize(
    ("typed", "listed"),
    [
        ("yann lecun", "Yann LeCun"),
        ("YANN LECUN", "Yann LeCun"),
        ("Jose Garcia", "José García"),
        ("Francois Fleuret", "François Fleuret"),
        ("Jean Pierre Levy", "Jean-Pierre Lévy"),
        ("jean-pierre levy", "Jean Pierre LÉVY"),
        ("J. P. Levy", "J.-P. Lévy"),
        ("J P Levy", "J.P. Levy"),
        ("  Fei-Fei   Li ", "Fei-Fei Li"),
        ("Fei Fei Li", "Fei\u2011Fei Li"),  # a non-breaking hyphen
        ("Lukasz Kaiser", "Łukasz Kaiser"),
        ("Soren Hauberg", "Søren Hauberg"),
        ("Google DeepMind", "google  deepmind"),
        ("Meta AI", "Meta\u00a0AI"),  # a non-breaking space
    ],
)
def test_names_typed_differently_are_the_same_name(typed, listed):
    assert normalize_name(typed) == normalize_name(listed)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Yann LeCun", "Yann LeCunn"),
        ("Jean Pierre", "Jeanpierre"),
        ("Li Fei", "Fei Li"),
        ("Anna Smith", "Hanna Smith"),
    ],
)
def test_different_names_stay_different(one, other):
    assert normalize_name(one) != normalize_name(other)


def test_the_normal_form_is_lower_case_words_separated_by_one_space():
    assert normalize_name("  Jean-Pierre   LÉVY. ") == "jean pierre levy"


def test_names_in_other_scripts_are_kept():
    assert normalize_name("张 伟") == "张 伟"


def test_a_comma_separated_list_gives_its_names_as_typed():
    assert split_names(" Yann LeCun,, Fei-Fei Li ,") == ("Yann LeCun", "Fei-Fei Li")
    assert split_names("") == ()


def test_the_matcher_finds_followed_names_among_a_papers_authors():
    followed = NameMatcher([normalize_name("Jose Garcia"), normalize_name("Yann LeCun")])

    assert followed(["Ana Silva", "José García", "Tom Becker"]) == {"jose garcia"}
    assert followed(["Yann LeCun", "Jose-Garcia"]) == {"yann lecun", "jose garcia"}
    assert followed(["Yann LeCunn", "Ana Silva"]) == set()
    assert followed([]) == set()


def test_the_matcher_needs_the_whole_name_not_one_word_of_it():
    followed = NameMatcher([normalize_name("Yann LeCun")])

    assert followed(["Yann Dauphin", "Alexandre LeCun"]) == set()


def test_a_matcher_following_nobody_finds_nothing():
    assert NameMatcher([])(["Yann LeCun"]) == set()


def test_an_ascii_paper_with_no_word_of_a_followed_name_is_ruled_out_before_normalising(
    monkeypatch,
):
    from digest.papers import names

    followed = NameMatcher([normalize_name("Yann LeCun")])
    calls = []

    def counted(name: str) -> str:
        calls.append(name)
        return name

    monkeypatch.setattr(names, "normalize_name", counted)

    assert followed(["Ana Silva", "Tom Becker"]) == set()
    assert calls == []
    followed(["Ana Silva", "José García"])  # not ASCII: normalised to be sure
    assert len(calls) == 1
