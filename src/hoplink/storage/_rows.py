"""Small helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.schema import Column
from sqlalchemy.types import TypeEngine


def insert_ignore(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]] | None) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING: the one statement whose SQL differs per backend.
    ``rows`` None: without values, to execute with a list of parameter sets."""
    base = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    return (base if rows is None else base.values(rows)).on_conflict_do_nothing()


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def in_list(
    conn: AsyncConnection, column: Column[str], values: Sequence[str]
) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL as ``= ANY(array)``, one parameter, one plan."""
    if conn.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(String))
        return column == any_(array)
    return column.in_(values)


def in_json_list(
    conn: AsyncConnection, column: Column[str], values: Sequence[str]
) -> ColumnElement[bool]:
    """``column IN (values)`` for thousands of values in one statement: on SQLite as
    ``IN (SELECT value FROM json_each(?))`` (one parameter, a lookup by the column's index
    per value; ``in_list`` renders a parameter per value, and SQLite takes at most 999),
    on PostgreSQL as ``in_list``."""
    if conn.dialect.name == "postgresql":
        return in_list(conn, column, values)
    each = func.json_each(bindparam(None, orjson.dumps(list(values)).decode(), type_=String))
    return column.in_(select(each.table_valued("value").c.value))


async def insert_pairs(
    conn: AsyncConnection, table: Table, names: tuple[str, str], rows: Sequence[tuple[str, str]]
) -> None:
    """Insert many two-column rows; on PostgreSQL as one ``unnest`` of two arrays."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        await conn.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])
        return
    arrays = [
        bindparam(None, [row[i] for row in rows], type_=postgresql.ARRAY(String)) for i in (0, 1)
    ]
    source = func.unnest(*arrays).table_valued(*names).render_derived()
    await conn.execute(
        insert(table).from_select(list(names), select(source.c[names[0]], source.c[names[1]]))
    )


def rows_select(
    conn: AsyncConnection,
    columns: Sequence[Column[Any]],
    rows: Sequence[Sequence[Any]],
    *,
    lock_order: int = 0,
) -> Select[Any]:
    """``SELECT`` of ``rows`` (tuples, values in ``columns`` order), for ``INSERT … SELECT``.

    The rows travel as one parameter per column on PostgreSQL (``unnest`` of arrays) and
    as one JSON array on SQLite (``json_each``), and the database takes them apart in C:
    an ``executemany`` spends more time binding each value of each row in Python than the
    database spends writing them (the click worker writes ~20 rows per click).

    ``lock_order``: on PostgreSQL the rows come out ordered by their first ``lock_order``
    columns (a key), sorted by the database (text in byte order), so that concurrent
    upserts lock rows in one order and cannot deadlock; sorting them in Python cost the
    worker more than writing them. SQLite has one writer: its rows come as given.
    """
    if conn.dialect.name == "postgresql":
        arrays = [
            bindparam(None, [row[i] for row in rows], type_=postgresql.ARRAY(_unbounded(c.type)))
            for i, c in enumerate(columns)
        ]
        source = func.unnest(*arrays).table_valued(*(c.name for c in columns)).render_derived()
        # Text in byte order (COLLATE "C"): any one order serves, and it sorts ~5x faster
        # than a language's collation.
        order = [
            col.collate("C") if isinstance(c.type, String) else col
            for col, c in zip(list(source.c)[:lock_order], columns, strict=False)
        ]
        return select(*source.c).order_by(*order)
    # SQLite: the values the driver would have been given, after the column types' own
    # conversions (a datetime becomes SQLAlchemy's text form, for instance).
    processors = [c.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]
    if any(processors):
        rows = [
            tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True))
            for row in rows
        ]
    each = func.json_each(bindparam(None, orjson.dumps(rows).decode(), type_=String))
    value = each.table_valued("value").c.value
    # WHERE: SQLite would read a bare ``FROM json_each(?) ON CONFLICT`` as a join's ON.
    return select(
        *(func.json_extract(value, f"$[{i}]").label(c.name) for i, c in enumerate(columns))
    ).where(true())


def _unbounded(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    # An explicit cast to VARCHAR(n)[] would cut longer values silently; the insert's own
    # assignment to the column refuses them (DataError), as a plain INSERT does.
    return String() if isinstance(type_, String) else type_
