"""First start of an embedded installation: a workspace, an admin, and a password shown once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from hoplink.accounts.users import add_member, create_user
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Role, Workspace, WorkspaceStatus
from hoplink.workspaces.service import create_workspace

# Our e-mail rule wants a dot in the domain, so not "admin@localhost".
ADMIN_EMAIL = "admin@hoplink.local"
WORKSPACE_NAME = "My Store"
WORKSPACE_SLUG = "my-store"


@dataclass(frozen=True, slots=True)
class FirstRun:
    """What the operator must be told once: the password is not stored anywhere in clear."""

    email: str
    password: str
    workspace: Workspace


async def bootstrap(tx: Tx) -> FirstRun | None:
    """Set up a fresh installation (no user yet); on any later start, do nothing.

    Creates the verified workspace "My Store" (``my-store``, or takes the one that
    exists) and the platform admin ``admin@hoplink.local`` as its owner, with a
    random password. Concurrent first starts are serialised by the write transaction.
    """
    if await tx.users.any():
        return None
    workspace = await tx.workspaces.find(WORKSPACE_SLUG) or await create_workspace(
        tx, name=WORKSPACE_NAME, slug=WORKSPACE_SLUG, status=WorkspaceStatus.VERIFIED
    )
    password = secrets.token_urlsafe(15)  # 20 characters, 120 random bits
    user = await create_user(tx, email=ADMIN_EMAIL, password=password, is_platform_admin=True)
    await add_member(tx, user=user, workspace=workspace, role=Role.OWNER)
    return FirstRun(email=user.email, password=password, workspace=workspace)
