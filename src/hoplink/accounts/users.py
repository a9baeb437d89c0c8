"""Users and their memberships in workspaces."""

from __future__ import annotations

import re

from hoplink import audit
from hoplink.accounts.apikeys import revoke_member_keys
from hoplink.accounts.models import Membership, User
from hoplink.accounts.passwords import check_strength, hash_password
from hoplink.accounts.sessions import end_sessions
from hoplink.errors import Conflict, FieldError, InvalidInput, NotFound
from hoplink.ids import new_id, utcnow
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Role, Workspace

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL_RE.match(email):
        raise InvalidInput(FieldError("email", "invalid", "is not a valid e-mail address"))
    return email


async def create_user(
    tx: Tx, *, email: str, password: str, is_platform_admin: bool = False
) -> User:
    email = normalize_email(email)
    check_strength(password)
    if await tx.users.by_email(email) is not None:
        raise Conflict("a user with this e-mail address already exists", code="email_taken")
    user = User(
        id=new_id("usr"), email=email, is_platform_admin=is_platform_admin, created_at=utcnow()
    )
    await tx.users.insert(user, hash_password(password))
    return user


async def add_member(
    tx: Tx, *, user: User, workspace: Workspace, role: Role, actor: str | None = None
) -> Membership:
    if await tx.users.membership(user.id, workspace.id) is not None:
        raise Conflict(f"{user.email} is already a member of {workspace.slug}", code="member")
    membership = Membership(user_id=user.id, workspace_id=workspace.id, role=role)
    await tx.users.add_membership(membership, utcnow())
    await audit.record(
        tx,
        action=audit.MEMBER_ADDED,
        actor=actor,
        workspace_id=workspace.id,
        target=user.id,
        detail={"email": user.email, "role": role.value},
    )
    return membership


async def workspaces_of(tx: Tx, user_id: str) -> list[tuple[Workspace, Role]]:
    """The workspaces a user is a member of, by name."""
    out: list[tuple[Workspace, Role]] = []
    for workspace_id, role in await tx.users.workspace_roles(user_id):
        ws = await tx.workspaces.get(workspace_id)
        if ws is not None:
            out.append((ws, role))
    return sorted(out, key=lambda pair: pair[0].name.lower())


async def _role(tx: Tx, workspace_id: str, user_id: str) -> Role:
    membership = await tx.users.membership(user_id, workspace_id)
    if membership is None:
        raise NotFound("no such member in this workspace")
    return membership.role


async def set_role(
    tx: Tx, *, workspace_id: str, user_id: str, role: Role, actor: str | None = None
) -> None:
    """Change a member's role; the last owner cannot stop being one."""
    current = await _role(tx, workspace_id, user_id)
    if (
        current is Role.OWNER
        and role is not Role.OWNER
        and await tx.users.count_owners(workspace_id) <= 1
    ):
        raise Conflict("a workspace needs at least one owner", code="last_owner")
    await tx.users.set_role(workspace_id, user_id, role)
    if role is not current:
        await audit.record(
            tx,
            action=audit.MEMBER_ROLE_CHANGED,
            actor=actor,
            workspace_id=workspace_id,
            target=user_id,
            detail={"old": current.value, "new": role.value},
        )


async def remove_member(
    tx: Tx, *, workspace_id: str, user_id: str, actor: str | None = None
) -> None:
    current = await _role(tx, workspace_id, user_id)
    if current is Role.OWNER and await tx.users.count_owners(workspace_id) <= 1:
        raise Conflict("a workspace needs at least one owner", code="last_owner")
    await tx.users.remove_membership(workspace_id, user_id)
    # Their API keys do not outlive their membership (a leaver's copy of a key stops now).
    revoked = await revoke_member_keys(
        tx, workspace_id=workspace_id, user_id=user_id, reason="member_removed", actor=actor
    )
    # A removed member's open dashboards end now, not when their cookie expires (they sign
    # in again for any other workspace they belong to).
    await end_sessions(tx, user_id=user_id, actor=actor)
    await audit.record(
        tx,
        action=audit.MEMBER_REMOVED,
        actor=actor,
        workspace_id=workspace_id,
        target=user_id,
        detail={"role": current.value, "api_keys_revoked": str(revoked)},
    )
