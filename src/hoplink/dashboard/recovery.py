"""Pages reached without a session: the second sign-in step, password reset links, the
"forgot password" form and invitation links.

Every open of a reset or invitation link (page or form) is counted per client address
(``HOPLINK_RATE_LIMIT_ACCOUNT_TOKENS``) before the token is looked at, so guessing tokens
is refused long before one could be found; an unknown, used, expired or revoked link gets
one and the same answer. The "forgot password" form answers the same page whether or not
the address has an account, and does the lookup and the sending after answering, so the
time taken says nothing either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink import mail
from hoplink.accounts import invitations, recovery, totp
from hoplink.accounts.users import normalize_email
from hoplink.dashboard import account
from hoplink.dashboard.auth import SIGN_IN, finish_sign_in, safe_next, start_session
from hoplink.dashboard.context import PREFIX, current_user, services
from hoplink.dashboard.forms import errors_by_field
from hoplink.dashboard.limits import limit_message
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.errors import Conflict, FieldError, InvalidInput, NotFound, RateLimited
from hoplink.ratelimit import enforce, parse_limit
from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.dashboard")
FORGOT = f"{PREFIX}/forgot"
# How long the password step of a sign-in waits for the second factor.
PENDING_SECONDS = 300


def _limited(request: Request, template: str, exc: RateLimited, **context: Any) -> Response:
    response = render(
        request, template, page_error=limit_message(request, exc), status_code=429, **context
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# --- the second step of signing in ------------------------------------------------------


def _pending(request: Request) -> str | None:
    uid, at = request.session.get("pending_uid"), request.session.get("pending_at")
    if not isinstance(uid, str) or not isinstance(at, int):
        return None
    if time.time() - at > PENDING_SECONDS:
        return None
    return uid


async def second_factor_page(request: Request) -> Response:
    if _pending(request) is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    return render(request, "signin_2fa.html", errors={})


async def second_factor(request: Request) -> Response:
    user_id = _pending(request)
    if user_id is None:
        flash(request, gettext(request, "The sign-in took too long. Sign in again."), "error")
        return RedirectResponse(SIGN_IN, status_code=303)
    form = await request.form()
    code = str(form.get("code", ""))[:64]
    try:
        await account.limit_codes(request, user_id)
    except RateLimited as exc:
        return _limited(request, "signin_2fa.html", exc, errors={})
    async with services(request).runtime.db.transaction() as tx:
        ok = await totp.verify(tx, user_id=user_id, code=code, box=account.totp_box(request))
    if not ok:
        await account.wrong_code(request, user_id)
        error = InvalidInput(FieldError("code", "invalid", "this code is not valid (or was used)"))
        return render(request, "signin_2fa.html", errors=errors_by_field(error), status_code=400)
    return await start_session(request, user_id, safe_next(str(request.session.get("next"))))


# --- password reset links ---------------------------------------------------------------


async def _limit_tokens(request: Request) -> None:
    svc = services(request)
    limit = parse_limit("account_tokens", svc.runtime.settings.rate_limit_account_tokens)
    address = svc.client_ip(request.scope)
    await enforce(svc.runtime.rate_limiter, limit, address, message="too many link opens")


def _gone(request: Request, kind: str) -> Response:
    return render(request, "token_invalid.html", kind=kind, status_code=404)


async def reset_page(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        await _limit_tokens(request)
    except RateLimited as exc:
        return _limited(request, "token_invalid.html", exc, kind="reset")
    async with services(request).runtime.db.transaction(write=False) as tx:
        found = await recovery.open_reset(tx, secret=token)
    if found is None:
        return _gone(request, "reset")
    return render(request, "reset.html", email=found[1].email, token=token, errors={})


async def reset(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        await _limit_tokens(request)
    except RateLimited as exc:
        return _limited(request, "token_invalid.html", exc, kind="reset")
    form = await request.form()
    password = str(form.get("new_password", ""))
    confirm = str(form.get("confirm_password", ""))
    runtime = services(request).runtime
    async with runtime.db.transaction(write=False) as tx:
        found = await recovery.open_reset(tx, secret=token)
    if found is None:
        return _gone(request, "reset")
    try:
        if password != confirm:
            raise InvalidInput(
                FieldError("confirm_password", "mismatch", "must match the new password")
            )
        async with runtime.db.transaction() as tx:
            await recovery.complete_reset(tx, secret=token, password=password)
    except InvalidInput as exc:
        return render(
            request,
            "reset.html",
            email=found[1].email,
            token=token,
            errors=errors_by_field(exc),
            status_code=422,
        )
    except NotFound:
        return _gone(request, "reset")
    request.session.clear()
    flash(request, gettext(request, "Your password was changed. Sign in with it."))
    return RedirectResponse(SIGN_IN, status_code=303)


# --- self-service reset by e-mail -------------------------------------------------------

_sending: set[asyncio.Task[None]] = set()


async def forgot_page(request: Request) -> Response:
    enabled = services(request).runtime.settings.mail_enabled
    return render(request, "forgot.html", enabled=enabled, sent=False, email="")


async def forgot(request: Request) -> Response:
    svc = services(request)
    settings = svc.runtime.settings
    if not settings.mail_enabled:
        return render(request, "forgot.html", enabled=False, sent=False, email="")
    form = await request.form()
    typed = str(form.get("email", ""))[:254]
    try:
        email = normalize_email(typed)
    except InvalidInput as exc:
        return render(
            request,
            "forgot.html",
            enabled=True,
            sent=False,
            email=typed,
            errors=errors_by_field(exc),
            status_code=422,
        )
    limit = parse_limit("reset_request", settings.rate_limit_reset_request)
    try:
        address = svc.client_ip(request.scope)
        await enforce(svc.runtime.rate_limiter, limit, address, message="too many requests")
        await enforce(svc.runtime.rate_limiter, limit, f"email:{email}", message="too many")
    except RateLimited as exc:
        return _limited(request, "forgot.html", exc, enabled=True, sent=False, email=typed)
    minutes = settings.password_reset_minutes
    subject = gettext(request, "Reset your hoplink password")
    body = gettext(
        request,
        "Someone (hopefully you) asked to reset the password of your hoplink account"
        " %(email)s.\n\nSet a new password here (the link works once, for %(minutes)s"
        " minutes):\n\n%(link)s\n\nIf you did not ask for this, ignore this e-mail: your"
        " password stays as it is.\n",
        email=email,
        minutes=minutes,
        link="{link}",
    )
    task = asyncio.create_task(_send_reset(svc.runtime, email, subject, body))
    _sending.add(task)
    task.add_done_callback(_sending.discard)
    return render(request, "forgot.html", enabled=True, sent=True, email=email)


async def _send_reset(runtime: Runtime, email: str, subject: str, body: str) -> None:
    """After the answer: issue a link and mail it, only if the account exists."""
    settings = runtime.settings
    try:
        async with runtime.db.transaction() as tx:
            found = await tx.users.by_email(email)
            if found is None:
                return
            secret, _ = await recovery.issue_reset(
                tx,
                user=found[0],
                lifetime=timedelta(minutes=settings.password_reset_minutes),
                origin="email",
                actor=None,
            )
        link = reset_link(settings.dashboard_url, secret)
        text = body.replace("{link}", link)
        message = mail.message(settings, to=email, subject=subject, text=text)
        await mail.send(settings, message)
    except Exception:  # the requester was answered already; the operator reads the log
        log.exception("could not send a password reset e-mail")


def reset_link(base_url: str, secret: str) -> str:
    return f"{base_url}{PREFIX}/reset/{secret}"


def invitation_link(base_url: str, secret: str) -> str:
    return f"{base_url}{PREFIX}/invite/{secret}"


# --- invitations ------------------------------------------------------------------------


async def invite_page(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        await _limit_tokens(request)
    except RateLimited as exc:
        return _limited(request, "token_invalid.html", exc, kind="invite")
    return await _invite_form(request, token)


async def _invite_form(
    request: Request, token: str, *, status_code: int = 200, **extra: Any
) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        found = await invitations.open_invitation(tx, secret=token)
        if found is None:
            return _gone(request, "invite")
        invitation, workspace = found
        has_account = await tx.users.by_email(invitation.email) is not None
        me = await current_user(tx, request)
    extra.setdefault("errors", {})
    return render(
        request,
        "invite.html",
        invitation=invitation,
        workspace=workspace,
        token=token,
        has_account=has_account,
        signed_in_as_invitee=me is not None and me.email == invitation.email,
        status_code=status_code,
        **extra,
    )


async def accept_invite(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        await _limit_tokens(request)
    except RateLimited as exc:
        return _limited(request, "token_invalid.html", exc, kind="invite")
    runtime = services(request).runtime
    form = await request.form()
    password = str(form.get("password", ""))
    async with runtime.db.transaction(write=False) as tx:
        found = await invitations.open_invitation(tx, secret=token)
        if found is None:
            return _gone(request, "invite")
        invitation, workspace = found
        existing = await tx.users.by_email(invitation.email)
        me = await current_user(tx, request)
    joining_as = None
    if me is not None and me.email == invitation.email:
        joining_as = me
    elif existing is not None:
        wrong = await account._password_ok(request, existing[0], password)
        if wrong is not None:
            return await _invite_form(request, token, page_error=wrong, status_code=400)
        joining_as = existing[0]
    elif password != str(form.get("confirm_password", "")):
        error = InvalidInput(FieldError("confirm_password", "mismatch", "must match"))
        return await _invite_form(request, token, errors=errors_by_field(error), status_code=422)
    try:
        async with runtime.db.transaction() as tx:
            user, _ = await invitations.accept(tx, secret=token, user=joining_as, password=password)
    except InvalidInput as exc:
        return await _invite_form(request, token, errors=errors_by_field(exc), status_code=422)
    except (NotFound, Conflict):
        return _gone(request, "invite")
    flash(request, gettext(request, "Welcome to %(name)s.", name=workspace.name))
    target = f"{PREFIX}/w/{workspace.slug}/links"
    if me is not None and me.id == user.id:
        return RedirectResponse(target, status_code=303)
    return await finish_sign_in(request, user.id, target)
