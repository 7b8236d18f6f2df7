"""bulk_insert_rows, insert_rows, bulk_update_rows and update_rows write what Django's bulk
methods would, faster."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from digest.bulk import _preparer, bulk_insert_rows, bulk_update_rows, insert_rows, update_rows
from digest.models import Delivery, Paper, PaperTopic, Topic
from subscriptions.models import Subscriber

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
        Paper(
            title=f"New {n}",
            title_key=f"new {n}",
            featured_on=date(2025, 11, 20),
            authors=[f"Author {n}"],
        )
        for n in range(1, 1203)
    ]

    bulk_insert_rows(papers)

    stored = dict(Paper.objects.values_list("pk", "title"))
    assert [stored[p.pk] for p in papers] == [p.title for p in papers]
    assert Paper.objects.get(pk=papers[0].pk).authors == ["Author 1"]
    assert Paper.objects.get(pk=papers[-1].pk).updated_at is not None


def test_a_batch_is_the_same_statement_whatever_its_number_of_rows_on_sqlite():
    # A statement per row count would leave one prepared statement per count in each
    # connection's cache (sqlite3 keeps 128), megabytes each for large batches.
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's unnest() statement is one text by construction")
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    for count in (3, 7):
        papers = [
            Paper(
                title=f"Row {count}.{n}",
                title_key=f"row {count}.{n}",
                featured_on=date(2025, 11, 20),
            )
            for n in range(count)
        ]
        with connection.execute_wrapper(record):
            bulk_insert_rows(papers)
            for p in papers:
                p.upvotes = 5
            bulk_update_rows(papers, ["upvotes"])

    assert len(statements) == 6  # insert, its last key, update; for 3 rows, then for 7
    assert statements[:3] == statements[3:]
    assert Paper.objects.filter(title__startswith="Row 7.", upvotes=5).count() == 7


def test_the_keys_returned_are_the_rows_written_even_after_the_newest_rows_were_deleted():
    kept = paper(1)
    Paper.objects.filter(pk__in=[paper(2).pk, paper(3).pk]).delete()
    rows = [(f"After {n}", f"after {n}", date(2025, 11, 20)) for n in range(4)]

    keys = insert_rows(Paper, ("title", "title_key", "featured_on"), rows)

    assert len(set(keys)) == 4 and kept.pk not in keys
    stored = dict(Paper.objects.filter(pk__in=keys).values_list("pk", "title"))
    assert [stored[key] for key in keys] == ["After 0", "After 1", "After 2", "After 3"]


def test_text_with_a_nul_is_written_exactly_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL refuses NUL in text columns")
    first = Paper(title="A\x00B", title_key="a\x00b", featured_on=date(2025, 11, 20))
    bulk_insert_rows([first])
    first.abstract = "before\x00after"
    bulk_update_rows([first], ["abstract"])

    stored = Paper.objects.get(pk=first.pk)
    assert (stored.title, stored.abstract) == ("A\x00B", "before\x00after")


def test_plain_rows_are_stored_as_the_orm_would_store_them_whatever_their_python_types():
    first, second = paper(1), paper(2)
    topic = Topic.objects.create(name="Agents", slug="agents")
    # Plain values go as they are; an enum member, a string for a number and an int for a
    # float go through the field's own conversion.
    rows = [
        (first.pk, topic.pk, 0.75, "auto"),
        (str(second.pk), topic.pk, 1, PaperTopic.Source.EDITOR),
    ]

    ids = insert_rows(PaperTopic, ("paper", "topic", "score", "source"), rows)

    stored = {t.pk: (t.paper_id, t.score, t.source) for t in PaperTopic.objects.all()}
    assert stored == {ids[0]: (first.pk, 0.75, "auto"), ids[1]: (second.pk, 1.0, "editor")}


def test_columns_left_out_of_plain_rows_take_the_models_defaults():
    reader = Subscriber.objects.create(email="ria@example.com")
    day = date(2026, 11, 26)

    [pk] = insert_rows(
        Delivery,
        ("subscriber", "period", "window_start", "window_end"),
        [(reader.pk, "daily:2026-11-26", day, day)],
    )

    stored = Delivery.objects.get(pk=pk)
    assert (stored.subscriber_id, stored.period, stored.window_start) == (
        reader.pk,
        "daily:2026-11-26",
        day,
    )
    assert (stored.status, stored.attempts, stored.subject, stored.sent_at) == (
        "queued",
        0,
        "",
        None,
    )
    assert stored.created_at is not None and stored.updated_at is not None


def test_rows_of_database_values_go_as_they_are_with_the_defaults_after_them(monkeypatch):
    first, second = paper(1), paper(2)
    topic = Topic.objects.create(name="Agents", slug="agents")

    def converted(*args: object) -> None:
        raise AssertionError("prepared rows were converted again")

    monkeypatch.setattr("digest.bulk._prepared", converted)

    ids = insert_rows(
        PaperTopic,
        ("paper", "topic", "score"),
        [(first.pk, topic.pk, 0.5), (second.pk, topic.pk, 0.25)],
        prepared=True,
    )

    stored = {t.pk: (t.paper_id, t.score, t.source) for t in PaperTopic.objects.all()}
    assert stored == {ids[0]: (first.pk, 0.5, "editor"), ids[1]: (second.pk, 0.25, "editor")}


def test_a_column_named_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        insert_rows(PaperTopic, ("paper", "topic", "paper"), [(1, 1, 1)])


def test_plain_rows_update_the_named_columns_of_the_rows_named_by_key():
    first, second = paper(1), paper(2)

    assert (
        update_rows(Paper, ["upvotes", "title"], [(first.pk, 5, "One"), (second.pk, 6, "Two")]) == 2
    )

    assert sorted(Paper.objects.values_list("upvotes", "title", "title_key")) == [
        (5, "One", "paper 1"),
        (6, "Two", "paper 2"),
    ]


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_every_value_is_prepared_exactly_as_the_field_itself_would():
    samples = [
        None,
        0,
        7,
        True,
        1.5,
        "text",
        date(2025, 11, 20),
        datetime(2025, 11, 21, 8, 30, tzinfo=UTC),
        ["Núñez", 'O"Neil'],
        {"a": [1, 2]},
    ]
    for field in Paper._meta.concrete_fields:
        prepare = _preparer(field, connection)
        for value in samples:
            try:
                expected = field.get_db_prep_save(value, connection)
            except (TypeError, ValueError, ValidationError):
                continue  # not a value this field takes at all
            # PostgreSQL's JSON adapter wraps the value (and compares by identity).
            assert unwrapped(prepare(value)) == unwrapped(expected), (field.name, value)


def unwrapped(value: object) -> object:
    return getattr(value, "obj", value)


def test_rows_sharing_a_moment_and_rows_that_do_not_each_keep_their_own():
    reader = Subscriber.objects.create(email="ria@example.com")
    day = date(2026, 11, 26)
    early, late = datetime(2026, 11, 26, 7, tzinfo=UTC), datetime(2026, 11, 26, 9, tzinfo=UTC)
    moments = [early, late, early, late, late]

    ids = insert_rows(
        Delivery,
        ("subscriber", "period", "window_start", "window_end", "created_at"),
        [(reader.pk, f"daily:{n}", day, day, moment) for n, moment in enumerate(moments)],
    )

    stored = dict(Delivery.objects.values_list("pk", "created_at"))
    assert [stored[pk] for pk in ids] == moments
