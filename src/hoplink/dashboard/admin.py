"""Platform admin pages: workspaces, users, visitor reports, link bans, the audit log.

Only platform admins see them; to anyone else signed in they answer exactly like a page
that does not exist (404), so their existence is not advertised. Every action is a POST
with the CSRF token (checked by the middleware), takes a reason, and is audited by the
service it calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink import audit
from hoplink.accounts.models import User
from hoplink.accounts.sessions import end_sessions
from hoplink.accounts.users import normalize_email
from hoplink.dashboard.context import PREFIX, SignInRequired, current_user, services
from hoplink.dashboard.i18n import N_
from hoplink.dashboard.pages import describe_error, flash, gettext, render
from hoplink.errors import HoplinkError, InvalidInput, NotFound
from hoplink.ids import utcnow
from hoplink.instants import in_utc
from hoplink.moderation import reports, service
from hoplink.moderation.models import ReportStatus
from hoplink.runtime import Runtime
from hoplink.workspaces.models import Workspace, WorkspaceStatus

ADMIN = f"{PREFIX}/admin"
_PAGE = 200


async def _admin(request: Request) -> User:
    async with services(request).runtime.db.transaction(write=False) as tx:
        user = await current_user(tx, request)
    if user is None:
        raise SignInRequired()
    if not user.is_platform_admin:
        raise NotFound("no such page")
    return user


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _failed(request: Request, exc: HoplinkError) -> None:
    if isinstance(exc, InvalidInput):
        message = "; ".join(describe_error(request, e) for e in exc.errors)
    else:
        message = exc.message
    flash(request, message, "error")


async def _act(
    request: Request,
    back: str,
    done: Callable[[], str],
    action: Callable[[Runtime, str], Awaitable[None]],
) -> Response:
    """Run one admin action; success or the reason it failed is shown on the page ``back``."""
    user = await _admin(request)
    try:
        await action(services(request).runtime, f"user:{user.id}")
    except HoplinkError as exc:
        _failed(request, exc)
    else:
        flash(request, done())
    return RedirectResponse(back, status_code=303)


async def home(request: Request) -> Response:
    await _admin(request)
    return RedirectResponse(f"{ADMIN}/workspaces", status_code=303)


# --- users: sign out everywhere -------------------------------------------------------


async def users_page(request: Request) -> Response:
    user = await _admin(request)
    async with services(request).runtime.db.transaction(write=False) as tx:
        users = await tx.users.all()
        live = await tx.sessions.live_counts(utcnow())
    return render(request, "admin/users.html", admin=user, users=users, live=live)


async def sign_out_everywhere(request: Request) -> Response:
    """End every dashboard session of the user with the form's e-mail address."""
    form = await request.form()
    email = _text(form, "email")
    ended: list[int] = []

    async def act(runtime: Runtime, actor: str) -> None:
        async with runtime.db.transaction() as tx:
            found = await tx.users.by_email(normalize_email(email))
            if found is None:
                raise NotFound(gettext(request, "There is no user with this e-mail address."))
            ended.append(await end_sessions(tx, user_id=found[0].id, actor=actor))

    def done() -> str:
        return gettext(
            request, "Ended %(count)s session(s) of %(email)s.", count=ended[0], email=email
        )

    return await _act(request, f"{ADMIN}/users", done, act)


# --- workspaces ----------------------------------------------------------------------


async def workspaces_page(request: Request) -> Response:
    user = await _admin(request)
    wanted = request.query_params.get("status", "")
    async with services(request).runtime.db.transaction(write=False) as tx:
        everything = await tx.workspaces.all()
    shown = [ws for ws in everything if not wanted or ws.status.value == wanted]
    return render(
        request,
        "admin/workspaces.html",
        admin=user,
        workspaces=shown,
        status=wanted,
        statuses=[s.value for s in WorkspaceStatus],
    )


def _workspace_action(name: str) -> Callable[[Request], Awaitable[Response]]:
    actions = {
        "verify": (service.verify_workspace, N_("Workspace %(slug)s is now verified.")),
        "suspend": (service.suspend_workspace, N_("Workspace %(slug)s is now suspended.")),
        "reinstate": (service.reinstate_workspace, N_("Workspace %(slug)s is reinstated.")),
    }
    change, message = actions[name]

    async def view(request: Request) -> Response:
        form = await request.form()
        reason = _text(form, "reason")
        ref = request.path_params["id"]
        changed: list[Workspace] = []

        async def act(runtime: Runtime, actor: str) -> None:
            async with runtime.db.transaction() as tx:
                changed.append(await change(tx, ref=ref, reason=reason, actor=actor))

        def done() -> str:
            return gettext(request, message, slug=changed[0].slug)

        return await _act(request, f"{ADMIN}/workspaces", done, act)

    return view


verify_workspace = _workspace_action("verify")
suspend_workspace = _workspace_action("suspend")
reinstate_workspace = _workspace_action("reinstate")


# --- reports -------------------------------------------------------------------------


async def reports_page(request: Request) -> Response:
    user = await _admin(request)
    raw = request.query_params.get("status", "open")
    status = None if raw == "all" else ReportStatus(raw) if raw in set(ReportStatus) else None
    async with services(request).runtime.db.transaction(write=False) as tx:
        found = await tx.moderation.reports(status=status, limit=_PAGE)
    return render(
        request,
        "admin/reports.html",
        admin=user,
        reports=found,
        status=raw if status or raw == "all" else "all",
        statuses=[s.value for s in ReportStatus],
    )


def _report_action(status: ReportStatus) -> Callable[[Request], Awaitable[Response]]:
    async def view(request: Request) -> Response:
        form = await request.form()
        note, ban = _text(form, "note"), bool(_text(form, "ban"))
        report_id = request.path_params["id"]

        async def act(runtime: Runtime, actor: str) -> None:
            async with runtime.db.transaction() as tx:
                await reports.close_report(
                    tx, report_id=report_id, status=status, note=note, actor=actor, ban=ban
                )

        if ban:
            message = N_("Report resolved and link banned.")
        elif status is ReportStatus.RESOLVED:
            message = N_("Report resolved.")
        else:
            message = N_("Report dismissed.")
        return await _act(request, f"{ADMIN}/reports", lambda: gettext(request, message), act)

    return view


resolve_report = _report_action(ReportStatus.RESOLVED)
dismiss_report = _report_action(ReportStatus.DISMISSED)


# --- bans ----------------------------------------------------------------------------


async def bans_page(request: Request) -> Response:
    user = await _admin(request)
    show = request.query_params.get("show", "active")
    async with services(request).runtime.db.transaction(write=False) as tx:
        found = await tx.moderation.bans(active=show != "all", limit=_PAGE)
    return render(request, "admin/bans.html", admin=user, bans=found, show=show)


async def ban(request: Request) -> Response:
    form = await request.form()
    link, reason = _text(form, "link"), _text(form, "reason")

    async def act(runtime: Runtime, actor: str) -> None:
        host, code = reports.parse_short_link(link, default_host=runtime.default_domain.hostname)
        async with runtime.db.transaction() as tx:
            target = await tx.moderation.link_by_short(host, code)
            if target is None:
                raise NotFound(f"there is no short link at {host}/{code}")
            await service.ban_link(tx, link_id=target.id, reason=reason, actor=actor)

    return await _act(request, f"{ADMIN}/bans", lambda: gettext(request, "Link banned."), act)


async def unban(request: Request) -> Response:
    form = await request.form()
    reason = _text(form, "reason")
    ban_id = request.path_params["id"]

    async def act(runtime: Runtime, actor: str) -> None:
        async with runtime.db.transaction() as tx:
            await service.unban_link(tx, ban_id=ban_id, reason=reason, actor=actor)

    return await _act(request, f"{ADMIN}/bans", lambda: gettext(request, "Ban lifted."), act)


# --- audit log -----------------------------------------------------------------------


async def audit_page(request: Request) -> Response:
    user = await _admin(request)
    params = request.query_params
    action = params.get("action", "")
    ref = params.get("workspace", "").strip()
    before: datetime | None = None
    try:
        before = datetime.fromisoformat(params["before"]) if params.get("before") else None
    except ValueError:
        before = None
    if before is not None and (before.tzinfo is None or in_utc(before) is None):
        before = None
    async with services(request).runtime.db.transaction(write=False) as tx:
        everything = await tx.workspaces.all()
        slugs = {ws.id: ws.slug for ws in everything}
        workspace = await tx.workspaces.find(ref) if ref else None
        entries = []
        if not ref or workspace is not None:
            entries = await tx.audit.search(
                workspace_id=workspace.id if workspace else None,
                action=action if action in audit.ACTIONS else None,
                before=before,
                limit=_PAGE,
            )
    return render(
        request,
        "admin/audit.html",
        admin=user,
        entries=entries,
        slugs=slugs,
        actions=audit.ACTIONS,
        action=action,
        workspace=ref,
        unknown_workspace=bool(ref) and workspace is None,
        next_before=entries[-1].at.isoformat() if len(entries) == _PAGE else None,
    )
