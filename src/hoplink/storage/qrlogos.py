"""The logo a workspace puts in its QR codes (issue 14); every query carries its id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t

_L = t.qr_logos.c


class QrLogoRepo:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.ws = workspace_id

    async def get(self) -> str | None:
        """The logo as base64 PNG, or None."""
        q = select(_L.png_base64).where(_L.workspace_id == self.ws)
        value = (await self.conn.execute(q)).scalar_one_or_none()
        return None if value is None else str(value)

    async def put(self, *, png_base64: str, uploaded_by: str | None, at: datetime) -> None:
        await self.remove()
        await self.conn.execute(
            t.qr_logos.insert().values(
                workspace_id=self.ws, png_base64=png_base64, uploaded_by=uploaded_by, uploaded_at=at
            )
        )

    async def remove(self) -> bool:
        result = await self.conn.execute(delete(t.qr_logos).where(_L.workspace_id == self.ws))
        return result.rowcount > 0
