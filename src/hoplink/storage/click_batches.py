"""A batch of clicks written and rolled up by the database itself (SQLite).

The worker's other write path (``ClickRepo.insert_new`` + ``RollupRepo``) tallies the
rollup rows in Python and sends them to the database row by row. Here the batch's
enriched clicks go to the database ONCE, into a temporary table, and everything else is
set-based SQL that runs in C: the replay check against ``clicks``, the raw-click insert,
the batch's visitor keys (each with its earliest click) checked against and added to
``visitor_seen``, the breakdown pairs grouped per link and hour (one small sort per pair,
cheaper than one big one), and one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` per rollup
table. The rows and counts are those of ``hoplink.ingest.rollups`` exactly:

- a click counts once in pv (and in human_pv if it is not a bot) of every row it adds to;
- a visitor key (hour or day; link or workspace) new to ``visitor_seen`` gives its uv to
  the earliest click of the batch that has it — earliest by time, then by batch order
  (the Python tally's stable sort by time): ``ord`` is that rank;
- the day tables are the same counts as the hour tables, grouped by day.

SQLite only: a write transaction there is the only writer, so "remove the keys already
in ``visitor_seen``, insert the rest" cannot race another worker (on PostgreSQL two
workers could both count a key; ``click_batches_pg`` claims keys with ``ON CONFLICT DO
NOTHING RETURNING`` and reuses this module's rows and rollup upserts).

SQL text is built from this module's own names and literals only (hence the S608
waivers); values always travel as parameters. Temporary tables live on the connection
(SQLite's ``temp`` schema, in memory with ``temp_store=MEMORY``) and are emptied at the
start and end of each batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.analytics.models import NONE_VALUE
from hoplink.clicks.enriched import Event
from hoplink.storage import tables as t
from hoplink.storage.clicks import CLICK_COLUMNS, click_row, click_values

# The batch: a raw click's columns, then what the rollups need of it. ``ord`` (the rowid)
# is the click's rank by time, ``pos`` its place in the batch (raw clicks go in that order).
_CLICK_NAMES = [c.name for c in CLICK_COLUMNS]
_EXTRA = ["ord", "pos", "hour", "human", "vh", "channel", "campaign", "utm_content", "utm_term"]
_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS hl_batch ("
    "ord INTEGER PRIMARY KEY, pos INTEGER NOT NULL, hour INTEGER NOT NULL,"
    " human INTEGER NOT NULL, vh TEXT NOT NULL, channel TEXT, campaign TEXT,"
    " utm_content TEXT, utm_term TEXT,"
    " uvh_l INTEGER NOT NULL DEFAULT 0, uvd_l INTEGER NOT NULL DEFAULT 0,"
    " uvh_w INTEGER NOT NULL DEFAULT 0, uvd_w INTEGER NOT NULL DEFAULT 0, "
    + ", ".join(_CLICK_NAMES)
    + ")",
    # The batch's visitor keys new to visitor_seen, each with its earliest click.
    "CREATE TEMP TABLE IF NOT EXISTS hl_keys ("
    "grain TEXT NOT NULL, bucket INTEGER NOT NULL, scope_id TEXT NOT NULL,"
    " visitor_hash TEXT NOT NULL, kind TEXT NOT NULL, ord INTEGER NOT NULL)",
    # The batch's breakdown counts per link, hour and pair, counted once: the four
    # breakdown tables are sums of these rows. ``link`` 1: in the link breakdowns too (the
    # channel, campaign and UTM pairs are the workspace breakdowns' only).
    "CREATE TEMP TABLE IF NOT EXISTS hl_dims ("
    "link_id TEXT, workspace_id TEXT, hour INTEGER, dim TEXT, value TEXT,"
    " pv INTEGER, human_pv INTEGER, uvd_l INTEGER, uvd_w INTEGER, link INTEGER)",
    # The same summed over the workspace's links: the workspace breakdowns' hour rows.
    "CREATE TEMP TABLE IF NOT EXISTS hl_wdims ("
    "workspace_id TEXT, hour INTEGER, dim TEXT, value TEXT,"
    " pv INTEGER, human_pv INTEGER, uvd_w INTEGER)",
)
_EMPTY = (
    "DELETE FROM hl_batch",
    "DELETE FROM hl_keys",
    "DELETE FROM hl_dims",
    "DELETE FROM hl_wdims",
)
_FILL = (
    f"INSERT INTO hl_batch ({', '.join(_EXTRA + _CLICK_NAMES)})"  # noqa: S608 - own names
    f" VALUES ({', '.join('?' * (len(_EXTRA) + len(_CLICK_NAMES)))})"
)
_REPLAYS = "SELECT b.click_id FROM hl_batch b JOIN clicks c ON c.click_id = b.click_id"
_DROP_REPLAYS = "DELETE FROM hl_batch WHERE click_id IN (SELECT click_id FROM clicks)"
_INSERT_CLICKS = (
    f"INSERT INTO clicks ({', '.join(_CLICK_NAMES)})"  # noqa: S608 - own names
    f" SELECT {', '.join(_CLICK_NAMES)} FROM hl_batch WHERE true ORDER BY pos"
    " ON CONFLICT (click_id) DO NOTHING"
)


def _keys_select(grain: str, bucket: str, scope: str, kind: str) -> str:
    return (
        f"SELECT '{grain}', {bucket} AS b, {scope} AS s, vh, '{kind}', min(ord) FROM hl_batch"  # noqa: S608 - own names
        f" WHERE human AND vh <> '' GROUP BY b, s, vh"
    )


_KEYS = (
    "INSERT INTO hl_keys (grain, bucket, scope_id, visitor_hash, kind, ord) "
    + " UNION ALL ".join(
        (
            _keys_select("h", "hour", "link_id", "l"),
            _keys_select("h", "hour", "workspace_id", "w"),
            _keys_select("d", "hour / 24", "link_id", "l"),
            _keys_select("d", "hour / 24", "workspace_id", "w"),
        )
    )
)
_OLD_KEYS = (
    "DELETE FROM hl_keys WHERE EXISTS (SELECT 1 FROM visitor_seen v WHERE v.grain ="
    " hl_keys.grain AND v.bucket = hl_keys.bucket AND v.scope_id = hl_keys.scope_id"
    " AND v.visitor_hash = hl_keys.visitor_hash)"
)
_SEEN = (
    "INSERT INTO visitor_seen (grain, bucket, scope_id, visitor_hash)"
    " SELECT grain, bucket, scope_id, visitor_hash FROM hl_keys WHERE true"
    " ON CONFLICT DO NOTHING"
)
# Each click's claims, one rewrite of its row: the flags of the keys it is the earliest of.
_CLAIMS = (
    "UPDATE hl_batch SET uvh_l = c.uvh_l, uvd_l = c.uvd_l, uvh_w = c.uvh_w, uvd_w = c.uvd_w"
    " FROM (SELECT ord, max(grain = 'h' AND kind = 'l') AS uvh_l,"
    " max(grain = 'd' AND kind = 'l') AS uvd_l, max(grain = 'h' AND kind = 'w') AS uvh_w,"
    " max(grain = 'd' AND kind = 'w') AS uvd_w FROM hl_keys GROUP BY ord) AS c"
    " WHERE hl_batch.ord = c.ord"
)


def _dims_select(dim: str, value: str, *, link: bool, where: str = " WHERE true") -> str:
    # One pair at a time: sorting each pair's rows apart is cheaper than all of them at once.
    return (
        f"INSERT INTO hl_dims SELECT link_id, workspace_id, hour, '{dim}', {value} AS v,"  # noqa: S608 - own names
        f" count(*), sum(human), sum(uvd_l), sum(uvd_w), {int(link)} FROM hl_batch{where}"
        " GROUP BY link_id, workspace_id, hour, v"
    )


_NONE = "'" + NONE_VALUE.replace("'", "''") + "'"
_DIMS = (
    _dims_select("country", "country", link=True),
    _dims_select("device", "device", link=True),
    _dims_select("os", "os", link=True),
    _dims_select("browser", "browser", link=True),
    _dims_select("referrer", "referrer_host", link=True),
    _dims_select("language", "language", link=True),
    _dims_select("bot", "bot_name", link=True, where=" WHERE bot_name IS NOT NULL"),
    _dims_select("rule", "rule", link=True, where=" WHERE rule IS NOT NULL"),
    _dims_select("variant", "variant", link=True, where=" WHERE variant IS NOT NULL"),
    _dims_select("channel", f"coalesce(nullif(channel, ''), {_NONE})", link=False),
    _dims_select("campaign", f"coalesce(nullif(campaign, ''), {_NONE})", link=False),
    _dims_select("utm_content", "utm_content", link=False, where=" WHERE utm_content <> ''"),
    _dims_select("utm_term", "utm_term", link=False, where=" WHERE utm_term <> ''"),
    "INSERT INTO hl_wdims SELECT workspace_id, hour, dim, value, sum(pv), sum(human_pv),"
    " sum(uvd_w) FROM hl_dims GROUP BY workspace_id, hour, dim, value",
)


def _upsert(
    table: str, keys: Sequence[str], values: Sequence[str], source: str, *, grouped: bool = True
) -> str:
    """``INSERT INTO table (keys, counts) SELECT … ON CONFLICT (primary key) DO UPDATE``
    adding the counts; ``values`` are the key expressions then the count expressions."""
    tab = t.metadata.tables[table]
    counted = ["pv", "human_pv", "uv_day", "uv_hour"][: len(values) - len(keys)]
    pk = ", ".join(c.name for c in tab.primary_key.columns)
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counted)
    group = f" GROUP BY {', '.join(values[: len(keys)])}" if grouped else ""
    return (
        f"INSERT INTO {table} ({', '.join([*keys, *counted])})"  # noqa: S608 - own names
        f" SELECT {', '.join(values)} FROM {source}{group}"
        f" ON CONFLICT ({pk}) DO UPDATE SET {adds}"
    )


_VIEWS = ("count(*)", "sum(human)")
_SUMS = ("sum(pv)", "sum(human_pv)")
_LINK_DIM_DAYS = _upsert(
    "rollup_link_dim_days",
    ["link_id", "workspace_id", "day", "dim", "value"],
    ["link_id", "workspace_id", "hour / 24", "dim", "value", *_SUMS, "sum(uvd_l)"],
    "hl_dims WHERE link",
)
# A batch within one hour (nearly every batch: about a second of clicks) has one hour row
# per day row: the day rows are the hour rows, no grouping (no sort) needed.
_LINK_DIM_DAYS_ONE_HOUR = _upsert(
    "rollup_link_dim_days",
    ["link_id", "workspace_id", "day", "dim", "value"],
    ["link_id", "workspace_id", "hour / 24", "dim", "value", "pv", "human_pv", "uvd_l"],
    "hl_dims WHERE link",
    grouped=False,
)
_ROLLUPS = (
    _upsert(
        "rollup_link_hours",
        ["link_id", "workspace_id", "hour"],
        ["link_id", "workspace_id", "hour", *_VIEWS, "sum(uvd_l)", "sum(uvh_l)"],
        "hl_batch WHERE true",
    ),
    _upsert(
        "rollup_link_days",
        ["link_id", "workspace_id", "day"],
        ["link_id", "workspace_id", "hour / 24", *_VIEWS, "sum(uvd_l)"],
        "hl_batch WHERE true",
    ),
    _upsert(
        "rollup_link_dim_hours",
        ["link_id", "workspace_id", "hour", "dim", "value"],
        ["link_id", "workspace_id", "hour", "dim", "value", "pv", "human_pv", "uvd_l"],
        "hl_dims WHERE link",
        grouped=False,  # one row per key already
    ),
    _LINK_DIM_DAYS,
    _upsert(
        "rollup_workspace_hours",
        ["workspace_id", "hour"],
        ["workspace_id", "hour", *_VIEWS, "sum(uvd_w)", "sum(uvh_w)"],
        "hl_batch WHERE true",
    ),
    _upsert(
        "rollup_workspace_days",
        ["workspace_id", "day"],
        ["workspace_id", "hour / 24", *_VIEWS, "sum(uvd_w)"],
        "hl_batch WHERE true",
    ),
    _upsert(
        "rollup_workspace_dim_hours",
        ["workspace_id", "hour", "dim", "value"],
        ["workspace_id", "hour", "dim", "value", "pv", "human_pv", "uvd_w"],
        "hl_wdims WHERE true",
        grouped=False,  # one row per key already
    ),
    _upsert(
        "rollup_workspace_dim_days",
        ["workspace_id", "day", "dim", "value"],
        ["workspace_id", "hour / 24", "dim", "value", *_SUMS, "sum(uvd_w)"],
        "hl_wdims WHERE true",
    ),
)
_ROLLUPS_ONE_HOUR = tuple(
    _LINK_DIM_DAYS_ONE_HOUR if sql == _LINK_DIM_DAYS else sql for sql in _ROLLUPS
)


@lru_cache(maxsize=4096)
def _second_text(second: int) -> str:
    d = datetime.fromtimestamp(second, UTC)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def ts_text(ts: float) -> str:
    """What SQLAlchemy stores in SQLite for ``datetime.fromtimestamp(ts, UTC)`` (the raw
    click's ``ts``), without a datetime per click: the second's text is cached (a batch's
    clicks fall in a few seconds), the microseconds rounded as ``fromtimestamp`` does
    (the fraction, half to even)."""
    frac, whole = math.modf(ts)
    us = round(frac * 1e6)
    second = int(whole)
    if us >= 1_000_000:
        second, us = second + 1, us - 1_000_000
    elif us < 0:
        second, us = second - 1, us + 1_000_000
    return f"{_second_text(second)}.{us:06d}"


def _processors(dialect: Dialect) -> list[tuple[int, Any]]:
    """(index, bind processor) of the raw-click columns that have one on ``dialect``."""
    return [
        (i, p)
        for i, c in enumerate(CLICK_COLUMNS)
        if (p := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]


def _batch_rows(
    events: Sequence[Event], processors: Sequence[tuple[int, Any]] | None = None
) -> list[tuple[Any, ...]]:
    """``hl_batch`` rows in batch order, each with its rank by time (stable). Without
    ``processors`` (SQLite) the raw click's time is SQLite's text (``ts_text``); with them
    (PostgreSQL's COPY), the raw-click columns go through those (index, bind processor)s.
    """
    times = [e.click.ts for e in events]
    rank = [0] * len(events)
    for r, i in enumerate(sorted(range(len(events)), key=times.__getitem__)):
        rank[i] = r
    if processors is None:
        raw = [click_values(e, ts_text(times[pos])) for pos, e in enumerate(events)]
    else:
        raw = []
        for e in events:
            values = list(click_row(e))
            for i, p in processors:
                values[i] = p(values[i])
            raw.append(tuple(values))
    return [
        (
            rank[pos],
            pos,
            e.hour,
            e.bot is None,
            e.click.visitor_hash,
            e.channel,
            e.campaign,
            e.utm_content,
            e.utm_term,
            *raw[pos],
        )
        for pos, e in enumerate(events)
    ]


class ClickBatchRepo:
    """Raw clicks, seen-visitor sets and rollups of one batch, set-based (SQLite)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def write(self, events: Sequence[Event]) -> set[str]:
        """Write the clicks not written before, their visitor keys and rollup counts;
        return the ids of the clicks that were written before (replays: not counted)."""
        if not events:
            return set()
        run = self.conn.exec_driver_sql
        for sql in (*_CREATE, *_EMPTY):
            await run(sql)
        await run(_FILL, _batch_rows(events))
        replays = {r[0] for r in await run(_REPLAYS)}
        if replays:
            await run(_DROP_REPLAYS)
        one_hour = min(e.hour for e in events) == max(e.hour for e in events)
        rollups = _ROLLUPS_ONE_HOUR if one_hour else _ROLLUPS
        for sql in (_INSERT_CLICKS, _KEYS, _OLD_KEYS, _SEEN, _CLAIMS, *_DIMS, *rollups):
            await run(sql)
        for sql in _EMPTY:
            await run(sql)
        return replays
