"""Workspaces (one seller each), their settings and members."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace

from hoplink.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    WorkspaceNotVerified,
    WorkspaceSuspended,
)
from hoplink.events import WorkspaceChanged
from hoplink.ids import new_id, random_base62, utcnow
from hoplink.storage.tx import Tx
from hoplink.unset import UNSET
from hoplink.workspaces.edit import WorkspaceEdit, WorkspaceUpdate, check_edit, edit_errors
from hoplink.workspaces.models import Workspace, WorkspaceStatus

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:50]
    return slug if len(slug) >= 3 else f"ws-{random_base62(6).lower()}"


async def create_workspace(
    tx: Tx,
    *,
    name: str,
    slug: str | None = None,
    seller_id: str | None = None,
    timezone: str = "UTC",
    param_template: Mapping[str, str] | None = None,
    custom_channels: Sequence[str] = (),
    status: WorkspaceStatus = WorkspaceStatus.UNVERIFIED,
    click_id_enabled: bool = True,
    click_id_param: str = "",
) -> Workspace:
    errors, checked = edit_errors(
        WorkspaceEdit(
            name=name,
            seller_id=seller_id,
            timezone=timezone,
            param_template=param_template or {},
            custom_channels=custom_channels,
            click_id_enabled=click_id_enabled,
            click_id_param=click_id_param,
        )
    )
    if slug is not None and not _SLUG_RE.match(slug):
        errors.append(
            FieldError("slug", "invalid", "use 3 to 64 lowercase letters, digits and '-'")
        )
    if errors:
        raise InvalidInput(errors)
    ws = checked.applied_to(
        Workspace(
            id=new_id("ws"),
            slug=slug or "",
            name=name,
            seller_id=None,
            timezone=timezone,
            status=status,
            created_at=utcnow(),
        )
    )
    if slug is None:
        slug = slugify(ws.name)
        while await tx.workspaces.slug_exists(slug):
            slug = f"{slug[:56]}-{random_base62(4).lower()}"
    elif await tx.workspaces.slug_exists(slug):
        raise Conflict(f"a workspace with slug {slug!r} already exists", code="slug_taken")
    ws = replace(ws, slug=slug)
    await tx.workspaces.insert(ws)
    return ws


async def update_workspace(tx: Tx, *, workspace_id: str, edit: WorkspaceEdit) -> Workspace:
    """Change settings. A new parameter template applies to links created or edited later;
    the click-id settings and ``fallback_url`` (None or "" clears it) to redirects after
    commit."""
    update = check_edit(edit)
    before = await tx.workspaces.get(workspace_id) if update.fallback_url is not UNSET else None
    if not update.empty:
        await tx.workspaces.update(workspace_id, update)
    if update.click_id_enabled is not UNSET or update.click_id_param is not UNSET:
        # Every redirect of the workspace carries these (Target.click_param).
        tx.record(WorkspaceChanged(workspace_id, "click_id"))
    ws = await tx.workspaces.get(workspace_id)
    if ws is None:
        raise NotFound("no such workspace")
    if before is not None and before.fallback_url != ws.fallback_url:
        tx.record(WorkspaceChanged(ws.id, "fallback_url"))  # cached targets carry it
    return ws


async def find_workspace(tx: Tx, ref: str) -> Workspace:
    """A workspace by id or slug, or NotFound naming what was looked for."""
    ws = await tx.workspaces.find(ref)
    if ws is None:
        raise NotFound(f"no workspace with id or slug {ref!r}")
    return ws


async def set_status(tx: Tx, *, ref: str, status: WorkspaceStatus) -> Workspace:
    ws = await find_workspace(tx, ref)
    await tx.workspaces.update(ws.id, WorkspaceUpdate(status=status))
    tx.record(WorkspaceChanged(ws.id, "status"))
    updated = await tx.workspaces.get(ws.id)
    assert updated is not None
    return updated


def check_can_create_links(workspace: Workspace, *, require_verified: bool) -> None:
    """Seller eligibility: suspended workspaces never create links; unverified ones only when
    the operator turned the requirement off (HOPLINK_REQUIRE_VERIFIED_WORKSPACE=false)."""
    if workspace.status is WorkspaceStatus.SUSPENDED:
        raise WorkspaceSuspended(
            f"workspace {workspace.slug} is suspended; contact the platform operator"
        )
    if require_verified and workspace.status is not WorkspaceStatus.VERIFIED:
        raise WorkspaceNotVerified(
            f"workspace {workspace.slug} is not verified yet: only verified sellers can create"
            " links; ask the platform operator to verify it"
        )
