"""CSRF: every unsafe request must come from our own pages.

Two independent checks, both before any view runs, so no state-changing route can forget
them: (1) when the browser says where the request comes from (``Origin``, or failing that
``Referer``), it must be this host; (2) the request must carry the session's token, in the
``csrf_token`` form field or the ``X-CSRF-Token`` header (our JavaScript's fetches),
compared in constant time. The body is read here (up to ``MAX_BODY``) and replayed to the
app unchanged. SameSite=Lax on the session cookie is a third, browser-side layer.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A 10,000-line CSV of long product URLs with UTM columns stays well below this.
MAX_BODY = 16 * 1024 * 1024


def session_token(session: MutableMapping[str, Any]) -> str:
    """The session's token, created on first use (anonymous sessions get one for sign-in)."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def rotate(session: MutableMapping[str, Any]) -> None:
    session["csrf"] = secrets.token_urlsafe(32)


def same_origin(headers: Headers) -> bool:
    """False if Origin/Referer name another host than the one the request was sent to."""
    host = headers.get("host", "").lower()
    origin = headers.get("origin")
    if origin is not None:
        # "null" (sandboxed frames, some privacy modes) is never our page.
        return origin != "null" and urlsplit(origin).netloc.lower() == host
    referer = headers.get("referer")
    if referer is not None:
        return urlsplit(referer).netloc.lower() == host
    return True  # neither header: the token alone decides


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, *, forbidden: Callable[[Scope], Response]) -> None:
        self.app = app
        self.forbidden = forbidden

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not same_origin(headers):
            await self.forbidden(scope)(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await PlainTextResponse("Request too large", status_code=413)(scope, receive, send)
            return
        expected = scope.get("session", {}).get("csrf")
        given = headers.get(HEADER) or await _form_token(scope, body)
        if not (
            isinstance(expected, str)
            and given
            and hmac.compare_digest(expected.encode(), given.encode())
        ):
            await self.forbidden(scope)(scope, _replay(body), send)
            return
        await self.app(scope, _replay(body), send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _form_token(scope: Scope, body: bytes) -> str | None:
    content_type = Headers(scope=scope).get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    request = Request(scope, _replay(body))
    try:
        form = await request.form(max_files=2, max_fields=500, max_part_size=MAX_BODY)
    except Exception:  # a malformed body has no token; the view never sees it
        return None
    try:
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()
