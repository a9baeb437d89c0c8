"""Users and their memberships in workspaces."""

from __future__ import annotations

import re

from hoplink.accounts.models import Membership, User
from hoplink.accounts.passwords import check_strength, hash_password
from hoplink.errors import Conflict, FieldError, InvalidInput
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


async def add_member(tx: Tx, *, user: User, workspace: Workspace, role: Role) -> Membership:
    if await tx.users.membership(user.id, workspace.id) is not None:
        raise Conflict(f"{user.email} is already a member of {workspace.slug}", code="member")
    membership = Membership(user_id=user.id, workspace_id=workspace.id, role=role)
    await tx.users.add_membership(membership, utcnow())
    return membership
