"""Ingest keys: a workspace's server-to-server keys for conversions, hashed at rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t

_K = t.ingest_keys.c


class IngestKeyRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(
        self,
        *,
        id: str,
        workspace_id: str,
        name: str,
        prefix: str,
        key_hash: str,
        created_by: str | None,
        created_at: datetime,
    ) -> None:
        await self.conn.execute(
            t.ingest_keys.insert().values(
                id=id,
                workspace_id=workspace_id,
                name=name,
                prefix=prefix,
                key_hash=key_hash,
                created_by=created_by,
                created_at=created_at,
            )
        )

    async def by_prefix(self, prefix: str) -> Any:
        q = select(t.ingest_keys).where(_K.prefix == prefix)
        return (await self.conn.execute(q)).first()

    async def of_workspace(self, workspace_id: str) -> list[Any]:
        q = (
            select(_K.id, _K.name, _K.prefix, _K.created_at, _K.created_by, _K.revoked_at)
            .where(_K.workspace_id == workspace_id)
            .order_by(_K.created_at.desc())
        )
        return list((await self.conn.execute(q)).all())

    async def revoke(self, workspace_id: str, key_id: str, now: datetime) -> bool:
        result = await self.conn.execute(
            update(t.ingest_keys)
            .where(_K.workspace_id == workspace_id, _K.id == key_id, _K.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount > 0

    async def exists(self, workspace_id: str, key_id: str) -> bool:
        q = select(_K.id).where(_K.workspace_id == workspace_id, _K.id == key_id)
        return (await self.conn.execute(q)).first() is not None
