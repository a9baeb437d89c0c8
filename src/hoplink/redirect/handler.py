"""The redirect hot path: resolve the code, answer 302 with the stored URL.

Plain ASGI, no framework: nothing from the request but the host and the code
is ever used to pick the target, so the Location cannot be steered.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from hoplink.runtime import Runtime
from hoplink.storage.redirects import resolve

_NOT_FOUND = b"<!doctype html><title>Not found</title><p>This short link does not exist.</p>"
_GONE = b"<!doctype html><title>Unavailable</title><p>This link is no longer available.</p>"
_HTML_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'"),
]


class RedirectApp:
    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def bind(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        assert runtime is not None, "app not started"
        method = scope["method"]
        code = scope["path"][1:]
        if method not in ("GET", "HEAD"):
            await _page(send, 405, b"", method)
            return
        host = _host(scope) or runtime.default_domain.hostname
        if not code or "/" in code:
            await _page(send, 404, _NOT_FOUND, method)
            return
        async with runtime.db.engine.connect() as conn:
            target = await resolve(conn, host, code)
        if target is None or target.archived:
            await _page(send, 404, _NOT_FOUND, method)
            return
        if target.workspace_status == "suspended":
            await _page(send, 410, _GONE, method)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [
                    (b"location", target.final_url.encode("ascii")),
                    (b"cache-control", b"private, max-age=90"),
                    (b"referrer-policy", b"no-referrer-when-downgrade"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _host(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"host":
            return str(value.decode("latin-1").strip().lower())
    return None


async def _page(send: Send, status: int, body: bytes, method: str) -> None:
    payload = b"" if method == "HEAD" else body
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_HTML_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
