"""bulk_insert_rows and bulk_update_rows write what Django's bulk methods would, faster."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from digest.bulk import bulk_insert_rows, bulk_update_rows
from digest.models import Paper

pytestmark = pytest.mark.django_db


def paper(n: int) -> Paper:
    return Paper.objects.create(
        title=f"Paper {n}", title_key=f"paper {n}", featured_on=date(2025, 11, 20)
    )


def test_it_writes_every_kind_of_field_and_only_the_named_ones():
    first, second = paper(1), paper(2)
    observed = datetime(2025, 11, 21, 8, 30, tzinfo=UTC)
    first.upvotes, first.upvotes_observed_at, first.sources = 41, observed, ["hf-json", "hf-page"]
    first.title = "Not written"
    second.upvotes, second.authors, second.published_on = 7, ["Núñez", 'O"Neil'], date(2025, 5, 7)

    count = bulk_update_rows(
        [first, second], ["upvotes", "upvotes_observed_at", "sources", "authors", "published_on"]
    )

    assert count == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.upvotes, first.upvotes_observed_at, first.sources) == (
        41,
        observed,
        ["hf-json", "hf-page"],
    )
    assert first.title == "Paper 1"
    assert (second.upvotes, second.authors, second.published_on) == (
        7,
        ["Núñez", 'O"Neil'],
        date(2025, 5, 7),
    )


def test_it_handles_more_rows_than_one_batch_and_nulls():
    papers = [paper(n) for n in range(1, 1203)]
    for p in papers:
        p.upvotes = p.pk % 97
        p.arxiv_version = None if p.pk % 2 else 3

    assert bulk_update_rows(papers, ["upvotes", "arxiv_version"]) == len(papers)

    stored = dict(Paper.objects.values_list("pk", "upvotes"))
    assert all(stored[p.pk] == p.pk % 97 for p in papers)
    assert Paper.objects.filter(arxiv_version=3).count() == len(papers) // 2


def test_nothing_to_write_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk_update_rows([], ["upvotes"]) == 0


def test_bulk_insert_sets_primary_keys_in_order_and_defaults():
    papers = [
        Paper(title=f"New {n}", title_key=f"new {n}", featured_on=date(2025, 11, 20),
              authors=[f"Author {n}"])
        for n in range(1, 1203)
    ]  # fmt: skip

    bulk_insert_rows(papers)

    stored = dict(Paper.objects.values_list("pk", "title"))
    assert [stored[p.pk] for p in papers] == [p.title for p in papers]
    assert Paper.objects.get(pk=papers[0].pk).authors == ["Author 1"]
    assert Paper.objects.get(pk=papers[-1].pk).updated_at is not None
