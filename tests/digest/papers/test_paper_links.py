"""A paper's title always links somewhere useful, over HTTPS."""

from __future__ import annotations

from datetime import date

from digest.models import Paper


def paper(**fields) -> Paper:
    return Paper(title="ZeroSearch: search", featured_on=date(2025, 11, 20), **fields)


def test_hf_listed_papers_link_to_their_hf_page():
    assert paper(arxiv_id="2505.04588", sources=["hf-json"]).url == (
        "https://huggingface.co/papers/2505.04588"
    )


def test_arxiv_only_papers_link_to_the_abstract_page():
    assert paper(arxiv_id="cs/0101001", sources=["arxiv-rss"]).url == (
        "https://arxiv.org/abs/cs/0101001"
    )


def test_papers_without_an_id_link_to_a_search_that_finds_them():
    assert paper(sources=["hf-page"]).url == "https://huggingface.co/papers?q=ZeroSearch%3A+search"
    assert paper(sources=["arxiv-atom"]).url == (
        "https://arxiv.org/search/?query=ZeroSearch%3A+search&searchtype=title"
    )


def test_a_project_page_is_better_than_a_search():
    assert paper(sources=["hf-page"], project_page="https://zs.example.org").url == (
        "https://zs.example.org"
    )
