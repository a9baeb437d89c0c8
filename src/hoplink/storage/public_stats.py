"""Public stats pages of links (issue 16): the SHA-256 of each page's token, per link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t

_p = t.public_stats


class PublicStatsRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def replace(
        self, *, workspace_id: str, link_id: str, token_hash: str, at: datetime
    ) -> None:
        """The link's page now answers only to this token (an earlier one stops working)."""
        await self.revoke(workspace_id=workspace_id, link_id=link_id)
        await self.conn.execute(
            _p.insert().values(
                link_id=link_id, workspace_id=workspace_id, token_hash=token_hash, created_at=at
            )
        )

    async def revoke(self, *, workspace_id: str, link_id: str) -> bool:
        result = await self.conn.execute(
            delete(_p).where(_p.c.workspace_id == workspace_id, _p.c.link_id == link_id)
        )
        return bool(result.rowcount)

    async def since(self, *, workspace_id: str, link_id: str) -> datetime | None:
        """When the link's page was made public (None: it is not)."""
        query = select(_p.c.created_at).where(
            _p.c.workspace_id == workspace_id, _p.c.link_id == link_id
        )
        value: datetime | None = (await self.conn.execute(query)).scalar_one_or_none()
        return value

    async def by_token_hash(self, token_hash: str) -> tuple[str, str] | None:
        """(workspace id, link id) of the page this token opens."""
        query = select(_p.c.workspace_id, _p.c.link_id).where(_p.c.token_hash == token_hash)
        row = (await self.conn.execute(query)).first()
        return (row[0], row[1]) if row else None
