"""The redirect hot path: resolve, hand the click off, answer 302 with the stored URL.

Plain ASGI, no framework. Only the Host header and the code pick the target, and the
Location is the stored final URL (plus, for links that ask for it, the visitor's extra
query parameters, added after ours), so nothing in a request can steer where it goes.
The click is in the journal before the first byte of the answer is sent.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import Receive, Scope, Send

from hoplink.redirect.edge import ClickCapture
from hoplink.redirect.forward import forward_query
from hoplink.redirect.resolver import Resolver
from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.redirect")

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HOST = re.compile(r"(?:[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::[0-9]{1,5})?")
_NOT_FOUND = b"<!doctype html><title>Not found</title><p>This short link does not exist.</p>"
_GONE = b"<!doctype html><title>Unavailable</title><p>This link is no longer available.</p>"
_UNAVAILABLE = b"<!doctype html><title>Try again</title><p>Please try again in a moment.</p>"
_PAGE_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'"),
]


class RedirectApp:
    def __init__(self) -> None:
        # Counted for metrics; logged once per 1,000 so an outage cannot flood the log.
        self.clicks_lost = 0
        self.lookups_failed = 0

    def bind(self, runtime: Runtime) -> None:
        s = runtime.settings
        self.resolver = Resolver(runtime.db, runtime.redirect_cache)
        self.capture = ClickCapture(
            salts=runtime.salts,
            geo=runtime.geo,
            trusted=runtime.trusted_proxies,
            client_ip_header=s.client_ip_header,
        )
        if runtime.journal is None:
            raise RuntimeError("the redirect app needs a runtime started with serve=True")
        self.journal = runtime.journal
        self.wait_for_disk = s.journal_wait_for_disk
        self.headers = [
            (b"cache-control", f"private, max-age={s.redirect_max_age}".encode()),
            (b"referrer-policy", s.redirect_referrer_policy.encode()),
            (b"content-length", b"0"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await _page(send, 405, b"", method, [(b"allow", b"GET, HEAD")])
            return
        host = _host(scope["headers"])
        code = scope["path"][1:]
        if host is None or not _CODE.fullmatch(code):
            await _page(send, 404, _NOT_FOUND, method)
            return
        try:
            target = await self.resolver.resolve(host, code)
        except Exception:
            self.lookups_failed += 1
            if self.lookups_failed % 1000 == 1:
                log.exception("short link lookup failed (%d so far)", self.lookups_failed)
            await _page(send, 503, _UNAVAILABLE, method, [(b"retry-after", b"5")])
            return
        if target is None or target.archived:
            await _page(send, 404, _NOT_FOUND, method)
            return
        if target.workspace_status == "suspended":
            await _page(send, 410, _GONE, method)
            return
        location = target.final_url
        if target.forward_query and scope["query_string"]:
            location = forward_query(location, scope["query_string"])
        try:
            click = await self.capture.click(scope, host=host, target=target, ts=time.time())
            self.journal.put(click)
            if self.wait_for_disk:
                await self.journal.synced()
        except Exception:
            # The visitor still gets their redirect; the loss is counted and logged.
            self.clicks_lost += 1
            if self.clicks_lost % 1000 == 1:
                log.exception("click not recorded (%d lost so far)", self.clicks_lost)
        headers = [(b"location", location.encode("ascii")), *self.headers]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _host(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"host":
            host = value.decode("latin-1").lower()
            return host if _HOST.fullmatch(host) else None
    return None


async def _page(
    send: Send,
    status: int,
    body: bytes,
    method: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [*_PAGE_HEADERS, *(extra or ()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
