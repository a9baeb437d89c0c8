"""The redirect hot path: resolve, hand the click off, answer 302 with the stored URL.

Plain ASGI, no framework. Only the Host header and the code pick the target, and the
Location is the stored final URL or one the link's routing rules / A/B test stored (plus,
for http(s) ones of links that ask for it, the visitor's extra query parameters or the ad
platforms' click ids) plus the click id — never on an app hand-off (``intent://``, custom
scheme) — so nothing in a request can steer where it goes.
The click is in the journal before the first byte of the answer is sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from starlette.types import Message, Receive, Scope, Send

from hoplink.clicks.models import Click
from hoplink.ratelimit import parse_limit, retry_after_seconds
from hoplink.redirect.abcookie import set_cookie
from hoplink.redirect.edge import ClickCapture
from hoplink.redirect.forward import forward_query, tag_location
from hoplink.redirect.pages import VisitorPages, language
from hoplink.redirect.parts import EdgeParts
from hoplink.redirect.proxies import HSTS, HttpsDetector
from hoplink.redirect.resolver import Resolver, emittable
from hoplink.redirect.rules import route
from hoplink.storage.redirects import Site, Target

log = logging.getLogger("hoplink.redirect")

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HOST = re.compile(r"(?:[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::[0-9]{1,5})?")
_TRAILING_DOT = re.compile(r"\.(?=(?::[0-9]{1,5})?$)")
_PAGE_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"vary", b"accept-language"),
]
_HSTS = (b"strict-transport-security", HSTS.encode())
_ROBOTS_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"cache-control", b"public, max-age=3600"),
    (b"x-content-type-options", b"nosniff"),
]
_ELSEWHERE_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-length", b"0"),
]
# robots.txt of a short domain without its own: short links are not pages to index.
DEFAULT_ROBOTS = "User-agent: *\nDisallow: /\n"
# Most seconds the start-up warm-up of the cache may take; the process then serves anyway.
WARM_UP_TIMEOUT = 15.0


class RedirectApp:
    def __init__(self) -> None:
        # Counted for metrics; logged once per 1,000 so an outage cannot flood the log.
        self.clicks_lost = 0
        self.lookups_failed = 0
        self.misses_refused = 0  # unknown codes answered 429 (enumeration limit)
        # Set by ``bind`` (start-up): until then no host is known to be a custom domain.
        self.bound = False

    async def warm_up(self) -> int:
        """Load the most clicked links before the server takes requests, so a deploy's
        first minute answers from memory; never fails the start (a database that cannot be
        read is the degraded mode's business). Returns how many links were loaded."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(WARM_UP_TIMEOUT):
                loaded = await self.resolver.warm_up(self.warmup_links)
        except Exception as exc:
            log.warning("the redirect cache starts empty: warming it up failed: %r", exc)
            return 0
        if loaded:
            log.info(
                "redirect cache warmed up: %d links in %.2f s",
                loaded,
                time.perf_counter() - started,
            )
        return loaded

    def close(self) -> None:
        """The app's shutdown: the resolver's timers stop."""
        if self.bound:
            self.resolver.close()

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
        self.warmup_links = s.redirect_warmup_links
        self.is_https = HttpsDetector(runtime.trusted_proxies)
        self.pages = VisitorPages(s.visitor_page_template)
        self.limiter = runtime.rate_limiter
        self.miss_limit = parse_limit("redirect_404", s.rate_limit_redirect_404)
        self.ab_days = s.ab_cookie_days
        self.headers = [
            (b"cache-control", f"private, max-age={s.redirect_max_age}".encode()),
            (b"referrer-policy", s.redirect_referrer_policy.encode()),
            (b"content-length", b"0"),
        ]
        self.e405 = [
            *_PAGE_HEADERS,
            (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
            (b"allow", b"GET, HEAD"),
            (b"content-length", b"0"),
        ]
        self.bound = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        https = self.is_https(scope)
        if https:
            send = _with_hsts(send)
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await send({"type": "http.response.start", "status": 405, "headers": self.e405})
            await send({"type": "http.response.body", "body": b""})
            return
        host = _host(scope["headers"])
        code = scope["path"][1:]
        if host is None:
            await self._page(scope, send, "not_found")
            return
        target: Target | None = None
        try:  # the host's site is in memory (redirect/cache.py): no I/O for it
            site = await self.resolver.site(host)
            if site is None and ":" in host:  # go.shop.com:443 is go.shop.com
                host = _without_port(host)
                site = await self.resolver.site(host)
            if site is not None and not site.suspended and _CODE.fullmatch(code):
                target = await self.resolver.resolve(host, code)
        except Exception:
            self.lookups_failed += 1
            if self.lookups_failed % 1000 == 1:
                log.exception("short link lookup failed (%d so far)", self.lookups_failed)
            await self._page(scope, send, "unavailable", extra=[(b"retry-after", b"5")])
            return
        if site is None:
            await self._page(scope, send, "not_found")
            return
        if site.suspended:
            await self._page(scope, send, "gone")
            return
        # A custom domain serves its own workspace's links only: after an operator transfer
        # the previous owner's codes stay reserved there but answer as unknown.
        if target is None or (site.workspace_id not in (None, target.workspace_id)):
            await self._elsewhere(scope, send, site, code)
            return
        # Archived links keep redirecting: archiving only tidies the seller's list.
        if target.disabled or target.banned or target.workspace_status == "suspended":
            await self._refused(scope, send, target)
            return
        ts = time.time()
        click: Click | None = None
        try:
            click = self.capture.click_now(scope, host=host, target=target, ts=ts)
            if click is None:  # the day's visitor key is not in memory yet
                click = await self.capture.click(scope, host=host, target=target, ts=ts)
        except Exception:
            self._lost()
        location, forwardable, routed = target.final_url, True, None
        if target.plan is not None:  # rules, schedule, limit (redirect/rules.py); plain links skip
            routed = route(target.plan, target, scope, click, ts, ab_cookie=self.ab_days > 0)
            if routed.location is None:  # expired or not started, without an expiry URL
                await self._page(scope, send, routed.page or "expired", lang=routed.language)
                return
            location, forwardable = routed.location, routed.forwardable
            click = None if click is None else click.answered_by(routed.rule, routed.variant)
        if forwardable:  # http(s) only: never touch an app hand-off (intent://, custom scheme)
            if target.forward_query and scope["query_string"]:
                query, param = scope["query_string"], target.click_param
                location = forward_query(location, query, click_param=param)
            if click is not None:
                location = tag_location(location, target, click)  # ad click ids, then ours
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
        if routed is not None and routed.remember:  # the optional A/B cookie (abcookie.py)
            assert routed.variant is not None
            headers.append(set_cookie(code, routed.variant, days=self.ab_days, secure=https))
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _elsewhere(self, scope: Scope, send: Send, site: Site, code: str) -> None:
        """Not a link of this domain: its root, its robots.txt, or its 404 answer."""
        if code == "robots.txt":
            body = (site.robots or DEFAULT_ROBOTS).encode()
            headers = [*_ROBOTS_HEADERS, (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send(
                {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
            )
            return
        if code == "":
            if site.root_url is not None and emittable(site.root_url):
                await self._elsewhere_to(send, site.root_url)
            else:
                await self._page(scope, send, "not_found")
            return
        # Only what could be a code counts as a guess (favicon.ico, /a/b never do).
        await self._not_found(scope, send, site.not_found_url, guess=bool(_CODE.fullmatch(code)))

    async def _elsewhere_to(self, send: Send, url: str) -> None:
        """A domain's own redirect (root, 404): not a click, never cached by the browser."""
        headers = [(b"location", url.encode("ascii")), *_ELSEWHERE_HEADERS]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def custom_host(self, scope: Scope) -> bool:
        """Whether the request is for a workspace's custom domain, served or not (pending,
        removed): there every path but the Shlink API's is the redirect's (no dashboard, no
        /api, never the platform's sign-in page on a seller's domain)."""
        host = _host(scope["headers"])
        if host is None or not self.bound:
            return False
        try:
            if await self.resolver.custom(host):
                return True
            return ":" in host and await self.resolver.custom(_without_port(host))
        except Exception:
            return False

    def _lost(self) -> None:
        """A click not recorded: counted, and logged once per 1,000."""
        self.clicks_lost += 1
        if self.clicks_lost % 1000 == 1:
            log.exception("click not recorded (%d lost so far)", self.clicks_lost)

    async def _refused(self, scope: Scope, send: Send, target: Target) -> None:
        if target.banned or target.workspace_status == "suspended":
            await self._page(scope, send, "gone")  # never the fallback of a banned seller
        else:
            await self._page(scope, send, "disabled", fallback=target.fallback_url)

    async def _page(
        self,
        scope: Scope,
        send: Send,
        kind: str,
        *,
        fallback: str | None = None,
        lang: str | None = None,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """The visitor page in the visitor's language (only ever on the miss path)."""
        accept = next((v for n, v in scope["headers"] if n == b"accept-language"), None)
        lang = lang or language(accept)
        page = self.pages.page(kind, lang, fallback)
        body = b"" if scope["method"] == "HEAD" else page.body
        headers = [
            *_PAGE_HEADERS,
            (b"content-security-policy", page.csp),
            (b"content-language", lang.encode()),
            *(extra or ()),
            (b"content-length", str(len(page.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": page.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _not_found(
        self, scope: Scope, send: Send, redirect_to: str | None = None, *, guess: bool = True
    ) -> None:
        """Only misses touch the limiter: an address that asked for too many unknown codes
        gets 429 for further ones (enumeration), while its existing links still redirect.
        ``redirect_to``: the domain's 404 redirect, else hoplink's page."""
        if self.miss_limit is not None and guess:
            client = scope.get("client")
            ip = self.capture.client_ip(client[0] if client else None, scope["headers"])[0]
            if ip is not None:
                wait = await self.limiter.hit(self.miss_limit, ip)
                if wait > 0:
                    self.misses_refused += 1
                    retry = str(retry_after_seconds(wait)).encode()
                    await self._page(scope, send, "too_many", extra=[(b"retry-after", retry)])
                    return
        if redirect_to is not None and emittable(redirect_to):
            await self._elsewhere_to(send, redirect_to)
            return
        await self._page(scope, send, "not_found")


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
            if not _HOST.fullmatch(host):
                return None
            if host.endswith(".") or ".:" in host:  # the fully qualified form: same host
                host = _TRAILING_DOT.sub("", host, count=1)
            return host
    return None


def _without_port(host: str) -> str:
    """``host`` (as ``_host`` returns it) without its port: ``go.shop.com:443`` is
    ``go.shop.com``, ``[2001:db8::1]:80`` is ``[2001:db8::1]``."""
    if host.startswith("["):
        end = host.find("]:")
        return host[: end + 1] if end > 0 else host
    return host.partition(":")[0]
