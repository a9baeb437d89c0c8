"""The one unscoped read the public redirect needs: (host, code) → target."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t


@dataclass(frozen=True, slots=True)
class Target:
    link_id: str
    workspace_id: str
    final_url: str
    archived: bool
    forward_query: bool
    workspace_status: str


async def resolve(conn: AsyncConnection, hostname: str, code: str) -> Target | None:
    L, D, W = t.links.c, t.domains.c, t.workspaces.c
    q = (
        select(L.id, L.workspace_id, L.final_url, L.archived, L.forward_query, W.status)
        .join(t.domains, D.id == L.domain_id)
        .join(t.workspaces, W.id == L.workspace_id)
        .where(D.hostname == hostname, L.code == code, L.deleted_at.is_(None))
    )
    row = (await conn.execute(q)).first()
    if row is None:
        return None
    return Target(row[0], row[1], row[2], row[3], row[4], row[5])
