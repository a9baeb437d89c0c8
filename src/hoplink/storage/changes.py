"""The redirect change log: what changed on the redirect path, for other processes.

Written by the repositories themselves, in the transaction of the change (a link's
update, tombstone, ban or lifted ban; a workspace's status; the short-link domains), so no
service or adapter can forget it and a rolled-back change leaves no entry. Serving
processes poll it (hoplink.redirect.changefeed) and drop their cached copies: a change
made by the CLI or another web process reaches every embedded server within a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.ids import utcnow
from hoplink.storage import tables as t

LINK, WORKSPACE, EVERYTHING = "link", "workspace", "all"
_C = t.redirect_changes.c


async def record(conn: AsyncConnection, kind: str, ref: str | None = None) -> None:
    await conn.execute(t.redirect_changes.insert().values(at=utcnow(), kind=kind, ref=ref))


@dataclass(frozen=True, slots=True)
class RedirectChange:
    id: int
    at: datetime
    kind: str
    ref: str | None
    # For a link: its short-link host and code (None if the link is gone).
    host: str | None = None
    code: str | None = None


class RedirectChangeRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def since(self, at: datetime, *, limit: int = 10_000) -> list[RedirectChange]:
        """Changes recorded at or after ``at`` (one range scan of the ``at`` index), with
        each link's host and code."""
        L, D = t.links.c, t.domains.c
        q = (
            select(_C.id, _C.at, _C.kind, _C.ref, D.hostname, L.code)
            .select_from(
                t.redirect_changes.outerjoin(
                    t.links, (_C.kind == LINK) & (L.id == _C.ref)
                ).outerjoin(t.domains, D.id == L.domain_id)
            )
            .where(_C.at >= at)
            .order_by(_C.id)
            .limit(limit)
        )
        rows = await self.conn.execute(q)
        return [RedirectChange(r.id, r.at, r.kind, r.ref, r.hostname, r.code) for r in rows]

    async def prune(self, before: datetime) -> int:
        result = await self.conn.execute(delete(t.redirect_changes).where(_C.at < before))
        return int(result.rowcount)
