"""The account page: change the password, see and end sessions, two-factor sign-in.

Outside any workspace (``/app/account``): it is about the person, not a tenant. Changing
the password needs the current one, checked through the sign-in throttle (the form must
not be a way around it), and ends every other session. Turning the second factor on or
off needs a current code or the password; codes are rate limited per account
(``HOPLINK_RATE_LIMIT_TOTP``).
"""

from __future__ import annotations

import asyncio
import functools
import math
from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink import audit
from hoplink.accounts import recovery, sessions, totp
from hoplink.accounts.models import User
from hoplink.accounts.passwords import verify_password
from hoplink.dashboard.context import PREFIX, SignInRequired, current_user, services
from hoplink.dashboard.forms import errors_by_field
from hoplink.dashboard.limits import limit_message
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.errors import FieldError, InvalidInput, NotFound, RateLimited
from hoplink.ratelimit import charge, parse_limit, refuse_if_spent

ACCOUNT = f"{PREFIX}/account"
TWO_FACTOR = f"{ACCOUNT}/2fa"
_MAX_PASSWORD = 1024


@functools.lru_cache(maxsize=4)
def _box(secret_key: str) -> totp.TotpBox:
    return totp.TotpBox(secret_key)


def totp_box(request: Request) -> totp.TotpBox:
    return _box(services(request).runtime.settings.resolve_secret_key())


async def limit_codes(request: Request, user_id: str) -> None:
    """RateLimited when this account has used up its wrong second-factor codes: then no
    code is checked at all, the right one neither."""
    runtime = services(request).runtime
    limit = parse_limit("totp", runtime.settings.rate_limit_totp)
    await refuse_if_spent(
        runtime.rate_limiter, limit, f"user:{user_id}", message="too many wrong codes"
    )


async def wrong_code(request: Request, user_id: str) -> None:
    """Count one wrong code against the account (right ones cost nothing)."""
    runtime = services(request).runtime
    limit = parse_limit("totp", runtime.settings.rate_limit_totp)
    await charge(runtime.rate_limiter, limit, f"user:{user_id}", 1)


async def _me(request: Request) -> tuple[User, str]:
    async with services(request).runtime.db.transaction(write=False) as tx:
        user = await current_user(tx, request)
    if user is None:
        raise SignInRequired()
    return user, sessions.session_id(str(request.session.get("sid")))


async def _page(
    request: Request, user: User, this_session: str, *, status_code: int = 200, **extra: Any
) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        live = await sessions.sessions_of(tx, user_id=user.id)
        state = await tx.totp.get(user.id)
        codes_left = await tx.totp.recovery_codes_left(user.id)
    extra.setdefault("errors", {})
    return render(
        request,
        "account/page.html",
        account_user=user,
        sessions=live,
        this_session=this_session,
        totp_on=state is not None and state.enabled,
        codes_left=codes_left,
        back=request.session.get("ws"),
        status_code=status_code,
        **extra,
    )


async def account_page(request: Request) -> Response:
    user, this_session = await _me(request)
    return await _page(request, user, this_session)


async def _password_ok(request: Request, user: User, password: str) -> str | None:
    """None when ``password`` is the user's; else the message to show (wrong, throttled)."""
    svc = services(request)
    address = svc.client_ip(request.scope)
    wait = await svc.throttle.attempt(user.email, address)
    if wait > 0:
        return gettext(
            request,
            "Too many sign-in attempts. Try again in %(seconds)s seconds.",
            seconds=math.ceil(wait),
        )
    async with svc.runtime.db.transaction(write=False) as tx:
        found = await tx.users.by_email(user.email)
    stored = found[1] if found else None
    ok = await asyncio.to_thread(verify_password, stored, password[:_MAX_PASSWORD])
    if not ok or len(password) > _MAX_PASSWORD:
        return gettext(request, "The current password is wrong.")
    await svc.throttle.succeeded(user.email, address)
    return None


async def change_password(request: Request) -> Response:
    user, this_session = await _me(request)
    form = await request.form()
    current = str(form.get("current_password", ""))
    new = str(form.get("new_password", ""))
    confirm = str(form.get("confirm_password", ""))
    if new != confirm:
        error = InvalidInput(FieldError("confirm_password", "mismatch", "must match"))
        return await _page(
            request, user, this_session, errors=errors_by_field(error), status_code=422
        )
    wrong = await _password_ok(request, user, current)
    if wrong is not None:
        return await _page(request, user, this_session, page_error=wrong, status_code=400)
    try:
        async with services(request).runtime.db.transaction() as tx:
            ended = await recovery.set_password(
                tx,
                user_id=user.id,
                password=new,
                keep_session=this_session,
                actor=f"user:{user.id}",
            )
    except InvalidInput as exc:
        return await _page(
            request, user, this_session, errors=errors_by_field(exc), status_code=422
        )
    flash(
        request,
        gettext(
            request,
            "Password changed. %(count)s other session(s) were signed out.",
            count=ended,
        ),
    )
    return RedirectResponse(ACCOUNT, status_code=303)


async def sign_out_others(request: Request) -> Response:
    user, this_session = await _me(request)
    async with services(request).runtime.db.transaction() as tx:
        ended = await sessions.end_sessions(
            tx, user_id=user.id, except_session=this_session, actor=f"user:{user.id}"
        )
    flash(
        request,
        gettext(request, "%(count)s other session(s) were signed out.", count=ended),
    )
    return RedirectResponse(f"{ACCOUNT}#sessions", status_code=303)


async def end_one_session(request: Request) -> Response:
    user, this_session = await _me(request)
    target = request.path_params["session"]
    async with services(request).runtime.db.transaction() as tx:
        mine = {s.id for s in await sessions.sessions_of(tx, user_id=user.id)}
        if target not in mine or target == this_session:
            raise NotFound("no such session of yours")
        await tx.sessions.delete(target)
        await audit.record(
            tx,
            action=audit.SESSIONS_ENDED,
            actor=f"user:{user.id}",
            workspace_id=None,
            target=user.id,
            detail={"sessions": "1", "kept": "1"},
        )
    flash(request, gettext(request, "That session was signed out."))
    return RedirectResponse(f"{ACCOUNT}#sessions", status_code=303)


def _qr(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


async def _enrol_page(
    request: Request, user: User, secret: str, *, status_code: int = 200, **extra: Any
) -> Response:
    uri = totp.provisioning_uri(secret, user.email)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    extra.setdefault("errors", {})
    return render(
        request,
        "account/twofactor.html",
        account_user=user,
        secret=grouped,
        qr=_qr(uri),
        status_code=status_code,
        **extra,
    )


async def two_factor_page(request: Request) -> Response:
    """Start (or resume) enrolment: a secret, its QR code, and the form for a first code."""
    user, _ = await _me(request)
    box = totp_box(request)
    async with services(request).runtime.db.transaction() as tx:
        if await totp.is_enabled(tx, user.id):
            return RedirectResponse(f"{ACCOUNT}#two-factor", status_code=303)
        secret = await totp.pending_secret(tx, user_id=user.id, box=box)
        if secret is None:
            secret = await totp.begin_enrolment(tx, user_id=user.id, box=box)
    return await _enrol_page(request, user, secret)


async def confirm_two_factor(request: Request) -> Response:
    user, _ = await _me(request)
    form = await request.form()
    code = str(form.get("code", ""))[:64]
    box = totp_box(request)
    async with services(request).runtime.db.transaction(write=False) as tx:
        secret = await totp.pending_secret(tx, user_id=user.id, box=box)
    if secret is None:
        return RedirectResponse(TWO_FACTOR, status_code=303)
    # The password first, as for turning it off: a stolen session must not enrol its own
    # authenticator and lock the owner out. Throttled like every password check.
    wrong = await _password_ok(request, user, str(form.get("password", "")))
    if wrong is not None:
        return await _enrol_page(request, user, secret, password_error=wrong, status_code=400)
    try:
        await limit_codes(request, user.id)
        async with services(request).runtime.db.transaction() as tx:
            codes = await totp.confirm_enrolment(tx, user_id=user.id, code=code, box=box)
    except RateLimited as exc:
        response = await _enrol_page(
            request, user, secret, page_error=limit_message(request, exc), status_code=429
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except InvalidInput as exc:
        await wrong_code(request, user.id)
        errors = errors_by_field(exc)
        return await _enrol_page(request, user, secret, errors=errors, status_code=422)
    return render(request, "account/codes.html", account_user=user, codes=codes, enabled=True)


async def disable_two_factor(request: Request) -> Response:
    user, this_session = await _me(request)
    form = await request.form()
    wrong = await _password_ok(request, user, str(form.get("password", "")))
    if wrong is not None:
        return await _page(request, user, this_session, page_error=wrong, status_code=400)
    async with services(request).runtime.db.transaction() as tx:
        await totp.disable(tx, user_id=user.id, actor=f"user:{user.id}")
    flash(request, gettext(request, "Two-factor sign-in is off."))
    return RedirectResponse(f"{ACCOUNT}#two-factor", status_code=303)


async def renew_codes(request: Request) -> Response:
    user, this_session = await _me(request)
    form = await request.form()
    wrong = await _password_ok(request, user, str(form.get("password", "")))
    if wrong is not None:
        return await _page(request, user, this_session, page_error=wrong, status_code=400)
    async with services(request).runtime.db.transaction() as tx:
        codes = await totp.renew_recovery_codes(tx, user_id=user.id)
    return render(request, "account/codes.html", account_user=user, codes=codes, enabled=False)
