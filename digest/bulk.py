"""Fast bulk writes for the hot paths (ingestion, a digest's chosen papers): one short
statement per batch of rows.

Django's bulk_update builds a CASE WHEN expression per row and field and resolves each
through the ORM, about 0.1 ms per value in Python: 10,000 papers with three changed fields
took 10 s. bulk_create compiles less but still spends most of its time in the ORM, and on
PostgreSQL a statement with 12,000 placeholders costs psycopg more to parse than the
server to run.

So the values are prepared directly (what Field.get_db_prep_save returns, for the common
types straight from the backend's adapters; `insert_rows` takes plain tuples, no model
instances) and sent as:
- PostgreSQL: one array per column, unnest()ed into rows: a short statement, whatever
  the batch size;
- SQLite, inserting: one single-row statement run for every row (executemany), the new
  keys worked out from the last one (see _insert_many_sqlite);
- SQLite, updating, or inserting what may conflict (3.35+ for RETURNING): the rows as one
  JSON array, read back by json_each(): a short statement too. A VALUES list has a
  different SQL text for every row count, and Python's sqlite3 keeps each connection's last
  128 prepared statements, at about 100 bytes per value (2.5 MB for 5,000 rows of five): a
  long-lived connection piled up one-off statements by the hundred megabytes. Values JSON
  cannot carry exactly (bytes, a NUL in a string, NaN) still go as a VALUES list.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.options import Options

T = TypeVar("T")

BATCH = 5_000  # rows; on SQLite also at most its variable limit


def bulk_insert_rows(objs: Sequence[models.Model], *, ignore_conflicts: bool = False) -> list[int]:
    """INSERT new objects (all one model, auto primary key); returns the new primary keys.

    Without `ignore_conflicts` every object gets its primary key. With it, rows that would
    break a unique constraint are left out (ON CONFLICT DO NOTHING) and only the keys of the
    rows actually inserted come back, in order, without being set on the objects.
    """
    if not objs:
        return []
    meta = objs[0]._meta
    fields = _columns(meta)
    rows = [[field.pre_save(obj, add=True) for field in fields] for obj in objs]
    inserted = insert_rows(
        type(objs[0]), [f.name for f in fields], rows, ignore_conflicts=ignore_conflicts
    )
    if not ignore_conflicts:
        alias = _connection(type(objs[0])).alias
        # Both databases return the ids in the order the rows were given.
        for obj, pk in zip(objs, inserted, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = alias
    return inserted


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    prepared: bool = False,
) -> list[int]:
    """INSERT rows given as plain values, in the order of `fields`; returns the new primary
    keys, in order (with `ignore_conflicts`, of the rows actually inserted). The columns
    not in `fields` (but the auto primary key) take their model default, the same for
    every row, as a new instance would have it (auto_now: the moment of this call).

    `prepared`: the values are already what the database takes (ints, strings, None), as
    the caller guarantees, and go as they are. A digest's papers are 6,500 rows a batch,
    and converting each value again (to itself) was a third of storing them.

    For the hot paths that would otherwise build a model instance per row only to read its
    values back: a digest's papers, a paper's topics, the planned deliveries.
    """
    if not rows:
        return []
    meta = model._meta
    columns = [_concrete(meta.get_field(name)) for name in fields]
    given = {f.name for f in columns}
    if len(given) != len(columns):
        raise ValueError(f"insert_rows was given a column of {meta.label} twice")
    connection = _connection(model)
    prepare = [_preparer(field, connection) for field in columns]
    # The defaults are the same for every row: prepared once.
    rest = [f for f in _columns(meta) if f.name not in given]
    defaults = []
    if rest:
        template = model()
        defaults = [_preparer(f, connection)(f.pre_save(template, add=True)) for f in rest]
    columns += rest
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    if (
        connection.vendor == "sqlite"
        and not ignore_conflicts
        and meta.pk.get_internal_type() in _AUTO_KEYS
    ):
        values = _values(prepare, rows, defaults, prepared)
        return _insert_many_sqlite(connection, meta, names, values)
    inserted: list[int] = []
    with connection.cursor() as cursor:
        for batch in _batches(connection, rows, len(columns)):
            values = _values(prepare, batch, defaults, prepared)
            source, params = _rows_source(connection, columns, values)
            # "WHERE true" lets SQLite tell the upsert clause from a join condition.
            conflict = " WHERE true ON CONFLICT DO NOTHING" if ignore_conflicts else ""
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM {source}"
                f"{conflict} RETURNING {quote(meta.pk.column)}",
                params,
            )
            inserted.extend(pk for (pk,) in cursor.fetchall())
    return inserted


_AUTO_KEYS = frozenset({"AutoField", "BigAutoField", "SmallAutoField"})


def _insert_many_sqlite(
    connection: BaseDatabaseWrapper, meta: Options, names: str, values: Sequence[Sequence[Any]]
) -> list[int]:
    """INSERT one prepared statement for every row (executemany), and the new keys.

    A JSON array is slower here for wide rows: json_extract() costs SQLite about 3 µs per
    value, 0.7 s for 10,000 papers of 23 columns against 0.15 s for executemany, and
    encoding the JSON another 0.3 s. It also binds every value exactly as given (bytes, NUL).
    executemany returns no rows, so the keys are worked out: inside the transaction, which
    holds SQLite's only write lock, each new row gets one more than the largest key (with
    AUTOINCREMENT, the largest ever), so the rows got the len(values) keys up to
    last_insert_rowid(), in order.
    """
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(values[0]))
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({placeholders})", values
        )
        cursor.execute("SELECT last_insert_rowid()")
        (last,) = cursor.fetchone()
    return list(range(last - len(values) + 1, last + 1))


# Values of these types go to the database as they are for fields of these internal types:
# what get_db_prep_save would return for them, at a fraction of a microsecond instead of one
# or two (a digest's papers, a day's papers and their topics are thousands of values).
_AS_IS: dict[str, type] = {
    "AutoField": int,
    "BigAutoField": int,
    "SmallAutoField": int,
    "IntegerField": int,
    "BigIntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveBigIntegerField": int,
    "PositiveSmallIntegerField": int,
    "FloatField": float,
    "BooleanField": bool,
    "CharField": str,
    "TextField": str,
    "SlugField": str,
}


def _values(
    prepare: Sequence[Callable[[Any], Any]],
    rows: Sequence[Sequence[Any]],
    defaults: Sequence[Any],
    prepared: bool,
) -> Sequence[Sequence[Any]]:
    """The rows' values as the database takes them, then the defaults."""
    if not prepared:
        return _prepared(prepare, rows, defaults)
    return [[*row, *defaults] for row in rows] if defaults else rows


def _prepared(
    prepare: Sequence[Callable[[Any], Any]],
    rows: Sequence[Sequence[Any]],
    then: Sequence[Any] = (),
) -> list[list[Any]]:
    """Each row's values as the database takes them, by the column's _preparer, followed
    by the values `then` (already prepared)."""
    tail = list(then)
    return [
        [to_db(value) for to_db, value in zip(prepare, row, strict=True)] + tail for row in rows
    ]


def _preparer(field: models.Field, connection: BaseDatabaseWrapper) -> Callable[[Any], Any]:
    """A function giving a value of this field as the database takes it: what
    get_db_prep_save returns, straight from the backend's adapter for the common types."""
    target = getattr(field, "target_field", field)  # a foreign key's is the key it holds
    kind = target.get_internal_type()
    prep = field.get_db_prep_save
    ops = connection.ops
    if kind == "DateField":

        def date_to_db(v: Any) -> Any:
            if v is None:
                return None
            return ops.adapt_datefield_value(v) if type(v) is date else prep(v, connection)

        return date_to_db
    if kind == "DateTimeField":
        # Rows often share a moment (when they were made, a send time): each is adapted
        # once (10 us on SQLite, a conversion to UTC and to text).
        adapted: dict[datetime, Any] = {}

        def datetime_to_db(v: Any) -> Any:
            if v is None:
                return None
            # Only aware ones: a naive one is made aware first, with a warning.
            if type(v) is datetime and v.utcoffset() is not None:
                found = adapted.get(v)
                if found is None:
                    found = adapted[v] = ops.adapt_datetimefield_value(v)
                return found
            return prep(v, connection)

        return datetime_to_db
    if kind == "JSONField":
        encoder = getattr(field, "encoder", None)
        return lambda v: (
            ops.adapt_json_value(v, encoder) if type(v) in (list, dict) else prep(v, connection)
        )
    as_is = _AS_IS.get(kind)
    return lambda v: v if v is None or type(v) is as_is else prep(v, connection)


def _columns(meta: Options) -> list[models.Field]:
    return [field for field in meta.concrete_fields if field is not meta.pk]


def bulk_update_rows(objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Write `fields` of every object in `objs` (all one model) to the database."""
    if not objs or not fields:
        return 0
    meta = objs[0]._meta
    attnames = [meta.pk.attname, *(_concrete(meta.get_field(name)).attname for name in fields)]
    rows = [[getattr(obj, name) for name in attnames] for obj in objs]
    return update_rows(type(objs[0]), fields, rows)


def update_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """Write `fields` of rows given as plain values: each the primary key, then the values
    in the order of `fields`. Returns how many rows matched."""
    if not rows or not fields:
        return 0
    meta = model._meta
    connection = _connection(model)
    quote = connection.ops.quote_name
    columns = [meta.pk, *(_concrete(meta.get_field(name)) for name in fields)]
    assignments = ", ".join(
        f"{quote(field.column)} = v.c{i}" for i, field in enumerate(columns) if i > 0
    )
    table = quote(meta.db_table)
    prepare = [_preparer(field, connection) for field in columns]
    updated = 0
    with connection.cursor() as cursor:
        for batch in _batches(connection, rows, len(columns)):
            source, params = _rows_source(connection, columns, _prepared(prepare, batch))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {source} "
                f"WHERE {table}.{quote(meta.pk.column)} = v.c0",
                params,
            )
            updated += cursor.rowcount
    return updated


def _rows_source(
    connection: BaseDatabaseWrapper, fields: Sequence[models.Field], rows: Sequence[Sequence[Any]]
) -> tuple[str, list[Any]]:
    """A FROM-clause item `v` with columns c0, c1, … holding `rows`, and its parameters."""
    names = [f"c{i}" for i in range(len(fields))]
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"CAST(%s AS {field.db_type(connection)}[])" for field in fields)
        columns = [list(column) for column in zip(*rows, strict=True)]
        return f"unnest({arrays}) AS v({', '.join(names)})", columns
    payload = _json_rows(rows)
    if payload is not None:
        selected = ", ".join(f"json_extract(value, '$[{i}]') AS {n}" for i, n in enumerate(names))
        return f"(SELECT {selected} FROM json_each(%s)) AS v", [payload]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    selected = ", ".join(f"column{i + 1} AS {name}" for i, name in enumerate(names))
    values = ", ".join([row] * len(rows))
    return f"(SELECT {selected} FROM (VALUES {values}) AS x) AS v", [p for r in rows for p in r]


def _json_rows(rows: Sequence[Sequence[Any]]) -> str | None:
    """The rows as JSON when SQLite will read every value back as it was bound, else None.

    json_extract() gives back TEXT, INTEGER (booleans as 0 and 1), REAL and NULL, what
    sqlite3 binds for str, int, bool, float and None. It would cut a string at a NUL and
    cannot read NaN or infinity; bytes and other types are not JSON at all.
    """
    try:
        # ensure_ascii=False: a lone surrogate must fail when bound, as in a VALUES list,
        # not arrive as a replacement character.
        payload = json.dumps(rows, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return None
    # json.dumps writes NUL as this escape (a false alarm on a literal backslash-u0000
    # only costs the VALUES list).
    return None if "\\u0000" in payload else payload


def _concrete(field: object) -> models.Field:
    if not isinstance(field, models.Field) or not field.concrete:
        raise ValueError(f"{field} is not a column of its table")
    return field


def _connection(model: type[models.Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]


def _batches(connection: BaseDatabaseWrapper, objs: Sequence[T], width: int) -> list[Sequence[T]]:
    size = BATCH
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old limit of 999 variables; ask the library for the real
        # one (32,766 since 3.32) so that a batch is not cut to a few dozen rows.
        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        size = max(1, min(BATCH, limit // width))
    return [objs[start : start + size] for start in range(0, len(objs), size)]
