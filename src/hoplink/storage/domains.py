from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.links.models import Domain
from hoplink.storage import changes
from hoplink.storage import tables as t


def _domain(row: Row[Any]) -> Domain:
    return Domain(
        id=row.id, hostname=row.hostname, workspace_id=row.workspace_id, is_default=row.is_default
    )


class DomainRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def by_hostname(self, hostname: str) -> Domain | None:
        row = (
            await self.conn.execute(select(t.domains).where(t.domains.c.hostname == hostname))
        ).first()
        return _domain(row) if row else None

    async def get(self, domain_id: str) -> Domain | None:
        row = (
            await self.conn.execute(select(t.domains).where(t.domains.c.id == domain_id))
        ).first()
        return _domain(row) if row else None

    async def hostnames(self) -> list[str]:
        """Every short-link domain (with its port, if any): destinations must not be one."""
        return list((await self.conn.execute(select(t.domains.c.hostname))).scalars())

    async def default(self) -> Domain | None:
        row = (
            await self.conn.execute(select(t.domains).where(t.domains.c.is_default.is_(True)))
        ).first()
        return _domain(row) if row else None

    async def insert(self, domain: Domain, at: datetime) -> None:
        await self.conn.execute(
            t.domains.insert().values(
                id=domain.id,
                hostname=domain.hostname,
                workspace_id=domain.workspace_id,
                is_default=domain.is_default,
                created_at=at,
            )
        )
        await changes.record(self.conn, changes.EVERYTHING)

    async def clear_default(self) -> None:
        await self.conn.execute(update(t.domains).values(is_default=False))
        await changes.record(self.conn, changes.EVERYTHING)

    async def set_default(self, domain_id: str) -> None:
        await self.conn.execute(
            update(t.domains).where(t.domains.c.id == domain_id).values(is_default=True)
        )
