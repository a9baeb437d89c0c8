"""Workspace settings: the workspace itself, members and roles, API keys.

Owners and admins only. Secrets (a new API key, an invitation link) are shown
once, in the answer to the POST that made them — never put in the session cookie or a
redirect — and that answer is not cached.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.accounts import apikeys, invitations, totp
from hoplink.accounts import users as members
from hoplink.accounts.models import OPERATOR_SCOPES, Scope
from hoplink.accounts.users import add_member, normalize_email
from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.forms import errors_by_field
from hoplink.dashboard.pages import flash, gettext, locale_of, render
from hoplink.dashboard.recovery import invitation_link
from hoplink.dashboard.timezones import zone_groups, zone_names
from hoplink.domains import domain_for
from hoplink.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from hoplink.ids import utcnow
from hoplink.ratelimit import enforce, parse_limit
from hoplink.storage.tx import Tx
from hoplink.workspaces.edit import WorkspaceEdit
from hoplink.workspaces.models import Role
from hoplink.workspaces.quotas import QuotaDefaults, quota_from_settings, quota_usage
from hoplink.workspaces.service import update_workspace

ROLES = tuple(Role)


def template_text(template: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in template.items())


def parse_template(text: str) -> dict[str, str] | InvalidInput:
    template: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        if not eq:
            return InvalidInput(
                FieldError(
                    "param_template",
                    "invalid",
                    f"line {number}: write name=value, e.g. aff_seller={{seller_id}}",
                )
            )
        template[key.strip()] = value.strip()
    return template


async def _page_context(tx: Tx, v: Viewer, quota: QuotaDefaults, locale: str) -> dict[str, Any]:
    members = await tx.workspaces.members(v.workspace.id)
    keys = await tx.api_keys.for_workspace(v.workspace.id)
    return {
        "quota": await quota_usage(tx, workspace=v.workspace, defaults=quota, now=utcnow()),
        "members": members,
        "with_totp": await tx.totp.enabled_of([uid for uid, _, _ in members]),
        "invitations": await tx.invitations.pending(v.workspace.id, utcnow()),
        "require_totp": await tx.workspace_security.requires_totp(v.workspace.id),
        "my_totp": await totp.is_enabled(tx, v.user.id),
        "keys": keys,
        # What removing each member revokes with them (accounts.apikeys.member_keys).
        "keys_of_member": {
            uid: n
            for uid, _, _ in members
            if (n := sum(1 for k in keys if k.active and apikeys.made_by(k, uid)))
        },
        "domain": await domain_for(tx, v.workspace, None),
        "timezone_groups": zone_groups(locale),
        "timezone_names": zone_names(),
        "roles": ROLES,
        "scopes": tuple(s for s in Scope if v.user.is_platform_admin or s not in OPERATOR_SCOPES),
        "has_logo": await tx.qr_logo(v.workspace.id).get() is not None,
    }


def _default_click_param(request: Request) -> str:
    return services(request).runtime.settings.click_id_param


def _values(v: Viewer) -> dict[str, str]:
    ws = v.workspace
    return {
        "name": ws.name,
        "seller_id": ws.seller_id or "",
        "timezone": ws.timezone,
        "param_template": template_text(ws.param_template),
        "custom_channels": ", ".join(ws.custom_channels),
        "click_id_enabled": "on" if ws.click_id_enabled else "",
        "click_id_param": ws.click_id_param or "",
        "fallback_url": ws.fallback_url or "",
    }


async def _render(request: Request, v: Viewer, *, status_code: int = 200, **extra: Any) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        context = await _page_context(
            tx, v, quota_from_settings(services(request).runtime.settings), locale_of(request)
        )
    extra.setdefault("values", _values(v))
    extra.setdefault("errors", {})
    response = render(
        request,
        "settings/page.html",
        viewer=v,
        status_code=status_code,
        default_click_param=_default_click_param(request),
        **context,
        **extra,
    )
    return response


render_settings = _render


async def _manager(request: Request) -> Viewer:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
    v.require_manage()
    return v


async def settings_page(request: Request) -> Response:
    return await _render(request, await _manager(request))


def _edit(values: dict[str, str], template: dict[str, str]) -> WorkspaceEdit:
    """The settings form as an edit: every field as the form has it (an empty one clears)."""
    return WorkspaceEdit(
        name=values["name"],
        seller_id=values["seller_id"].strip() or None,
        timezone=values["timezone"],
        param_template=template,
        custom_channels=[c.strip() for c in values["custom_channels"].split(",") if c.strip()],
        click_id_enabled=bool(values["click_id_enabled"]),
        click_id_param=values["click_id_param"].strip() or None,
        fallback_url=values["fallback_url"].strip() or None,
    )


async def save_workspace(request: Request) -> Response:
    v = await _manager(request)
    form = await request.form()
    values = {
        name: str(form.get(name, ""))
        for name in (
            "name",
            "seller_id",
            "timezone",
            "param_template",
            "custom_channels",
            "click_id_param",
            "fallback_url",
        )
    }
    values["click_id_enabled"] = "on" if form.get("click_id_enabled") else ""
    template = parse_template(values["param_template"])
    try:
        if isinstance(template, InvalidInput):
            raise template
        async with services(request).runtime.db.transaction() as tx:
            await update_workspace(tx, workspace_id=v.workspace.id, edit=_edit(values, template))
    except InvalidInput as exc:
        return await _render(
            request, v, values=values, errors=errors_by_field(exc), status_code=422
        )
    flash(request, gettext(request, "Workspace settings saved."))
    return RedirectResponse(f"{v.base}/settings", status_code=303)


def _role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise InvalidInput(FieldError("role", "invalid", "choose a role from the list")) from None


def _check_grant(v: Viewer, role: Role, current: Role | None = None) -> None:
    # Only owners make or unmake owners.
    if Role.OWNER in (role, current) and v.role is not Role.OWNER:
        raise PermissionDenied("only an owner can give or take the owner role")


async def add_member_view(request: Request) -> Response:
    """An existing account joins at once; a new address gets an invitation link (shown
    once) with which the invitee sets their own password."""
    v = await _manager(request)
    form = await request.form()
    typed = str(form.get("email", ""))
    settings = services(request).runtime.settings
    link: str | None = None
    try:
        role = _role(form.get("role"))
        _check_grant(v, role)
        email = normalize_email(typed)
        async with services(request).runtime.db.transaction() as tx:
            found = await tx.users.by_email(email)
            if found is None:
                limit = parse_limit("invitations", settings.rate_limit_invitations)
                await enforce(
                    services(request).runtime.rate_limiter,
                    limit,
                    f"ws:{v.workspace.id}",
                    message="too many invitations",
                )
                _, secret = await invitations.invite(
                    tx,
                    workspace=v.workspace,
                    email=email,
                    role=role,
                    lifetime=timedelta(days=settings.invitation_days),
                    actor=v.actor,
                )
                link = invitation_link(settings.dashboard_url, secret)
            else:
                await add_member(tx, user=found[0], workspace=v.workspace, role=role, actor=v.actor)
    except RateLimited as exc:
        response = await _render(
            request,
            v,
            page_error=gettext(
                request,
                "This workspace has made as many invitations as it may for now; none was"
                " made. Try again in %(seconds)s seconds.",
                seconds=exc.retry_after,
            ),
            member_email=typed,
            status_code=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (InvalidInput, Conflict) as exc:
        errors = (
            exc.errors
            if isinstance(exc, InvalidInput)
            else [FieldError("email", exc.code, exc.message)]
        )
        return await _render(request, v, member_errors=errors, member_email=typed, status_code=422)
    if link is not None:
        return await _render(
            request, v, invited=email, invite_link=link, invite_days=settings.invitation_days
        )
    return await _render(request, v, added=email)


async def revoke_invitation(request: Request) -> Response:
    v = await _manager(request)
    async with services(request).runtime.db.transaction() as tx:
        await invitations.revoke(
            tx,
            workspace_id=v.workspace.id,
            invitation_id=request.path_params["invitation"],
            actor=v.actor,
        )
    flash(request, gettext(request, "Invitation revoked. Its link no longer works."))
    return RedirectResponse(f"{v.base}/settings#members", status_code=303)


async def save_security(request: Request) -> Response:
    """The owner's rule: everyone using this workspace signs in with a second factor. The
    owner turns it on for themselves first, so the rule never locks its author out."""
    v = await _manager(request)
    if v.role is not Role.OWNER:
        raise PermissionDenied("only an owner can change the workspace's sign-in rules")
    form = await request.form()
    required = bool(form.get("require_totp"))
    runtime = services(request).runtime
    async with runtime.db.transaction(write=False) as tx:
        mine = await totp.is_enabled(tx, v.user.id)
    if required and not mine:
        message = gettext(
            request, "Turn on two-factor sign-in for your own account first (Account page)."
        )
        return await _render(request, v, security_error=message, status_code=409)
    async with runtime.db.transaction() as tx:
        await totp.require_for_workspace(
            tx, workspace_id=v.workspace.id, required=required, actor=v.actor
        )
    flash(request, gettext(request, "Sign-in rules saved."))
    return RedirectResponse(f"{v.base}/settings#security", status_code=303)


async def change_role(request: Request) -> Response:
    v = await _manager(request)
    form = await request.form()
    user_id = request.path_params["user"]
    role = _role(form.get("role"))
    try:
        async with services(request).runtime.db.transaction() as tx:
            current = await tx.users.membership(user_id, v.workspace.id)
            _check_grant(v, role, current.role if current else None)
            await members.set_role(
                tx, workspace_id=v.workspace.id, user_id=user_id, role=role, actor=v.actor
            )
    except Conflict as exc:
        return await _render(
            request, v, member_errors=[FieldError("role", exc.code, exc.message)], status_code=409
        )
    flash(request, gettext(request, "Role changed."))
    return RedirectResponse(f"{v.base}/settings#members", status_code=303)


async def remove_member(request: Request) -> Response:
    v = await _manager(request)
    user_id = request.path_params["user"]
    try:
        async with services(request).runtime.db.transaction() as tx:
            current = await tx.users.membership(user_id, v.workspace.id)
            _check_grant(v, current.role if current else Role.VIEWER)
            await members.remove_member(
                tx, workspace_id=v.workspace.id, user_id=user_id, actor=v.actor
            )
    except Conflict as exc:
        return await _render(
            request, v, member_errors=[FieldError("role", exc.code, exc.message)], status_code=409
        )
    flash(request, gettext(request, "Member removed."))
    return RedirectResponse(f"{v.base}/settings#members", status_code=303)


async def create_key(request: Request) -> Response:
    v = await _manager(request)
    form = await request.form()
    name = str(form.get("name", ""))
    try:
        scopes = apikeys.parse_scopes([str(s) for s in form.getlist("scopes")])
        async with services(request).runtime.db.transaction() as tx:
            key, raw = await apikeys.create_api_key(
                tx,
                workspace=v.workspace,
                name=name,
                scopes=scopes,
                created_by=v.actor,
                operator=v.user.is_platform_admin,
            )
    except InvalidInput as exc:
        return await _render(request, v, key_errors=exc.errors, key_name=name, status_code=422)
    return await _render(request, v, new_key=raw, new_key_name=key.name)


async def revoke_form(request: Request) -> Response:
    """Revoking breaks every integration using the key at once, so it is confirmed first."""
    v = await _manager(request)
    async with services(request).runtime.db.transaction(write=False) as tx:
        keys = await tx.api_keys.for_workspace(v.workspace.id)
    key = next((k for k in keys if k.id == request.path_params["key"] and k.active), None)
    if key is None:
        raise NotFound("no active API key with this id")
    return render(request, "settings/key_revoke.html", viewer=v, key=key)


async def revoke_key(request: Request) -> Response:
    v = await _manager(request)
    async with services(request).runtime.db.transaction() as tx:
        await apikeys.revoke_api_key(
            tx, workspace_id=v.workspace.id, key_id=request.path_params["key"], actor=v.actor
        )
    flash(request, gettext(request, "API key revoked. Requests with it now fail."))
    return RedirectResponse(f"{v.base}/settings#keys", status_code=303)
