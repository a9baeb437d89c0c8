"""Small helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, String, Table, any_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.schema import Column


def insert_ignore(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING: the one statement whose SQL differs per backend."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).values(rows).on_conflict_do_nothing()
    return sqlite.insert(table).values(rows).on_conflict_do_nothing()


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
