"""Imported ad spend of one workspace: one row per day, platform, campaign and ad group."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.ids import new_id
from hoplink.storage import tables as t
from hoplink.storage.rollups import dialect_insert

_S = t.ad_spend.c


class SpendRepo:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    async def put(self, platform: str, rows: Sequence[Any], now: datetime) -> None:
        """Insert or replace (a re-import of the same day and campaign replaces it)."""
        for r in rows:
            values = {
                "currency": r.currency,
                "spend": r.spend,
                "impressions": r.impressions,
                "clicks": r.clicks,
                "imported_at": now,
            }
            ins = dialect_insert(self.conn, t.ad_spend).values(
                id=new_id("spd"),
                workspace_id=self.workspace_id,
                day=r.day,
                platform=platform,
                campaign=r.campaign,
                ad_group=r.ad_group,
                **values,
            )
            await self.conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["workspace_id", "day", "platform", "campaign", "ad_group"],
                    set_=values,
                )
            )

    async def between(self, start: date, end: date, *, limit: int = 5000) -> list[Any]:
        q = (
            select(
                _S.day,
                _S.platform,
                _S.campaign,
                _S.ad_group,
                _S.currency,
                _S.spend,
                _S.impressions,
                _S.clicks,
            )
            .where(_S.workspace_id == self.workspace_id, _S.day >= start, _S.day <= end)
            .order_by(_S.day.desc(), _S.campaign, _S.ad_group)
            .limit(limit)
        )
        return list((await self.conn.execute(q)).all())
