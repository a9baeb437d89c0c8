"""Platform-wide moderation rows: link bans and visitor reports, across workspaces.

Only platform admins (and the public report form, for inserts) reach these; every
seller-facing read of a ban goes through the workspace-scoped ``LinkRepo``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import FromClause, Row, Select, Table, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.links.models import LinkBan
from hoplink.moderation.models import BanView, LinkRef, Report, ReportStatus, ReportView
from hoplink.storage import changes
from hoplink.storage import tables as t
from hoplink.storage.links import link_ban

_B, _R, _L = t.link_bans.c, t.link_reports.c, t.links.c


def _link_columns() -> list[Any]:
    return [
        _L.id.label("l_id"),
        _L.workspace_id.label("l_workspace_id"),
        t.workspaces.c.slug.label("l_slug"),
        t.domains.c.hostname.label("l_domain"),
        _L.code.label("l_code"),
        _L.destination_url.label("l_destination"),
    ]


def _with_link(q: Select[Any], base: Table | None = None) -> Select[Any]:
    """``q`` reading from ``base`` (a table with link_id) joined to its link, or links alone."""
    joined: FromClause = t.links
    if base is not None:
        joined = base.join(t.links, _L.id == base.c.link_id)
    joined = joined.join(t.domains, t.domains.c.id == _L.domain_id).join(
        t.workspaces, t.workspaces.c.id == _L.workspace_id
    )
    return q.select_from(joined)


def _link_ref(row: Row[Any]) -> LinkRef:
    return LinkRef(
        id=row.l_id,
        workspace_id=row.l_workspace_id,
        workspace_slug=row.l_slug,
        domain=row.l_domain,
        code=row.l_code,
        destination_url=row.l_destination,
    )


def _report(row: Row[Any]) -> Report:
    return Report(
        id=row.id,
        workspace_id=row.workspace_id,
        link_id=row.link_id,
        short_url=row.short_url,
        category=row.category,
        message=row.message,
        contact_email=row.contact_email,
        reporter_hash=row.reporter_hash,
        status=ReportStatus(row.status),
        created_at=row.created_at,
        handled_by=row.handled_by,
        handled_at=row.handled_at,
        resolution=row.resolution,
    )


class ModerationRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # --- links, platform-wide ---------------------------------------------------------

    async def link(self, link_id: str) -> LinkRef | None:
        """A live (not deleted) link of any workspace."""
        q = _with_link(select(*_link_columns())).where(_L.id == link_id, _L.deleted_at.is_(None))
        row = (await self.conn.execute(q)).first()
        return _link_ref(row) if row else None

    async def link_by_short(self, hostname: str, code: str) -> LinkRef | None:
        """The live link at hostname/code (codes are case-sensitive), in any workspace."""
        q = _with_link(select(*_link_columns())).where(
            t.domains.c.hostname == hostname, _L.code == code, _L.deleted_at.is_(None)
        )
        row = (await self.conn.execute(q)).first()
        return _link_ref(row) if row else None

    # --- bans -------------------------------------------------------------------------

    async def insert_ban(self, ban: LinkBan) -> None:
        await self.conn.execute(
            t.link_bans.insert().values(
                id=ban.id,
                workspace_id=ban.workspace_id,
                link_id=ban.link_id,
                reason=ban.reason,
                report_id=ban.report_id,
                banned_by=ban.banned_by,
                banned_at=ban.banned_at,
            )
        )
        await changes.record(self.conn, changes.LINK, ban.link_id)

    async def active_ban(self, link_id: str) -> LinkBan | None:
        q = select(t.link_bans).where(_B.link_id == link_id, _B.lifted_at.is_(None))
        row = (await self.conn.execute(q)).first()
        return link_ban(row) if row else None

    async def ban(self, ban_id: str) -> LinkBan | None:
        row = (await self.conn.execute(select(t.link_bans).where(_B.id == ban_id))).first()
        return link_ban(row) if row else None

    async def lift_ban(self, ban_id: str, *, by: str | None, at: datetime, reason: str) -> bool:
        result = await self.conn.execute(
            update(t.link_bans)
            .where(_B.id == ban_id, _B.lifted_at.is_(None))
            .values(lifted_by=by, lifted_at=at, lift_reason=reason)
        )
        if result.rowcount:
            link_id = (await self.conn.execute(select(_B.link_id).where(_B.id == ban_id))).scalar()
            await changes.record(self.conn, changes.LINK, link_id)
        return bool(result.rowcount)

    async def bans(self, *, active: bool = True, limit: int = 200) -> list[BanView]:
        q = _with_link(select(t.link_bans, *_link_columns()), t.link_bans)
        if active:
            q = q.where(_B.lifted_at.is_(None))
        q = q.order_by(_B.banned_at.desc(), _B.id).limit(limit)
        return [BanView(link_ban(r), _link_ref(r)) for r in await self.conn.execute(q)]

    # --- reports ----------------------------------------------------------------------

    async def insert_report(self, report: Report) -> None:
        await self.conn.execute(
            t.link_reports.insert().values(
                id=report.id,
                workspace_id=report.workspace_id,
                link_id=report.link_id,
                short_url=report.short_url,
                category=report.category,
                message=report.message,
                contact_email=report.contact_email,
                reporter_hash=report.reporter_hash,
                status=report.status.value,
                created_at=report.created_at,
            )
        )

    async def report(self, report_id: str) -> Report | None:
        row = (await self.conn.execute(select(t.link_reports).where(_R.id == report_id))).first()
        return _report(row) if row else None

    async def reports(self, *, status: ReportStatus | None, limit: int = 200) -> list[ReportView]:
        active = (
            select(_B.id)
            .where(and_(_B.link_id == _R.link_id, _B.lifted_at.is_(None)))
            .exists()
            .label("banned")
        )
        q = _with_link(select(t.link_reports, *_link_columns(), active), t.link_reports)
        if status is not None:
            q = q.where(_R.status == status.value)
        q = q.order_by(_R.created_at.desc(), _R.id).limit(limit)
        return [
            ReportView(_report(r), _link_ref(r), bool(r.banned)) for r in await self.conn.execute(q)
        ]

    async def set_report_status(
        self,
        report_id: str,
        *,
        status: ReportStatus,
        by: str | None,
        at: datetime,
        resolution: str | None,
    ) -> bool:
        result = await self.conn.execute(
            update(t.link_reports)
            .where(_R.id == report_id)
            .values(status=status.value, handled_by=by, handled_at=at, resolution=resolution)
        )
        return bool(result.rowcount)
