"""The raw click log: idempotent inserts by click id, and the retention purge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.clicks.adids import check_ad_click_ids
from hoplink.clicks.enriched import MAX_USER_AGENT_STORED, Event, LinkRef
from hoplink.clicks.models import StoredClick
from hoplink.storage import tables as t
from hoplink.storage._rows import in_json_list, in_list, rows_select
from hoplink.storage.rollups import dialect_insert

_C = t.clicks.c


# The columns of a raw click, in the order ``_row`` gives its values.
CLICK_COLUMNS = (
    _C.click_id,
    _C.ts,
    _C.workspace_id,
    _C.link_id,
    _C.domain,
    _C.method,
    _C.country,
    _C.visitor_hash,
    _C.user_agent,
    _C.referrer_host,
    _C.language,
    _C.device,
    _C.os,
    _C.browser,
    _C.bot,
    _C.bot_name,
    _C.rule,
    _C.variant,
    _C.ad_click_ids,
)


def click_row(e: Event) -> tuple[Any, ...]:
    return click_values(e, datetime.fromtimestamp(e.click.ts, UTC))


def click_values(e: Event, ts: Any) -> tuple[Any, ...]:
    """A raw click's column values with ``ts`` as given (a datetime, or SQLite's text)."""
    c = e.click
    return (
        c.click_id,
        ts,
        c.workspace_id,
        c.link_id,
        c.domain[:253],
        c.method,
        e.country,
        c.visitor_hash[:64],
        c.user_agent[:MAX_USER_AGENT_STORED].replace("\x00", ""),
        e.referrer,
        e.language,
        e.device,
        e.os,
        e.browser,
        e.bot.value if e.bot is not None else None,
        e.bot_name,
        c.rule[:32] if c.rule is not None else None,
        c.variant[:32] if c.variant is not None else None,
        _ad_ids_text(c.ad_click_ids),
    )


def _ad_ids_text(values: dict[str, str] | None) -> str | None:
    # Checked again here: the queue is outside this process (a Redis stream, a file).
    kept = check_ad_click_ids(values) if values else None
    return orjson.dumps(kept).decode() if kept else None


class WorkspaceClicks:
    """The raw clicks of one workspace; no method can reach another's."""

    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    async def get(self, click_id: str) -> StoredClick | None:
        return (await self.get_many([click_id])).get(click_id)

    async def get_many(self, click_ids: Sequence[str]) -> dict[str, StoredClick]:
        found: dict[str, StoredClick] = {}
        for i in range(0, len(click_ids), 500):
            q = select(
                _C.click_id, _C.link_id, _C.ts, _C.visitor_hash, _C.ad_click_ids, _C.bot
            ).where(
                _C.workspace_id == self.workspace_id,
                in_list(self.conn, _C.click_id, list(click_ids[i : i + 500])),
            )
            for row in await self.conn.execute(q):
                found[row.click_id] = StoredClick(
                    click_id=row.click_id,
                    workspace_id=self.workspace_id,
                    link_id=row.link_id,
                    ts=row.ts,
                    visitor_hash=row.visitor_hash,
                    ad_click_ids=orjson.loads(row.ad_click_ids) if row.ad_click_ids else {},
                    bot=row.bot,
                )
        return found


class ClickRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def link_refs(self, link_ids: Iterable[str]) -> dict[str, LinkRef]:
        """Workspace, channel, campaign, utm_content and utm_term of each link that exists
        (deleted links stay as tombstones)."""
        wanted = sorted(set(link_ids))
        refs: dict[str, LinkRef] = {}
        lc = t.links.c
        # SQLite: all in one statement (a batch names thousands of links; 500 at a time
        # cost ~3x the CPU). PostgreSQL: 500 at a time, as before.
        step = max(1, len(wanted)) if self.conn.dialect.name == "sqlite" else 500
        for i in range(0, len(wanted), step):
            # FOR SHARE (PostgreSQL; SQLite has one writer anyway): a workspace erase or a
            # link delete waits until this batch is committed, so it never leaves rollups of
            # a link it removed (see PrivacyRepo.erase).
            q = (
                select(
                    lc.id, lc.workspace_id, lc.channel, lc.campaign_id, lc.utm_content, lc.utm_term
                )
                .where(in_json_list(self.conn, lc.id, wanted[i : i + step]))
                .with_for_update(read=True)
            )
            refs.update(
                (
                    r.id,
                    LinkRef(r.workspace_id, r.channel, r.campaign_id, r.utm_content, r.utm_term),
                )
                for r in await self.conn.execute(q)
            )
        return refs

    async def insert_new(self, events: Sequence[Event]) -> set[str]:
        """Insert the clicks; return the ids that were not there before (replays are not)."""
        if not events:
            return set()
        # In key order on PostgreSQL, like the rollups: concurrent writers lock rows in the
        # same order.
        rows = [click_row(e) for e in events]
        stmt = (
            dialect_insert(self.conn, t.clicks)
            .from_select(
                [c.name for c in CLICK_COLUMNS],
                rows_select(self.conn, CLICK_COLUMNS, rows, lock_order=1),
            )
            .on_conflict_do_nothing()
            .returning(_C.click_id)
        )
        return set((await self.conn.execute(stmt)).scalars())

    async def purge_before(self, cutoff: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` clicks older than ``cutoff``; the number deleted."""
        oldest = select(_C.click_id).where(_C.ts < cutoff).limit(limit).scalar_subquery()
        result = await self.conn.execute(delete(t.clicks).where(_C.click_id.in_(oldest)))
        return int(result.rowcount)

    async def count(self, *, link_id: str | None = None) -> int:
        q = select(func.count()).select_from(t.clicks)
        if link_id is not None:
            q = q.where(_C.link_id == link_id)
        return int((await self.conn.execute(q)).scalar_one())
