"""The audit log's rows: appended by ``hoplink.audit.record``, read newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.audit.models import AuditEntry
from hoplink.storage import tables as t

_A = t.audit_log.c


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        action=row.action,
        actor=row.actor,
        workspace_id=row.workspace_id,
        target=row.target,
        detail=dict(row.detail or {}),
    )


class AuditRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(self, entry: AuditEntry) -> None:
        await self.conn.execute(
            t.audit_log.insert().values(
                id=entry.id,
                at=entry.at,
                action=entry.action,
                actor=entry.actor,
                workspace_id=entry.workspace_id,
                target=entry.target,
                detail=entry.detail,
            )
        )

    async def search(
        self,
        *,
        workspace_id: str | None = None,
        action: str | None = None,
        before: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; ``workspace_id`` None means every workspace (platform admins)."""
        conds: list[ColumnElement[bool]] = []
        if workspace_id is not None:
            conds.append(_A.workspace_id == workspace_id)
        if action:
            conds.append(_A.action == action)
        if before is not None:
            conds.append(_A.at < before)
        q = select(t.audit_log).where(*conds).order_by(_A.at.desc(), _A.id.desc()).limit(limit)
        return [_entry(r) for r in await self.conn.execute(q)]

    async def delete_for_workspace(self, workspace_id: str) -> int:
        result = await self.conn.execute(delete(t.audit_log).where(_A.workspace_id == workspace_id))
        return int(result.rowcount or 0)
