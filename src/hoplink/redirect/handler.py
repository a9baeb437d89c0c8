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

from starlette.types import Message, Receive, Scope, Send

from hoplink.clicks.models import Click
from hoplink.ratelimit import parse_limit, retry_after_seconds
from hoplink.redirect import pages
from hoplink.redirect.edge import ClickCapture
from hoplink.redirect.forward import forward_query
from hoplink.redirect.parts import EdgeParts
from hoplink.redirect.proxies import HSTS, HttpsDetector
from hoplink.redirect.resolver import Resolver
from hoplink.redirect.rules import route

log = logging.getLogger("hoplink.redirect")

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HOST = re.compile(r"(?:[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::[0-9]{1,5})?")
_NOT_FOUND = b"<!doctype html><title>Not found</title><p>This short link does not exist.</p>"
_TOO_MANY = (
    b"<!doctype html><title>Too many requests</title><p>Too many unknown links were requested"
    b" from your address. Please wait a moment.</p>"
)
_GONE = b"<!doctype html><title>Unavailable</title><p>This link is no longer available.</p>"
_UNAVAILABLE = b"<!doctype html><title>Try again</title><p>Please try again in a moment.</p>"
_PAGE_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
_HSTS = (b"strict-transport-security", HSTS.encode())


class RedirectApp:
    def __init__(self) -> None:
        # Counted for metrics; logged once per 1,000 so an outage cannot flood the log.
        self.clicks_lost = 0
        self.lookups_failed = 0
        self.misses_refused = 0  # unknown codes answered 429 (enumeration limit)

    def bind(self, runtime: EdgeParts) -> None:
        s = runtime.settings
        self.resolver = Resolver.for_runtime(runtime)
        self.capture = ClickCapture(
            salts=runtime.salts,
            geo=runtime.geo,
            trusted=runtime.trusted_proxies,
            client_ip_header=s.client_ip_header,
        )
        # Embedded: the journal, written synchronously. Production: the Redis click sink.
        self.journal = runtime.journal
        self.sink = runtime.click_sink
        if self.journal is None and self.sink is None:
            raise RuntimeError("the redirect app needs a runtime started with serve=True")
        self.wait_for_disk = s.journal_wait_for_disk
        self.is_https = HttpsDetector(runtime.trusted_proxies)
        self.limiter = runtime.rate_limiter
        self.miss_limit = parse_limit("redirect_404", s.rate_limit_redirect_404)
        self.headers = [
            (b"cache-control", f"private, max-age={s.redirect_max_age}".encode()),
            (b"referrer-policy", s.redirect_referrer_policy.encode()),
            (b"content-length", b"0"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.is_https(scope):
            send = _with_hsts(send)
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
            await self._not_found(scope, send, method)
            return
        if target.workspace_status == "suspended" or target.banned:
            await _page(send, 410, _GONE, method)
            return
        ts = time.time()
        click: Click | None = None
        try:
            click = await self.capture.click(scope, host=host, target=target, ts=ts)
        except Exception:
            self._lost()
        location, forwardable = target.final_url, True
        if target.plan is not None:  # rules, schedule, limit (redirect/rules.py); plain links skip
            routed = route(target.plan, target, scope, click, ts)
            if routed.location is None:  # expired or not started, without an expiry URL
                await _page(send, pages.STATUS[routed.page or "expired"],
                            pages.render(routed.page or "expired", routed.language), method,
                            [(b"content-language", routed.language.encode())])  # fmt: skip
                return
            location, forwardable = routed.location, routed.forwardable
            click = None if click is None else click.answered_by(routed.rule, routed.variant)
        if target.forward_query and forwardable and scope["query_string"]:
            location = forward_query(location, scope["query_string"])
        try:
            if click is not None and self.journal is not None:
                self.journal.put(click)
                if self.wait_for_disk:
                    await self.journal.synced()
            elif click is not None and self.sink is not None:
                await self.sink.put(click)  # in Redis, or spooled to disk, before the 302
        except Exception:
            self._lost()  # the visitor still gets their redirect
        headers = [(b"location", location.encode("ascii")), *self.headers]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _lost(self) -> None:
        """A click not recorded: counted, and logged once per 1,000."""
        self.clicks_lost += 1
        if self.clicks_lost % 1000 == 1:
            log.exception("click not recorded (%d lost so far)", self.clicks_lost)

    async def _not_found(self, scope: Scope, send: Send, method: str) -> None:
        """Only misses touch the limiter: an address that asked for too many unknown codes
        gets 429 for further ones (enumeration), while its existing links still redirect."""
        if self.miss_limit is not None:
            client = scope.get("client")
            ip = self.capture.client_ip(client[0] if client else None, scope["headers"])[0]
            if ip is not None:
                wait = await self.limiter.hit(self.miss_limit, ip)
                if wait > 0:
                    self.misses_refused += 1
                    retry = str(retry_after_seconds(wait)).encode()
                    await _page(send, 429, _TOO_MANY, method, [(b"retry-after", retry)])
                    return
        await _page(send, 404, _NOT_FOUND, method)


def _with_hsts(send: Send) -> Send:
    """Over HTTPS every answer (302s and pages) tells the browser to stay on HTTPS."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message["headers"], _HSTS]
        await send(message)

    return sending


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
