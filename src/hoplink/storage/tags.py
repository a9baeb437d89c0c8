"""A workspace's tags as a whole: renaming and deleting them (links keep their other tags)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t

_G = t.tags.c


class TagRepo:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    async def ids(self, names: Sequence[str]) -> dict[str, str]:
        """Name → id of those of ``names`` the workspace has."""
        if not names:
            return {}
        rows = await self.conn.execute(
            select(_G.id, _G.name).where(
                _G.workspace_id == self.workspace_id, _G.name.in_(list(names))
            )
        )
        return {r.name: r.id for r in rows}

    async def rename(self, tag_id: str, name: str) -> None:
        await self.conn.execute(
            update(t.tags)
            .where(_G.workspace_id == self.workspace_id, _G.id == tag_id)
            .values(name=name)
        )

    async def delete(self, tag_ids: Sequence[str]) -> None:
        """Delete the tags and detach them from every link (the links stay)."""
        if not tag_ids:
            return
        mine = select(_G.id).where(_G.workspace_id == self.workspace_id, _G.id.in_(tag_ids))
        await self.conn.execute(delete(t.link_tags).where(t.link_tags.c.tag_id.in_(mine)))
        await self.conn.execute(
            delete(t.tags).where(_G.workspace_id == self.workspace_id, _G.id.in_(tag_ids))
        )
