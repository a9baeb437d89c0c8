"""Short-link domains: the platform's and the workspaces' custom ones (issue 16)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.links.models import ShortDomain
from hoplink.storage import changes
from hoplink.storage import tables as t

_d = t.domains
# Columns a service may change with ``update``.
EDITABLE = frozenset(
    {
        "workspace_id",
        "status",
        "token",
        "method",
        "last_error",
        "checked_at",
        "verified_at",
        "root_url",
        "not_found_url",
        "robots",
        "forward_query",
        "workspace_default",
        "failed_checks",
        "failing_since",
    }
)
# What a check writes while the domain's state stays the same: no redirect node reloads.
CHECK_NOTES = frozenset({"last_error", "checked_at", "failed_checks", "failing_since"})


def _short_domain(row: Row[Any]) -> ShortDomain:
    return ShortDomain(
        id=row.id,
        hostname=row.hostname,
        workspace_id=row.workspace_id,
        is_default=row.is_default,
        status=row.status,
        token=row.token,
        method=row.method,
        last_error=row.last_error,
        checked_at=row.checked_at,
        verified_at=row.verified_at,
        root_url=row.root_url,
        not_found_url=row.not_found_url,
        robots=row.robots,
        forward_query=bool(row.forward_query),
        workspace_default=bool(row.workspace_default),
        created_at=row.created_at,
        next_check_at=row.next_check_at,
        failed_checks=row.failed_checks,
        failing_since=row.failing_since,
    )


class ShortDomainRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def by_hostname(self, hostname: str) -> ShortDomain | None:
        row = (await self.conn.execute(select(_d).where(_d.c.hostname == hostname))).first()
        return _short_domain(row) if row else None

    async def get(self, domain_id: str) -> ShortDomain | None:
        row = (await self.conn.execute(select(_d).where(_d.c.id == domain_id))).first()
        return _short_domain(row) if row else None

    async def hostnames(self) -> list[str]:
        """Every short-link domain (with its port, if any): destinations must not be one."""
        return list((await self.conn.execute(select(_d.c.hostname))).scalars())

    async def usable_by(self, workspace_id: str) -> list[ShortDomain]:
        """The platform's domains and the workspace's own verified ones: its default first,
        then the platform default."""
        q = (
            select(_d)
            .where(
                or_(
                    _d.c.workspace_id.is_(None),
                    and_(_d.c.workspace_id == workspace_id, _d.c.status == "verified"),
                )
            )
            .order_by(_d.c.workspace_default.desc(), _d.c.is_default.desc(), _d.c.hostname)
        )
        return [_short_domain(r) for r in await self.conn.execute(q)]

    async def of_workspace(self, workspace_id: str) -> list[ShortDomain]:
        """A workspace's custom domains in any state, removed ones included."""
        q = select(_d).where(_d.c.workspace_id == workspace_id).order_by(_d.c.hostname)
        return [_short_domain(r) for r in await self.conn.execute(q)]

    async def custom(self) -> list[ShortDomain]:
        """Every workspace's custom domains (the operator's view)."""
        q = select(_d).where(_d.c.workspace_id.is_not(None)).order_by(_d.c.hostname)
        return [_short_domain(r) for r in await self.conn.execute(q)]

    async def count_claimed(self, workspace_id: str) -> int:
        """Custom domains counted against the workspace's limit (all but removed ones)."""
        q = (
            select(func.count())
            .select_from(_d)
            .where(_d.c.workspace_id == workspace_id, _d.c.status != "removed")
        )
        return int((await self.conn.execute(q)).scalar_one())

    async def workspace_default(self, workspace_id: str) -> ShortDomain | None:
        q = select(_d).where(
            _d.c.workspace_id == workspace_id,
            _d.c.workspace_default.is_(True),
            _d.c.status == "verified",
        )
        row = (await self.conn.execute(q)).first()
        return _short_domain(row) if row else None

    async def default(self) -> ShortDomain | None:
        row = (await self.conn.execute(select(_d).where(_d.c.is_default.is_(True)))).first()
        return _short_domain(row) if row else None

    async def insert(self, domain: ShortDomain, at: datetime) -> None:
        await self.conn.execute(
            _d.insert().values(
                id=domain.id,
                hostname=domain.hostname,
                workspace_id=domain.workspace_id,
                is_default=domain.is_default,
                status=domain.status,
                token=domain.token,
                created_at=at,
            )
        )
        await changes.record(self.conn, changes.EVERYTHING)

    async def update(self, domain_id: str, **values: Any) -> None:
        """Change a domain's state or settings; every redirect node reloads its domains."""
        unknown = set(values) - EDITABLE
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        await self.conn.execute(update(_d).where(_d.c.id == domain_id).values(**values))
        await changes.record(self.conn, changes.EVERYTHING)

    async def note_check(self, domain_id: str, **values: Any) -> None:
        """Store a check's bookkeeping (when, what it found, the failure streak) without
        recording a change: nothing the redirect nodes serve depends on it."""
        unknown = set(values) - CHECK_NOTES
        if unknown:
            raise ValueError(f"not a check note: {sorted(unknown)}")
        await self.conn.execute(update(_d).where(_d.c.id == domain_id).values(**values))

    async def clear_workspace_default(self, workspace_id: str) -> None:
        await self.conn.execute(
            update(_d).where(_d.c.workspace_id == workspace_id).values(workspace_default=False)
        )

    async def clear_default(self) -> None:
        await self.conn.execute(update(_d).values(is_default=False))
        await changes.record(self.conn, changes.EVERYTHING)

    async def set_default(self, domain_id: str) -> None:
        await self.conn.execute(update(_d).where(_d.c.id == domain_id).values(is_default=True))
