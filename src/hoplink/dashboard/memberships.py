"""Membership reads and writes the storage layer does not offer yet.

These belong in ``hoplink.storage.accounts`` (UserRepo) and an accounts service; they
are here, as thin helpers on the caller's transaction, until they move there.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from hoplink.errors import Conflict, NotFound
from hoplink.storage import tables as t
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Role, Workspace

_M = t.memberships.c


async def workspaces_of(tx: Tx, user_id: str) -> list[tuple[Workspace, Role]]:
    """The workspaces a user is a member of, by name."""
    rows = await tx.conn.execute(
        select(_M.workspace_id, _M.role).where(_M.user_id == user_id).order_by(_M.created_at)
    )
    out: list[tuple[Workspace, Role]] = []
    for workspace_id, role in list(rows):
        ws = await tx.workspaces.get(workspace_id)
        if ws is not None:
            out.append((ws, Role(role)))
    return sorted(out, key=lambda pair: pair[0].name.lower())


async def _owners(tx: Tx, workspace_id: str) -> int:
    q = select(func.count()).where(_M.workspace_id == workspace_id, _M.role == Role.OWNER.value)
    return int((await tx.conn.execute(q)).scalar_one())


async def _role(tx: Tx, workspace_id: str, user_id: str) -> Role:
    membership = await tx.users.membership(user_id, workspace_id)
    if membership is None:
        raise NotFound("no such member in this workspace")
    return membership.role


async def set_role(tx: Tx, *, workspace_id: str, user_id: str, role: Role) -> None:
    """Change a member's role; the last owner cannot stop being one."""
    current = await _role(tx, workspace_id, user_id)
    if current is Role.OWNER and role is not Role.OWNER and await _owners(tx, workspace_id) <= 1:
        raise Conflict("a workspace needs at least one owner", code="last_owner")
    await tx.conn.execute(
        update(t.memberships)
        .where(_M.workspace_id == workspace_id, _M.user_id == user_id)
        .values(role=role.value)
    )


async def remove_member(tx: Tx, *, workspace_id: str, user_id: str) -> None:
    current = await _role(tx, workspace_id, user_id)
    if current is Role.OWNER and await _owners(tx, workspace_id) <= 1:
        raise Conflict("a workspace needs at least one owner", code="last_owner")
    await tx.conn.execute(
        delete(t.memberships).where(_M.workspace_id == workspace_id, _M.user_id == user_id)
    )
