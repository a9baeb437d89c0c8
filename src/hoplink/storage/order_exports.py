"""A workspace's saved column mapping for marketplace order exports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.conversions.exports import ColumnMapping
from hoplink.storage import tables as t
from hoplink.storage.rollups import dialect_insert

_M = t.order_import_mappings.c


class OrderExportRepo:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    async def mapping(self) -> ColumnMapping | None:
        q = select(_M.preset, _M.columns, _M.currency).where(_M.workspace_id == self.workspace_id)
        row = (await self.conn.execute(q)).first()
        if row is None:
            return None
        return ColumnMapping(row.preset, dict(row.columns or {}), row.currency)

    async def save_mapping(self, mapping: ColumnMapping, now: datetime) -> None:
        values = {
            "preset": mapping.preset,
            "columns": dict(mapping.columns),
            "currency": mapping.currency,
            "updated_at": now,
        }
        ins = dialect_insert(self.conn, t.order_import_mappings).values(
            workspace_id=self.workspace_id, **values
        )
        await self.conn.execute(
            ins.on_conflict_do_update(index_elements=["workspace_id"], set_=values)
        )
