"""Invitations by link: an owner or admin invites an e-mail address with a role; whoever
opens the link sets their own password (or, with an account already, confirms it) and
joins. The link works once, expires (``HOPLINK_INVITATION_DAYS``) and can be revoked; only
the SHA-256 of its secret is stored."""

from __future__ import annotations

import secrets
from datetime import timedelta

from hoplink import audit
from hoplink.accounts.models import Invitation, Membership, User
from hoplink.accounts.recovery import token_id, well_formed
from hoplink.accounts.users import add_member, create_user, normalize_email
from hoplink.errors import Conflict, NotFound
from hoplink.ids import new_id, utcnow
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Role, Workspace


async def invite(
    tx: Tx,
    *,
    workspace: Workspace,
    email: str,
    role: Role,
    lifetime: timedelta,
    actor: str | None,
) -> tuple[Invitation, str]:
    """A new invitation and its link's secret (shown once)."""
    email = normalize_email(email)
    found = await tx.users.by_email(email)
    if found is not None and await tx.users.membership(found[0].id, workspace.id) is not None:
        raise Conflict(f"{email} is already a member of {workspace.slug}", code="member")
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    invitation = Invitation(
        id=new_id("inv"),
        workspace_id=workspace.id,
        email=email,
        role=role,
        created_by=actor,
        created_at=now,
        expires_at=now + lifetime,
        accepted_at=None,
        accepted_by=None,
        revoked_at=None,
    )
    await tx.invitations.insert(invitation, token_id(secret))
    await audit.record(
        tx,
        action=audit.INVITATION_CREATED,
        actor=actor,
        workspace_id=workspace.id,
        target=invitation.id,
        detail={"email": email, "role": role.value},
    )
    return invitation, secret


async def open_invitation(tx: Tx, *, secret: str) -> tuple[Invitation, Workspace] | None:
    """The pending invitation with this secret and its workspace; None otherwise (unknown,
    accepted, revoked, expired: the page says the same for each)."""
    if not well_formed(secret):
        return None
    invitation = await tx.invitations.by_token_hash(token_id(secret))
    if invitation is None or not invitation.pending(utcnow()):
        return None
    workspace = await tx.workspaces.get(invitation.workspace_id)
    return (invitation, workspace) if workspace is not None else None


async def accept(
    tx: Tx, *, secret: str, user: User | None, password: str | None = None
) -> tuple[User, Membership]:
    """Join through the link: as ``user`` (who proved their password or is signed in as
    the invited address), or as a new account with ``password``."""
    found = await open_invitation(tx, secret=secret)
    if found is None:
        raise NotFound("this invitation is unknown, used, revoked or expired")
    invitation, workspace = found
    if user is None:
        if await tx.users.by_email(invitation.email) is not None:
            raise Conflict("an account with this e-mail address exists", code="email_taken")
        user = await create_user(tx, email=invitation.email, password=password or "")
    elif user.email != invitation.email:
        raise NotFound("this invitation is for another e-mail address")
    if not await tx.invitations.accept(invitation.id, user.id, utcnow()):
        raise NotFound("this invitation is unknown, used, revoked or expired")
    existing = await tx.users.membership(user.id, workspace.id)
    membership = existing or await add_member(
        tx, user=user, workspace=workspace, role=invitation.role, actor=f"user:{user.id}"
    )
    await audit.record(
        tx,
        action=audit.INVITATION_ACCEPTED,
        actor=f"user:{user.id}",
        workspace_id=workspace.id,
        target=invitation.id,
        detail={"email": invitation.email, "role": membership.role.value},
    )
    return user, membership


async def revoke(tx: Tx, *, workspace_id: str, invitation_id: str, actor: str | None) -> None:
    if not await tx.invitations.revoke(workspace_id, invitation_id, utcnow()):
        if await tx.invitations.get(workspace_id, invitation_id) is None:
            raise NotFound("no such invitation in this workspace")
        return  # accepted or revoked before: nothing happened now
    await audit.record(
        tx,
        action=audit.INVITATION_REVOKED,
        actor=actor,
        workspace_id=workspace_id,
        target=invitation_id,
        detail={},
    )
