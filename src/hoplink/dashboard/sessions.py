"""The session: a signed cookie (itsdangerous), read into ``scope["session"]``.

Like Starlette's SessionMiddleware, except that ``Secure`` is decided per request (the
same app answers plain HTTP on a laptop and HTTPS behind a proxy), the cookie is limited
to ``/app`` so the short links on the same host never receive it, and its contents are
re-signed only when they change. The data is signed, not encrypted: it holds ids and the
CSRF token, never a secret of the user's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from itsdangerous import BadSignature, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "hoplink_session"
COOKIE_PATH = "/app"
MAX_AGE = 12 * 3600  # seconds; also the absolute lifetime of a sign-in (auth.py)


def cookie_header(
    name: str, value: str, *, max_age: int, secure: bool, http_only: bool = True
) -> str:
    parts = [f"{name}={value}", f"Path={COOKIE_PATH}", f"Max-Age={max_age}", "SameSite=Lax"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class SessionMiddleware:
    def __init__(self, app: ASGIApp, *, secret: str, is_https: Callable[[Scope], bool]) -> None:
        self.app = app
        # A salt of its own: the same secret key also keys the visitor hashes.
        self.signer = TimestampSigner(secret, salt="hoplink.dashboard.session")
        self.is_https = is_https

    def _load(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            payload = self.signer.unsign(raw.encode(), max_age=MAX_AGE)
            data = json.loads(base64.urlsafe_b64decode(payload))
        except (BadSignature, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self._load(HTTPConnection(scope).cookies.get(COOKIE))
        scope["session"] = session
        before = json.dumps(session, sort_keys=True)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                now: dict[str, Any] = scope["session"]
                after = json.dumps(now, sort_keys=True)
                if after != before:
                    headers = MutableHeaders(scope=message)
                    secure = self.is_https(scope)
                    if now:
                        payload = base64.urlsafe_b64encode(after.encode())
                        value = self.signer.sign(payload).decode()
                        cookie = cookie_header(COOKIE, value, max_age=MAX_AGE, secure=secure)
                    else:
                        cookie = cookie_header(COOKIE, "", max_age=0, secure=secure)
                    headers.append("Set-Cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)
