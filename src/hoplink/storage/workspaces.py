from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import changes
from hoplink.storage import tables as t
from hoplink.unset import Unset
from hoplink.workspaces.edit import WorkspaceUpdate
from hoplink.workspaces.models import Role, Workspace, WorkspaceStatus


def _workspace(row: Row[Any]) -> Workspace:
    return Workspace(
        id=row.id,
        slug=row.slug,
        name=row.name,
        seller_id=row.seller_id,
        timezone=row.timezone,
        status=WorkspaceStatus(row.status),
        created_at=row.created_at,
        param_template=dict(row.param_template or {}),
        custom_channels=list(row.custom_channels or []),
        status_reason=row.status_reason,
        status_before_suspension=(
            WorkspaceStatus(row.status_before_suspension) if row.status_before_suspension else None
        ),
        click_id_enabled=bool(row.click_id_enabled),
        click_id_param=row.click_id_param,
        fallback_url=row.fallback_url,
        links_per_day=row.links_per_day,
        links_per_month=row.links_per_month,
        short_domain_limit=row.short_domain_limit,
        short_domains_approved=bool(row.short_domains_approved),
    )


def _columns(change: WorkspaceUpdate) -> dict[str, object]:
    values: dict[str, object] = {}
    for f in fields(change):
        value = getattr(change, f.name)
        if isinstance(value, Unset):
            continue
        if isinstance(value, WorkspaceStatus):
            value = value.value
        elif isinstance(value, Mapping):  # the parameter template (JSON)
            value = dict(value)
        elif isinstance(value, tuple):  # the custom channels (JSON)
            value = list(value)
        values[f.name] = value
    return values


class WorkspaceRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(self, ws: Workspace) -> None:
        """Write every field of ``ws``: ``get`` reads back the same value."""
        await self.conn.execute(
            t.workspaces.insert().values(
                id=ws.id,
                slug=ws.slug,
                name=ws.name,
                seller_id=ws.seller_id,
                timezone=ws.timezone,
                status=ws.status.value,
                param_template=ws.param_template,
                custom_channels=ws.custom_channels,
                created_at=ws.created_at,
                click_id_enabled=ws.click_id_enabled,
                click_id_param=ws.click_id_param,
                status_reason=ws.status_reason,
                status_before_suspension=(
                    ws.status_before_suspension.value if ws.status_before_suspension else None
                ),
                fallback_url=ws.fallback_url,
                links_per_day=ws.links_per_day,
                links_per_month=ws.links_per_month,
                short_domain_limit=ws.short_domain_limit,
                short_domains_approved=ws.short_domains_approved,
            )
        )

    async def get(self, workspace_id: str) -> Workspace | None:
        row = (
            await self.conn.execute(select(t.workspaces).where(t.workspaces.c.id == workspace_id))
        ).first()
        return _workspace(row) if row else None

    async def find(self, ref: str) -> Workspace | None:
        """By ID or slug (the CLI accepts either)."""
        row = (
            await self.conn.execute(
                select(t.workspaces).where(
                    or_(t.workspaces.c.id == ref, t.workspaces.c.slug == ref)
                )
            )
        ).first()
        return _workspace(row) if row else None

    async def slug_exists(self, slug: str) -> bool:
        q = select(func.count()).select_from(t.workspaces).where(t.workspaces.c.slug == slug)
        return bool((await self.conn.execute(q)).scalar_one())

    async def all(self) -> list[Workspace]:
        rows = await self.conn.execute(select(t.workspaces).order_by(t.workspaces.c.created_at))
        return [_workspace(r) for r in rows]

    async def update(self, workspace_id: str, change: WorkspaceUpdate) -> None:
        """Write the fields ``change`` sets (each field is the column of its name)."""
        values = _columns(change)
        if not values:
            return
        await self.conn.execute(
            update(t.workspaces).where(t.workspaces.c.id == workspace_id).values(values)
        )
        if "status" in values:  # suspended or reinstated: its links stop or start again
            await changes.record(self.conn, changes.WORKSPACE, workspace_id)

    async def members(self, workspace_id: str) -> list[tuple[str, str, Role]]:
        """(user id, email, role) of everyone in the workspace."""
        q = (
            select(t.users.c.id, t.users.c.email, t.memberships.c.role)
            .join(t.memberships, t.memberships.c.user_id == t.users.c.id)
            .where(t.memberships.c.workspace_id == workspace_id)
            .order_by(t.users.c.email)
        )
        return [(r.id, r.email, Role(r.role)) for r in await self.conn.execute(q)]
