"""Fetching a destination politely, through the safe fetcher only.

Per URL: robots.txt first (cached per origin for a day; a site that disallows hoplink is
not fetched: the verdict is ``unknown``), then a HEAD with the validators of the last check
(``If-None-Match`` / ``If-Modified-Since``). A 304, or the same ETag / Last-Modified on a
200, means the page did not change: the last verdict stands without reading it. A page
that must be read (its host has unavailable markers), or a HEAD that was refused or failed
with a status, is then fetched with GET — conditional too — and only its first
``max_bytes`` are read. Every request names hoplink in its User-Agent.

Requests to one host are limited to ``per_host`` at once and start at least ``host_delay``
seconds apart, whatever the number of links on that host.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.robotparser
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from hoplink import __version__
from hoplink.linkhealth.markers import Preset
from hoplink.linkhealth.models import Verdict
from hoplink.linkhealth.verdict import judge_answer, judge_failure, judge_redirect, needs_body
from hoplink.net.fetch import FetchError, FetchRefused, FetchResult, SafeFetcher

USER_AGENT = f"hoplink-health/{__version__} (+destination check; robots token: hoplink)"
ROBOTS_AGENT = "hoplink"  # the name robots.txt rules address
ROBOTS_TTL = 24 * 3600.0
ROBOTS_RETRY = 3600.0  # robots.txt unreachable: allowed, asked again after this
_MAX_HOSTS = 10_000  # host gates kept before idle ones are dropped

Validators = dict[str, Any]  # etag, last_modified, state, reason, detail, status_code


class HostGate:
    """At most ``per_host`` requests to a host at once, starts ``delay`` seconds apart."""

    def __init__(self, *, per_host: int, delay: float) -> None:
        self.per_host = per_host
        self.delay = delay
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        if len(self._slots) > _MAX_HOSTS:
            self._forget_idle()
        slot = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        async with slot:
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0))
            self._next[host] = start + self.delay
            if start > now:
                await asyncio.sleep(start - now)
            yield

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for host, slot in list(self._slots.items()):
            if not slot.locked() and self._next.get(host, 0.0) <= now:
                del self._slots[host]
                self._next.pop(host, None)


class Prober:
    def __init__(
        self,
        fetcher: SafeFetcher,
        *,
        presets: Sequence[Preset],
        per_host: int = 2,
        host_delay: float = 1.0,
        respect_robots: bool = True,
    ) -> None:
        self.fetcher = fetcher
        self.presets = presets
        self.gate = HostGate(per_host=per_host, delay=host_delay)
        self.respect_robots = respect_robots
        self._robots: dict[str, tuple[float, urllib.robotparser.RobotFileParser | None]] = {}
        self._robots_loading: dict[str, asyncio.Future[None]] = {}
        self.requests = 0  # sent, for the bench and metrics

    async def _get(
        self, url: str, *, method: str, headers: Sequence[tuple[str, str]] = ()
    ) -> FetchResult:
        host = (urlsplit(url).hostname or "").lower()
        async with self.gate.hold(host):
            self.requests += 1
            return await self.fetcher.fetch(
                url, method=method, headers=headers, truncate=True, user_agent=USER_AGENT
            )

    async def allowed(self, url: str) -> bool:
        """Whether the site's robots.txt lets hoplink fetch ``url``."""
        if not self.respect_robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(origin)
        if cached is None or cached[0] < time.monotonic():
            loading = self._robots_loading.get(origin)
            if loading is None:
                loading = asyncio.get_running_loop().create_future()
                self._robots_loading[origin] = loading
                try:
                    self._robots[origin] = await self._load_robots(origin)
                finally:
                    del self._robots_loading[origin]
                    loading.set_result(None)
            else:
                await loading
            cached = self._robots.get(origin)
        rules = cached[1] if cached else None
        return rules is None or rules.can_fetch(ROBOTS_AGENT, url)

    async def _load_robots(
        self, origin: str
    ) -> tuple[float, urllib.robotparser.RobotFileParser | None]:
        try:
            answer = await self._get(f"{origin}/robots.txt", method="GET")
        except FetchError:
            return time.monotonic() + ROBOTS_RETRY, None
        if answer.status >= 500:
            return time.monotonic() + ROBOTS_RETRY, None
        if not 200 <= answer.status < 300:  # none (4xx): everything is allowed
            return time.monotonic() + ROBOTS_TTL, None
        rules = urllib.robotparser.RobotFileParser()
        rules.parse(answer.body.decode("utf-8", "replace").splitlines())
        return time.monotonic() + ROBOTS_TTL, rules

    async def check(
        self, url: str, previous: Mapping[str, Any] | None
    ) -> tuple[Verdict, Validators]:
        """The verdict on ``url`` and what to remember for the next check of it."""
        try:
            if not await self.allowed(url):
                return Verdict("unknown", "robots_disallowed"), {}
            return await self._check(url, previous or {})
        except FetchRefused as exc:
            return judge_failure(exc.code, exc.message, refused=True), {}
        except FetchError as exc:
            return judge_failure(exc.code, exc.message, refused=False), dict(previous or {})

    async def _check(self, url: str, previous: Mapping[str, Any]) -> tuple[Verdict, Validators]:
        known = previous.get("state") is not None
        conditional: list[tuple[str, str]] = []
        if known and previous.get("etag"):
            conditional.append(("If-None-Match", previous["etag"]))
        if known and previous.get("last_modified"):
            conditional.append(("If-Modified-Since", previous["last_modified"]))
        head = await self._get(url, method="HEAD", headers=conditional)
        if head.status == 304 and known:
            return _unchanged(previous), dict(previous)
        if 200 <= head.status < 300:
            moved = judge_redirect(url, head.url, self.presets)
            if moved is not None:
                verdict = Verdict(moved.state, moved.reason, moved.detail, head.status, head.url)
                return verdict, _remember(verdict, None, url)
            if not needs_body(head.url, self.presets):
                verdict = judge_answer(
                    url, status=head.status, final_url=head.url, body=None,
                    content_type=None, presets=self.presets,
                )  # fmt: skip
                return verdict, _remember(verdict, head, url)
            if known and _same_validators(head, previous):
                return _unchanged(previous), dict(previous)
        page = await self._get(url, method="GET", headers=conditional)
        if page.status == 304 and known:
            return _unchanged(previous), dict(previous)
        verdict = judge_answer(
            url, status=page.status, final_url=page.url, body=page.body,
            content_type=_header(page, "content-type"), presets=self.presets,
        )  # fmt: skip
        return verdict, _remember(verdict, page, url)


def _header(result: FetchResult, name: str) -> str | None:
    for key, value in result.headers:
        if key == name:
            return value
    return None


def _same_validators(head: FetchResult, previous: Mapping[str, Any]) -> bool:
    etag, modified = _header(head, "etag"), _header(head, "last-modified")
    if etag and previous.get("etag"):
        return bool(etag == previous["etag"])
    return bool(modified and modified == previous.get("last_modified"))


def _unchanged(previous: Mapping[str, Any]) -> Verdict:
    return Verdict(
        previous["state"],
        previous.get("reason") or "ok",
        previous.get("detail") or "",
        previous.get("status_code"),
    )


def _remember(verdict: Verdict, answer: FetchResult | None, url: str) -> Validators:
    """The verdict, and the answer's validators when they belong to ``url`` itself (sent
    back to ``url`` next time, they must not be another page's)."""
    out: Validators = {
        "state": verdict.state,
        "reason": verdict.reason,
        "detail": verdict.detail,
        "status_code": verdict.status_code,
    }
    if answer is not None and answer.url == url and 200 <= answer.status < 300:
        if etag := _header(answer, "etag"):
            out["etag"] = etag[:200]
        if modified := _header(answer, "last-modified"):
            out["last_modified"] = modified[:100]
    return out
