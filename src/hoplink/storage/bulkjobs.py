"""Bulk upload jobs of a workspace and their results (issue 14); every query carries its id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t

_J = t.bulk_jobs.c


class BulkJobRepo:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.ws = workspace_id

    async def insert(self, *, id: str, total: int, at: datetime) -> None:
        await self.conn.execute(
            t.bulk_jobs.insert().values(
                id=id,
                workspace_id=self.ws,
                state="running",
                total=total,
                created=0,
                failed=0,
                results="[]",
                started_at=at,
                updated_at=at,
            )
        )

    async def save(
        self,
        job_id: str,
        *,
        state: str,
        created: int,
        failed: int,
        results: str,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "state": state,
            "created": created,
            "failed": failed,
            "results": results,
            "updated_at": at,
        }
        if state != "running":
            values |= {"finished_at": at, "expires_at": expires_at}
        await self.conn.execute(
            update(t.bulk_jobs).where(_J.workspace_id == self.ws, _J.id == job_id).values(values)
        )

    async def get(self, job_id: str, *, now: datetime, with_results: bool = True) -> Any:
        columns = (
            list(t.bulk_jobs.c)
            if with_results
            else [c for c in t.bulk_jobs.c if c.name != "results"]
        )
        q = select(*columns).where(
            _J.workspace_id == self.ws,
            _J.id == job_id,
            (_J.expires_at.is_(None)) | (_J.expires_at > now),
        )
        return (await self.conn.execute(q)).first()

    async def recent(self, *, now: datetime, limit: int = 10) -> list[Any]:
        columns = [c for c in t.bulk_jobs.c if c.name != "results"]
        q = (
            select(*columns)
            .where(_J.workspace_id == self.ws, (_J.expires_at.is_(None)) | (_J.expires_at > now))
            .order_by(_J.started_at.desc())
            .limit(limit)
        )
        return list((await self.conn.execute(q)).all())

    async def downloaded(self, job_id: str, *, at: datetime, expires_at: datetime) -> None:
        """The first download: keep the results a little longer for a second one, no more."""
        await self.conn.execute(
            update(t.bulk_jobs)
            .where(_J.workspace_id == self.ws, _J.id == job_id, _J.downloaded_at.is_(None))
            .values(downloaded_at=at, expires_at=expires_at)
        )


async def purge_expired_bulk_jobs(conn: AsyncConnection, now: datetime) -> int:
    """Every workspace's expired results (called when a job starts and by the worker)."""
    result = await conn.execute(delete(t.bulk_jobs).where(_J.expires_at <= now))
    return int(result.rowcount or 0)
