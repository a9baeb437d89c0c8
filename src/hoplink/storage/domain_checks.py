"""The schedule of periodic domain re-checks (hoplink.domains.rechecker), across workspaces.

Two kinds of verified domains are re-checked: custom short domains (``domains``) and
verified destination domains (``workspace_domains``). Domains an admin vouched for are not:
they have no proof to re-check. Several worker processes may run the re-checker: a domain
is claimed by one conditional UPDATE that moves its next check a lease ahead, so only the
process whose UPDATE matched checks it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Table, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t


class DomainKind(StrEnum):
    SHORT = "short"  # a workspace's custom short domain
    DESTINATION = "destination"  # a workspace's verified destination domain


@dataclass(frozen=True, slots=True)
class DueCheck:
    kind: DomainKind
    domain_id: str
    workspace_id: str


_TABLES: dict[DomainKind, Table] = {
    DomainKind.SHORT: t.domains,
    DomainKind.DESTINATION: t.workspace_domains,
}


def _checkable(table: Table) -> list[ColumnElement[bool]]:
    c = table.c
    return [
        c.workspace_id.is_not(None),  # platform domains are the operator's own
        c.status == "verified",
        or_(c.method.is_(None), c.method != "admin"),
    ]


class DomainCheckQueue:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def schedule_new(self, *, now: datetime, interval: timedelta) -> int:
        """Give verified domains without a next check one, at a point of the interval
        derived from the id: a thousand domains verified at once arrive as a trickle."""
        seconds = max(1, int(interval.total_seconds()))
        scheduled = 0
        for table in _TABLES.values():
            c = table.c
            ids = (
                await self.conn.execute(
                    select(c.id).where(*_checkable(table), c.next_check_at.is_(None))
                )
            ).scalars()
            for domain_id in list(ids):
                at = now + timedelta(seconds=zlib.crc32(domain_id.encode()) % seconds)
                await self.conn.execute(
                    update(table)
                    .where(c.id == domain_id, c.next_check_at.is_(None))
                    .values(next_check_at=at)
                )
                scheduled += 1
        return scheduled

    async def anything_to_do(self, *, now: datetime) -> bool:
        """Whether a verified domain awaits its first schedule or its check (read only: on
        SQLite the idle poll then never takes the write lock the click worker needs)."""
        for table in _TABLES.values():
            c = table.c
            waiting = or_(c.next_check_at.is_(None), c.next_check_at <= now)
            found = await self.conn.execute(
                select(c.id).where(*_checkable(table), waiting).limit(1)
            )
            if found.first() is not None:
                return True
        return False

    async def due(self, *, now: datetime, limit: int) -> list[DueCheck]:
        """Verified domains whose next check has come, the longest waiting first."""
        found: list[tuple[datetime, DueCheck]] = []
        for kind, table in _TABLES.items():
            c = table.c
            rows = await self.conn.execute(
                select(c.id, c.workspace_id, c.next_check_at)
                .where(*_checkable(table), c.next_check_at <= now)
                .order_by(c.next_check_at)
                .limit(limit)
            )
            found += [(r.next_check_at, DueCheck(kind, r.id, r.workspace_id)) for r in rows]
        found.sort(key=lambda pair: pair[0])
        return [due for _, due in found[:limit]]

    async def claim(self, due: DueCheck, *, now: datetime, lease_until: datetime) -> bool:
        """Take a due check (moving it ``lease_until`` ahead); False if another took it."""
        table = _TABLES[due.kind]
        c = table.c
        result = await self.conn.execute(
            update(table)
            .where(and_(c.id == due.domain_id, c.next_check_at <= now))
            .values(next_check_at=lease_until)
        )
        return bool(result.rowcount)

    async def reschedule(self, due: DueCheck, at: datetime) -> None:
        table = _TABLES[due.kind]
        await self.conn.execute(
            update(table).where(table.c.id == due.domain_id).values(next_check_at=at)
        )
