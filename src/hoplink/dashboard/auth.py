"""Sign in, sign out, the start page and the language switch.

A failed sign-in answers the same page, status and message whether the e-mail is unknown
or the password wrong, after the same argon2 work (``verify_password`` checks a dummy hash
for unknown users). A throttled attempt is refused (429) before any lookup, identically
too; the throttle is shared by every web node in production mode (``SharedLoginThrottle``).
"""

from __future__ import annotations

import asyncio
import math
import posixpath
import re
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.accounts import sessions, totp
from hoplink.accounts.passwords import hash_password, needs_rehash, verify_password
from hoplink.accounts.users import normalize_email
from hoplink.dashboard import csrf
from hoplink.dashboard.context import PREFIX, current_user, services, workspaces_for
from hoplink.dashboard.i18n import LANG_COOKIE, LOCALES
from hoplink.dashboard.pages import gettext, render
from hoplink.dashboard.sessions import cookie_header
from hoplink.errors import InvalidInput

SIGN_IN = f"{PREFIX}/signin"
SECOND_FACTOR = f"{PREFIX}/signin/2fa"
_MAX_PASSWORD = 1024


def safe_next(value: str | None) -> str:
    """A path of this dashboard, normalised: never another host (open redirect) or scheme,
    and never a path that leaves /app once dot segments are resolved (``/app/../..//x``)."""
    home = f"{PREFIX}/"
    if (
        not value
        or not value.startswith(home)
        or "\\" in value
        or not all(32 < ord(c) < 127 for c in value)
    ):
        return home
    path, sep, query = value.partition("#")[0].partition("?")
    # Browsers treat %2e as a dot in a path: resolve those segments too.
    dotted = re.sub("%2e", ".", path, flags=re.IGNORECASE)
    normal = posixpath.normpath(dotted)
    if dotted.endswith("/") and not normal.endswith("/"):
        normal += "/"
    if not normal.startswith(home) or normal.startswith("//"):
        return home
    return normal + sep + query


async def home(request: Request) -> Response:
    """``/`` and ``/app/``: the last workspace's links, the first one's, or the sign-in."""
    runtime = services(request).runtime
    async with runtime.db.transaction(write=False) as tx:
        user = await current_user(tx, request)
        if user is None:
            return RedirectResponse(SIGN_IN, status_code=303)
        workspaces = await workspaces_for(tx, user)
    if not workspaces:
        return render(request, "no_workspace.html", user=user, status_code=200)
    slugs = [ws.slug for ws, _ in workspaces]
    last = request.session.get("ws")
    slug = last if last in slugs else slugs[0]
    return RedirectResponse(f"{PREFIX}/w/{slug}/links", status_code=303)


async def sign_in_page(request: Request) -> Response:
    runtime = services(request).runtime
    async with runtime.db.transaction(write=False) as tx:
        if await current_user(tx, request) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render(
        request, "signin.html", email="", next=safe_next(request.query_params.get("next"))
    )


def _refused(request: Request, email: str, next_path: str, message: str) -> Response:
    return render(
        request, "signin.html", email=email, next=next_path, error=message, status_code=400
    )


async def sign_in(request: Request) -> Response:
    svc = services(request)
    form = await request.form()
    typed = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "")))
    account = typed.strip().lower()
    address = svc.client_ip(request.scope)
    wait = await svc.throttle.attempt(account, address)  # counts as a failure until it succeeds
    if wait > 0:
        seconds = math.ceil(wait)
        message = gettext(
            request,
            "Too many sign-in attempts. Try again in %(seconds)s seconds.",
            seconds=seconds,
        )
        refused = _refused(request, typed, next_path, message)
        refused.status_code = 429
        refused.headers["Retry-After"] = str(seconds)
        return refused
    try:
        email = normalize_email(typed)
    except InvalidInput:
        email = None
    async with svc.runtime.db.transaction(write=False) as tx:
        found = await tx.users.by_email(email) if email else None
    # argon2 in a worker thread: ~0.1 s of CPU must not stall every other request. An
    # unknown user is checked against a dummy hash, an over-long password is checked cut
    # short and then refused: every refusal costs one verification.
    stored_hash = found[1] if found else None
    ok = await asyncio.to_thread(verify_password, stored_hash, password[:_MAX_PASSWORD])
    if not ok or found is None or len(password) > _MAX_PASSWORD:
        return _refused(
            request, typed, next_path, gettext(request, "Wrong e-mail address or password.")
        )
    await svc.throttle.succeeded(account, address)
    if needs_rehash(found[1]):
        new_hash = await asyncio.to_thread(hash_password, password)
        async with svc.runtime.db.transaction() as tx:
            await tx.users.set_password_hash(found[0].id, new_hash)
    return await finish_sign_in(request, found[0].id, next_path)


async def finish_sign_in(request: Request, user_id: str, next_path: str) -> Response:
    """The password (or an invitation) proved who this is: start the session, or — when
    the user has a second factor — ask for it first (``twofactor.py``). Only the user's id
    and when the password was checked are kept meanwhile, in the signed cookie."""
    runtime = services(request).runtime
    async with runtime.db.transaction(write=False) as tx:
        second_factor = await totp.is_enabled(tx, user_id)
    if second_factor:
        old = request.session.get("sid")
        if isinstance(old, str):
            async with runtime.db.transaction() as tx:
                await sessions.end_session(tx, secret=old)
        request.session.clear()
        request.session.update(pending_uid=user_id, pending_at=int(time.time()), next=next_path)
        csrf.rotate(request.session)
        return RedirectResponse(SECOND_FACTOR, status_code=303)
    return await start_session(request, user_id, next_path)


async def start_session(request: Request, user_id: str, next_path: str) -> Response:
    async with services(request).runtime.db.transaction() as tx:
        old = request.session.get("sid")
        if isinstance(old, str):  # signing in again over a live session replaces it
            await sessions.end_session(tx, secret=old)
        await sessions.purge_expired(tx)
        secret, _ = await sessions.start_session(
            tx, user_id=user_id, user_agent=request.headers.get("user-agent")
        )
    request.session.clear()
    request.session.update(uid=user_id, iat=int(time.time()), sid=secret)
    csrf.rotate(request.session)
    return RedirectResponse(next_path, status_code=303)


async def sign_out(request: Request) -> Response:
    """Ends the session on the server: the cookie, replayed, no longer signs anyone in."""
    secret = request.session.get("sid")
    if isinstance(secret, str):
        async with services(request).runtime.db.transaction() as tx:
            await sessions.end_session(tx, secret=secret)
    request.session.clear()
    return RedirectResponse(SIGN_IN, status_code=303)


async def set_language(request: Request) -> Response:
    form = await request.form()
    locale = str(form.get("lang", ""))
    response = RedirectResponse(safe_next(str(form.get("next", ""))), status_code=303)
    if locale in LOCALES:
        secure = services(request).is_https(request.scope)
        response.headers.append(
            "Set-Cookie", cookie_header(LANG_COOKIE, locale, max_age=365 * 86400, secure=secure)
        )
    return response
