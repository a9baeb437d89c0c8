from __future__ import annotations

from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.links.models import Campaign
from hoplink.storage import tables as t


def _campaign(row: Row[Any]) -> Campaign:
    return Campaign(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        external_id=row.external_id,
        created_at=row.created_at,
    )


class CampaignRepo:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self._mine = t.campaigns.c.workspace_id == workspace_id

    async def insert(self, campaign: Campaign) -> None:
        await self.conn.execute(
            t.campaigns.insert().values(
                id=campaign.id,
                workspace_id=self.workspace_id,
                name=campaign.name,
                external_id=campaign.external_id,
                created_at=campaign.created_at,
            )
        )

    async def get(self, campaign_id: str) -> Campaign | None:
        row = (
            await self.conn.execute(
                select(t.campaigns).where(self._mine, t.campaigns.c.id == campaign_id)
            )
        ).first()
        return _campaign(row) if row else None

    async def by_name(self, name: str) -> Campaign | None:
        row = (
            await self.conn.execute(
                select(t.campaigns).where(self._mine, t.campaigns.c.name == name)
            )
        ).first()
        return _campaign(row) if row else None

    async def many(self, ids: set[str]) -> dict[str, Campaign]:
        if not ids:
            return {}
        rows = await self.conn.execute(
            select(t.campaigns).where(self._mine, t.campaigns.c.id.in_(ids))
        )
        return {r.id: _campaign(r) for r in rows}

    async def all(self) -> list[Campaign]:
        rows = await self.conn.execute(
            select(t.campaigns).where(self._mine).order_by(t.campaigns.c.name)
        )
        return [_campaign(r) for r in rows]

    async def update(self, campaign_id: str, **values: Any) -> bool:
        result = await self.conn.execute(
            update(t.campaigns).where(self._mine, t.campaigns.c.id == campaign_id).values(**values)
        )
        return result.rowcount > 0

    async def delete(self, campaign_id: str) -> bool:
        result = await self.conn.execute(
            delete(t.campaigns).where(self._mine, t.campaigns.c.id == campaign_id)
        )
        return result.rowcount > 0
