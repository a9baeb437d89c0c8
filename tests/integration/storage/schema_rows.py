"""Rows for any table, built from the schema: every NOT NULL column gets a value of its
type, every foreign key points at a row made before it. Tests that must reach every table
holding a ``workspace_id`` (erase, isolation) use it, so a table added later is covered
without anyone remembering to list it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
)

from hoplink.storage import tables as t
from hoplink.storage.tx import Tx

T0 = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
_serial = count(1)

# Parent rows made so far: table name → the row's values. A foreign key column takes the
# referenced column of its parent here (users and workspaces are given by the caller).
Made = dict[str, dict[str, Any]]


def _value(column: Column[Any], tag: str) -> Any:
    kind = column.type
    n = next(_serial)
    if isinstance(kind, t.UTCDateTime | DateTime):
        return T0
    if isinstance(kind, Date):
        return date(2026, 11, 1)
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer | BigInteger):
        return n
    if isinstance(kind, Float | Numeric):
        return 0.5
    if isinstance(kind, LargeBinary):
        return b"\x00"
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, String | Text):
        text = f"{tag}{n}"
        length = getattr(kind, "length", None)
        return text[-length:] if length else text
    raise TypeError(f"no test value for {column.table.name}.{column.name}: {kind!r}")


def row_values(table: Table, tag: str, made: Made, **given: Any) -> dict[str, Any]:
    """Values for one row of ``table``: ``given`` first, then foreign keys from ``made``,
    then a value for every other NOT NULL or primary key column."""
    values: dict[str, Any] = dict(given)
    for column in table.c:
        if column.name in values:
            continue
        parents = list(column.foreign_keys)
        if parents:
            parent = parents[0].column
            if parent.table.name in made:
                values[column.name] = made[parent.table.name][parent.name]
                continue
            if column.nullable:
                continue
            raise KeyError(f"{table.name}.{column.name}: no {parent.table.name} row made yet")
        if column.nullable and not column.primary_key:
            continue
        if column.primary_key and column.autoincrement is True:
            continue
        values[column.name] = _value(column, tag)
    return values


async def insert_row(tx: Tx, table: Table, tag: str, made: Made, **given: Any) -> dict[str, Any]:
    values = row_values(table, tag, made, **given)
    await tx.conn.execute(table.insert().values(values))
    return values


async def fill_workspace(tx: Tx, workspace_id: str, user_id: str, tag: str) -> Made:
    """One row in every table that has a ``workspace_id``, all of them this workspace's,
    parents before children; the rows made, by table."""
    made: Made = {"workspaces": {"id": workspace_id}, "users": {"id": user_id}}
    for table in t.metadata.sorted_tables:
        if "workspace_id" in table.c and table.name != "workspaces":
            made[table.name] = await insert_row(tx, table, tag, made, workspace_id=workspace_id)
    return made


async def link_row(tx: Tx, workspace_id: str, domain_id: str, code: str, **given: Any) -> str:
    """A live link (only its required columns), straight into the table; its id."""
    made = await insert_row(
        tx, t.links, code, {}, workspace_id=workspace_id, domain_id=domain_id, code=code, **given
    )
    return str(made["id"])


async def click_row(
    tx: Tx, workspace_id: str, link_id: str, click_id: str, at: datetime, **given: Any
) -> None:
    """A raw click (a person's unless ``bot`` is given)."""
    given.setdefault("visitor_hash", "v-" + click_id)
    await insert_row(
        tx,
        t.clicks,
        click_id,
        {},
        workspace_id=workspace_id,
        link_id=link_id,
        click_id=click_id,
        ts=at,
        **given,
    )
