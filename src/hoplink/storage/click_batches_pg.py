"""A batch of clicks written and rolled up by the database itself: PostgreSQL's SQL.

The same design as SQLite's (``click_batches``, whose docstring gives the counting rules):
the batch's enriched clicks go to the server once, into a temporary table, and the rest is
set-based SQL. What differs here is that several workers write at the same time, each in
its own transaction, so every write must be safe against the others:

- raw clicks: ``INSERT … ON CONFLICT DO NOTHING RETURNING click_id``, and the clicks it did
  not return (replays: written before, or by another worker that committed them meanwhile)
  leave the batch in the same statement, so they are counted nowhere;
- visitor keys: the claim IS the insert. ``INSERT INTO visitor_seen … ON CONFLICT DO
  NOTHING RETURNING`` returns only the keys this transaction added; of two workers racing
  on one key, the second waits for the first's commit and then gets a conflict, so exactly
  one of them counts the unique visitor (SQLite's "remove the keys already there, insert
  the rest" would let both count it);
- every statement that writes shared rows writes them ordered by their key, and the
  tables in one order (raw clicks, seen keys, link rollups, workspace rollups last: the
  hottest rows held for the shortest time), so two workers lock rows in the same order and
  cannot deadlock.

PostgreSQL has hash aggregation: the batch's breakdown pairs are unpivoted (``LATERAL
VALUES``) and grouped in one statement, where SQLite sorts each pair apart. The rollup
upserts are SQLite's statements with the lock order added.

The batch reaches its temporary table by ``COPY`` (binary). The temporary tables are the
connection's, created on its first batch, emptied at every
commit (``ON COMMIT DELETE ROWS``: a truncate, no dead rows left behind; autovacuum never
visits temporary tables). Their text columns sort bytewise (``COLLATE "C"``): any one
order serves for the locks, and it is the cheapest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import Column, String
from sqlalchemy.exc import DBAPIError

from hoplink.analytics.models import NONE_VALUE
from hoplink.clicks.enriched import Event
from hoplink.storage.click_batches import (
    _EXTRA,
    _ROLLUPS,
    _ROLLUPS_ONE_HOUR,
    ClickBatchRepo,
    _batch_rows,
    _processors,
)
from hoplink.storage.clicks import CLICK_COLUMNS
from hoplink.storage.tables import UTCDateTime

_CLICK_NAMES = [c.name for c in CLICK_COLUMNS]
_TEXT = 'text COLLATE "C"'


def _click_column_type(column: Column[Any]) -> str:
    # Unbounded text: the insert into ``clicks`` checks the lengths (a DataError for a
    # value too long, as before), where an explicit cast to VARCHAR(n) would cut it.
    if isinstance(column.type, String):
        return _TEXT
    if isinstance(column.type, UTCDateTime):
        return "timestamp"  # naive UTC, as the column (its bind processor makes it so)
    raise TypeError(f"clicks.{column.name}: no temporary column type for {column.type!r}")


_CLICK_TYPES = [_click_column_type(c) for c in CLICK_COLUMNS]
# ``_EXTRA`` (click_batches): ord, pos, hour, human, vh, channel, campaign, utm_content,
# utm_term — ints, then text.
_EXTRA_TYPES = ["integer"] * 4 + [_TEXT] * 5
_BATCH_TYPES = dict(zip(_EXTRA + _CLICK_NAMES, _EXTRA_TYPES + _CLICK_TYPES, strict=True))
_BATCH_COLUMNS = list(_BATCH_TYPES)
_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS hl_batch ("
    + ", ".join(f"{name} {type_}" for name, type_ in _BATCH_TYPES.items())
    + ", uvh_l integer NOT NULL DEFAULT 0, uvd_l integer NOT NULL DEFAULT 0,"
    " uvh_w integer NOT NULL DEFAULT 0, uvd_w integer NOT NULL DEFAULT 0)"
    " ON COMMIT DELETE ROWS",
    f"CREATE TEMP TABLE IF NOT EXISTS hl_dims (link_id {_TEXT}, workspace_id {_TEXT},"
    f" hour integer, dim {_TEXT}, value {_TEXT}, pv bigint, human_pv bigint, uvd_l bigint,"
    " uvd_w bigint, link boolean) ON COMMIT DELETE ROWS",
    f"CREATE TEMP TABLE IF NOT EXISTS hl_wdims (workspace_id {_TEXT}, hour integer,"
    f" dim {_TEXT}, value {_TEXT}, pv bigint, human_pv bigint, uvd_w bigint)"
    " ON COMMIT DELETE ROWS",
)
# Raw clicks in key order; what the insert did not return were replays: out of the batch.
_INSERT_CLICKS = (
    f"WITH ins AS (INSERT INTO clicks ({', '.join(_CLICK_NAMES)})"  # noqa: S608 - own names
    f" SELECT {', '.join(_CLICK_NAMES)} FROM hl_batch ORDER BY click_id"
    " ON CONFLICT (click_id) DO NOTHING RETURNING click_id)"
    " DELETE FROM hl_batch b WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.click_id = b.click_id)"
    " RETURNING b.click_id"
)


def _keys_select(grain: str, bucket: str, scope: str, kind: str) -> str:
    return (
        f"SELECT '{grain}'::text AS grain, {bucket} AS bucket, {scope} AS scope_id, vh,"  # noqa: S608 - own names
        f" '{kind}'::text AS kind, min(ord) AS ord FROM hl_batch WHERE human = 1 AND vh <> ''"
        f" GROUP BY {bucket}, {scope}, vh"
    )


# The batch's visitor keys, each with its earliest click; those the insert returns are
# new (this transaction's): their clicks get the uv.
_CLAIMS = (
    "WITH k AS ("  # noqa: S608 - own names
    + " UNION ALL ".join(
        (
            _keys_select("h", "hour", "link_id", "l"),
            _keys_select("h", "hour", "workspace_id", "w"),
            _keys_select("d", "hour / 24", "link_id", "l"),
            _keys_select("d", "hour / 24", "workspace_id", "w"),
        )
    )
    + "), s AS (INSERT INTO visitor_seen (grain, bucket, scope_id, visitor_hash)"
    " SELECT grain, bucket, scope_id, vh FROM k ORDER BY grain, bucket, scope_id, vh"
    " ON CONFLICT DO NOTHING RETURNING grain, bucket, scope_id, visitor_hash),"
    " c AS (SELECT k.ord, bool_or(k.grain = 'h' AND k.kind = 'l') AS uvh_l,"
    " bool_or(k.grain = 'd' AND k.kind = 'l') AS uvd_l,"
    " bool_or(k.grain = 'h' AND k.kind = 'w') AS uvh_w,"
    " bool_or(k.grain = 'd' AND k.kind = 'w') AS uvd_w"
    " FROM s JOIN k ON k.grain = s.grain AND k.bucket = s.bucket"
    " AND k.scope_id = s.scope_id AND k.vh = s.visitor_hash GROUP BY k.ord)"
    " UPDATE hl_batch b SET uvh_l = c.uvh_l::int, uvd_l = c.uvd_l::int,"
    " uvh_w = c.uvh_w::int, uvd_w = c.uvd_w::int FROM c WHERE b.ord = c.ord"
)

_NONE = "'" + NONE_VALUE.replace("'", "''") + "'"
# (dim, value, in the link breakdowns too); a NULL value: no pair (SQLite's WHERE clauses).
_PAIRS = (
    ("country", "b.country", True),
    ("device", "b.device", True),
    ("os", "b.os", True),
    ("browser", "b.browser", True),
    ("referrer", "b.referrer_host", True),
    ("language", "b.language", True),
    ("bot", "b.bot_name", True),
    ("rule", "b.rule", True),
    ("variant", "b.variant", True),
    ("channel", f"coalesce(nullif(b.channel, ''), {_NONE})", False),
    ("campaign", f"coalesce(nullif(b.campaign, ''), {_NONE})", False),
    ("utm_content", "nullif(b.utm_content, '')", False),
    ("utm_term", "nullif(b.utm_term, '')", False),
)
_DIMS = (
    "INSERT INTO hl_dims SELECT b.link_id, b.workspace_id, b.hour, d.dim, d.value, count(*),"  # noqa: S608 - own names
    " sum(b.human), sum(b.uvd_l), sum(b.uvd_w), d.link FROM hl_batch b CROSS JOIN LATERAL"
    " (VALUES "
    + ", ".join(f"('{dim}', {value}, {str(link).lower()})" for dim, value, link in _PAIRS)
    + ") AS d (dim, value, link) WHERE d.value IS NOT NULL"
    " GROUP BY b.link_id, b.workspace_id, b.hour, d.dim, d.value, d.link",
    "INSERT INTO hl_wdims SELECT workspace_id, hour, dim, value, sum(pv), sum(human_pv),"
    " sum(uvd_w) FROM hl_dims GROUP BY workspace_id, hour, dim, value",
)

_UPSERT = re.compile(r"INSERT INTO \w+ \(([^)]*)\) SELECT .* ON CONFLICT \(([^)]*)\) DO UPDATE")


def _in_key_order(sql: str) -> str:
    """A rollup upsert of ``click_batches`` with its rows ordered by the table's key
    (``ORDER BY`` the key columns' places in the insert): the lock order."""
    match = _UPSERT.fullmatch(sql.split(" SET ", 1)[0])
    if match is None:  # pragma: no cover - click_batches builds every upsert alike
        raise ValueError(f"not a rollup upsert: {sql}")
    columns = match.group(1).split(", ")
    places = ", ".join(str(columns.index(k) + 1) for k in match.group(2).split(", "))
    head, conflict = sql.split(" ON CONFLICT ", 1)
    return f"{head} ORDER BY {places} ON CONFLICT {conflict}"


_ROLLUPS_PG = tuple(_in_key_order(sql) for sql in _ROLLUPS)
_ROLLUPS_ONE_HOUR_PG = tuple(_in_key_order(sql) for sql in _ROLLUPS_ONE_HOUR)


class PgClickBatchRepo(ClickBatchRepo):
    """``ClickBatchRepo`` on PostgreSQL: safe with other workers writing at the same time."""

    async def write(self, events: Sequence[Event]) -> set[str]:
        if not events:
            return set()
        run = self.conn.exec_driver_sql
        for sql in _CREATE:
            await run(sql)
        # COPY (binary) takes the rows ~2.5x cheaper for the server than ``unnest`` of one
        # array per column, and the worker need not turn rows into columns. It is the
        # driver's own call: its errors are given the SQLAlchemy form the worker reads (a
        # value refused for good, SQLSTATE class 22, is set aside, not retried).
        rows = _batch_rows(events, _processors(self.conn.dialect))
        driver = (await self.conn.get_raw_connection()).driver_connection
        assert driver is not None  # an open connection (its transaction has begun)
        try:
            await driver.copy_records_to_table("hl_batch", records=rows, columns=_BATCH_COLUMNS)
        except asyncpg.PostgresError as exc:
            raise DBAPIError("COPY hl_batch", None, exc) from exc
        replays = {r[0] for r in await run(_INSERT_CLICKS)}
        one_hour = min(e.hour for e in events) == max(e.hour for e in events)
        rollups = _ROLLUPS_ONE_HOUR_PG if one_hour else _ROLLUPS_PG
        for sql in (_CLAIMS, *_DIMS, *rollups):
            await run(sql)
        return replays
