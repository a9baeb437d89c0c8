"""Who is asking, in which workspace, with which role — loaded once per request.

A workspace is addressed by its slug in the URL (``/app/w/<slug>/…``), so two tabs on two
workspaces never post into the wrong one. A workspace the user is not a member of answers
exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.types import Scope

from hoplink.accounts import sessions, totp
from hoplink.accounts.models import User
from hoplink.dashboard.sessions import MAX_AGE
from hoplink.dashboard.throttle import SharedLoginThrottle
from hoplink.errors import NotFound, PermissionDenied, ServiceUnavailable, WorkspaceSuspended
from hoplink.runtime import Runtime
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Role, Workspace, WorkspaceStatus

if TYPE_CHECKING:
    from hoplink.dashboard.bulkjobs import BulkJobs

PREFIX = "/app"
log = logging.getLogger("hoplink.dashboard")


class SignInRequired(Exception):
    """Not signed in (or the sign-in expired): the page redirects to the sign-in form."""


class TwoFactorRequired(Exception):
    """The workspace's owner requires a second factor and this user has none yet: the page
    redirects to enrolment on the account page (nothing of the workspace is shown)."""


@dataclass(slots=True)
class Services:
    runtime: Runtime
    throttle: SharedLoginThrottle
    jobs: BulkJobs
    client_ip: Callable[[Scope], str | None]
    is_https: Callable[[Scope], bool]


def services(request: Request) -> Services:
    found: Services | None = getattr(request.app.state, "services", None)
    if found is None:
        raise ServiceUnavailable("the dashboard is starting; try again in a moment")
    return found


@dataclass(frozen=True, slots=True)
class Viewer:
    user: User
    workspace: Workspace
    role: Role
    workspaces: list[tuple[Workspace, Role]]
    # Unacknowledged destination health alerts (degraded or broken), shown on every page.
    health_alerts: int = 0

    @property
    def base(self) -> str:
        return f"{PREFIX}/w/{self.workspace.slug}"

    @property
    def suspended(self) -> bool:
        return self.workspace.status is WorkspaceStatus.SUSPENDED

    @property
    def can_edit(self) -> bool:
        # A suspended workspace is read-only for everyone in it (issue 6).
        return self.role.can_edit_links and not self.suspended

    @property
    def can_manage(self) -> bool:
        return self.role.can_manage_workspace

    @property
    def actor(self) -> str:
        return f"user:{self.user.id}"

    def require_edit(self) -> None:
        if self.suspended:
            raise WorkspaceSuspended(
                "this workspace is suspended; its links cannot be changed. Contact the"
                " platform operator."
            )
        if not self.can_edit:
            raise PermissionDenied("viewers can see links and stats but not change them")

    def require_manage(self) -> None:
        if not self.can_manage:
            raise PermissionDenied("only owners and admins can change workspace settings")


async def current_user(tx: Tx, request: Request) -> User | None:
    """The signed-in user: the cookie must name a live server-side session of theirs
    (hoplink.accounts.sessions), so a session ended anywhere ends here at once."""
    session = request.session
    user_id, signed_in_at, secret = session.get("uid"), session.get("iat"), session.get("sid")
    if not isinstance(user_id, str) or not isinstance(signed_in_at, int | float):
        return None
    if not isinstance(secret, str) or time.time() - signed_in_at > MAX_AGE:
        return None  # a cookie from before server-side sessions, or past its lifetime
    live = await sessions.live_session(tx, secret=secret)
    if live is None or live.user_id != user_id:
        return None
    if sessions.touch_due(live):
        _touch_later(services(request).runtime, live.id)
    return await tx.users.get(user_id)


_touching: set[asyncio.Task[None]] = set()


def _touch_later(runtime: Runtime, session_id: str) -> None:
    """last_seen_at in a write transaction of its own, after this request's read one."""

    async def touch() -> None:
        try:
            async with runtime.db.transaction() as tx:
                await sessions.touch(tx, session_id=session_id)
        except Exception:  # a missed "last seen" note is not worth failing anything for
            log.warning("could not note a session's last visit", exc_info=True)

    task = asyncio.create_task(touch())
    _touching.add(task)
    task.add_done_callback(_touching.discard)


async def workspaces_for(tx: Tx, user: User) -> list[tuple[Workspace, Role]]:
    from hoplink.accounts.users import workspaces_of

    mine = await workspaces_of(tx, user.id)
    if not user.is_platform_admin:
        return mine
    # Platform operators see every workspace, as admins where they are not members.
    roles = {ws.id: role for ws, role in mine}
    everything = [(ws, roles.get(ws.id, Role.ADMIN)) for ws in await tx.workspaces.all()]
    return sorted(everything, key=lambda pair: pair[0].name.lower())


async def load_viewer(tx: Tx, request: Request, slug: str) -> Viewer:
    user = await current_user(tx, request)
    if user is None:
        raise SignInRequired()
    workspaces = await workspaces_for(tx, user)
    for ws, role in workspaces:
        if ws.slug == slug:
            if await tx.workspace_security.requires_totp(ws.id) and not await totp.is_enabled(
                tx, user.id
            ):
                raise TwoFactorRequired()
            request.session["ws"] = slug
            alerts = await tx.health(ws.id).alerts()
            return Viewer(
                user=user, workspace=ws, role=role, workspaces=workspaces, health_alerts=alerts
            )
    raise NotFound("no such workspace")
