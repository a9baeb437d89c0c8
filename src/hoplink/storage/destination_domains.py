from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.safety.models import (
    DestinationDomain,
    DestinationDomainMethod,
    DestinationDomainStatus,
)
from hoplink.storage import tables as t

_wd = t.workspace_domains


def _destination_domain(row: Row[Any]) -> DestinationDomain:
    return DestinationDomain(
        id=row.id,
        workspace_id=row.workspace_id,
        hostname=row.hostname,
        token=row.token,
        status=DestinationDomainStatus(row.status),
        method=DestinationDomainMethod(row.method) if row.method else None,
        last_error=row.last_error,
        created_at=row.created_at,
        checked_at=row.checked_at,
        verified_at=row.verified_at,
        next_check_at=row.next_check_at,
        failed_checks=row.failed_checks,
        failing_since=row.failing_since,
    )


class DestinationDomainRepo:
    """One workspace's claimed destination domains; no method reaches another's."""

    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self._mine = _wd.c.workspace_id == workspace_id

    async def insert(self, domain: DestinationDomain) -> None:
        await self.conn.execute(
            _wd.insert().values(
                id=domain.id,
                workspace_id=self.workspace_id,
                hostname=domain.hostname,
                token=domain.token,
                method=domain.method.value if domain.method else None,
                status=domain.status.value,
                last_error=domain.last_error,
                created_at=domain.created_at,
                checked_at=domain.checked_at,
                verified_at=domain.verified_at,
            )
        )

    async def all(self) -> list[DestinationDomain]:
        rows = await self.conn.execute(select(_wd).where(self._mine).order_by(_wd.c.hostname))
        return [_destination_domain(row) for row in rows]

    async def get(self, domain_id: str) -> DestinationDomain | None:
        row = (
            await self.conn.execute(select(_wd).where(self._mine, _wd.c.id == domain_id))
        ).first()
        return _destination_domain(row) if row else None

    async def by_hostname(self, hostname: str) -> DestinationDomain | None:
        query = select(_wd).where(self._mine, _wd.c.hostname == hostname)
        row = (await self.conn.execute(query)).first()
        return _destination_domain(row) if row else None

    async def verified_hostnames(self) -> list[str]:
        query = select(_wd.c.hostname).where(
            self._mine, _wd.c.status == DestinationDomainStatus.VERIFIED
        )
        return list((await self.conn.execute(query)).scalars())

    async def record_check(
        self,
        domain_id: str,
        *,
        status: DestinationDomainStatus,
        method: DestinationDomainMethod | None,
        error: str | None,
        at: datetime,
        failed_checks: int = 0,
        failing_since: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status.value,
            "last_error": error,
            "checked_at": at,
            "failed_checks": failed_checks,
            "failing_since": failing_since,
        }
        if status is DestinationDomainStatus.VERIFIED:
            values |= {"method": method.value if method else None, "verified_at": at}
        await self.conn.execute(update(_wd).where(self._mine, _wd.c.id == domain_id).values(values))

    async def note_check(
        self,
        domain_id: str,
        *,
        error: str | None,
        at: datetime,
        failed_checks: int,
        failing_since: datetime | None,
    ) -> None:
        """A re-check of a verified domain that leaves it verified: when, what it found."""
        values = {
            "last_error": error,
            "checked_at": at,
            "failed_checks": failed_checks,
            "failing_since": failing_since,
        }
        await self.conn.execute(update(_wd).where(self._mine, _wd.c.id == domain_id).values(values))

    async def delete(self, domain_id: str) -> bool:
        result = await self.conn.execute(delete(_wd).where(self._mine, _wd.c.id == domain_id))
        return bool(result.rowcount)
