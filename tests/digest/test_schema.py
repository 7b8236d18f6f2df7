"""The indexes serve the lookups the code makes, and no key pays for two of them."""

from __future__ import annotations

import pytest
from django.db import connection

from digest.models import DeliveryPaper

pytestmark = pytest.mark.django_db


def indexed_columns(table: str) -> list[list[str]]:
    """The columns of every index of `table`, unique constraints' included, in order."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [c["columns"] for c in constraints.values() if c["index"] or c["unique"]]


def test_a_digests_papers_are_indexed_by_delivery_and_subscriber_and_not_by_paper():
    # Sending reads them by delivery and by subscriber (what each reader was sent before).
    # Nothing reads them by paper (papers are hidden, not deleted), and a batch's rows
    # would land all over such an index.
    leading = {columns[0] for columns in indexed_columns(DeliveryPaper._meta.db_table)}

    # PostgreSQL lists the primary key's index too; SQLite keeps its rows by it.
    assert leading - {DeliveryPaper._meta.pk.column} == {"delivery_id", "subscriber_id"}


def test_no_column_of_a_digests_papers_has_an_index_of_its_own_that_another_leads_with():
    # Every paper of every digest writes each index once: one that repeats the first
    # column of another is a write for nothing.
    found = indexed_columns(DeliveryPaper._meta.db_table)
    wider = {columns[0] for columns in found if len(columns) > 1}

    assert [columns for columns in found if len(columns) == 1 and columns[0] in wider] == []
