"""Sending the forwarding queue: claim due events, batch them per destination (and GA4
client_id) up to the platform's maximum, POST, journal the answer, retry or dead-letter.

It runs as its own task beside the click worker (its own loop and queue table): a slow or
failing platform holds up only this loop, never redirects or the worker's rollups; the
worker's part is an append to ``ForwardClicks`` (bounded: past ``buffer`` clicks are
counted as dropped instead of slowing the worker).

At-least-once, as the webhook outbox (hoplink.webhooks.delivery): events are claimed with
a lease in one transaction, sent outside any, and their result written in another; a
worker killed in between leaves them pending and they are sent again after the lease with
the same event ids, which the platforms dedupe by.

A 2xx accepted answer → ``sent``. A 5xx, 429, the platform's rate-limit codes or a network
error → retried with exponential backoff until ``retry_window`` after queueing, then
``dead``. Any other 4xx (or TikTok's non-zero code) → ``dead`` at once with the platform's
message. Events that aged out of the platform's window while waiting → ``rejected``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from hoplink.forwarding.common import snippet
from hoplink.forwarding.models import Answer, Built, ClickFacts, Destination, Entry
from hoplink.forwarding.outbox import ForwardClicks, chain
from hoplink.forwarding.platforms import PLATFORMS, Endpoints
from hoplink.ids import utcnow
from hoplink.net.fetch import FetchError, SafeFetcher
from hoplink.storage.database import Database
from hoplink.webhooks.delivery import retry_delay
from hoplink.webhooks.secrets import SecretBox

if TYPE_CHECKING:
    from hoplink.config import Settings
    from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.forwarding")

CLAIM = 2000  # events one worker takes at a time
PARALLEL = 8  # requests in flight at once


@dataclass(slots=True)
class Counters:
    requests: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    rejected: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def endpoints_from_settings(settings: Settings) -> Endpoints:
    return Endpoints(
        ga4=settings.ga4_base_url.rstrip("/"),
        meta=settings.meta_base_url.rstrip("/"),
        tiktok=settings.tiktok_base_url.rstrip("/"),
        meta_api_version=settings.meta_api_version,
    )


def _scrub(text: str, credential: str) -> str:
    return text.replace(credential, "••••") if credential else text


class ForwardDelivery:
    """A service (start/stop) that sends the forwarding queue until stopped."""

    def __init__(
        self,
        *,
        db: Database,
        fetcher: SafeFetcher,
        box: SecretBox,
        endpoints: Endpoints,
        poll_interval: float = 1.0,
        lease: float = 60.0,
        retry_base: float = 5.0,
        retry_window: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utcnow,
        clicks: ForwardClicks | None = None,
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.box = box
        self.endpoints = endpoints
        self.poll_interval = poll_interval
        self.lease = timedelta(seconds=lease)
        self.retry_base = retry_base
        self.retry_window = retry_window
        self.clock = clock
        self.clicks = clicks
        self.counters = Counters()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._gate = asyncio.Semaphore(PARALLEL)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="forwarding")

    async def stop(self) -> None:
        """Stop after the requests in hand; unfinished events are sent again later."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.fetcher.limits.total_timeout + 5)
            except TimeoutError:
                log.warning("forwarding did not stop in time; its events are retried")
            self._task = None
        if self.clicks is not None:
            await self.clicks.flush()

    async def run(self) -> None:
        flushed = time.monotonic()
        while not self._stopping.is_set():
            if self.clicks is not None and time.monotonic() - flushed >= self.clicks.interval:
                flushed = time.monotonic()
                await self.clicks.flush()
            try:
                sent = await self.deliver_due()
            except Exception as exc:
                log.warning("forwarding failed, retrying: %s", exc)
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval)

    async def deliver_due(self, limit: int = CLAIM) -> int:
        """Claim and send up to ``limit`` due events; how many were attempted."""
        now = self.clock()
        async with self.db.transaction() as tx:
            claimed = await tx.forward_queue.claim(
                now=now, lease_until=now + self.lease, limit=limit
            )
        if not claimed:
            return 0
        groups: dict[tuple[str, str], tuple[Destination, list[Entry]]] = {}
        for entry, dest in claimed:
            groups.setdefault((dest.id, entry.group_key), (dest, []))[1].append(entry)
        batches: list[tuple[Destination, list[Entry]]] = []
        for dest, entries in groups.values():
            size = PLATFORMS[dest.kind].max_batch
            batches += [(dest, entries[i : i + size]) for i in range(0, len(entries), size)]
        await asyncio.gather(*(self._send(dest, batch) for dest, batch in batches))
        return len(claimed)

    async def _send(self, dest: Destination, entries: list[Entry]) -> None:
        async with self._gate:
            await self._send_batch(dest, entries)

    async def _send_batch(self, dest: Destination, entries: list[Entry]) -> None:
        platform = PLATFORMS[dest.kind]
        now = self.clock()
        late: dict[str, str] = {}
        for e in entries:
            problem = platform.due_problem({}, e.occurred_at, now)
            if problem is not None:
                late[e.id] = problem
        if late:
            async with self.db.transaction() as tx:
                for entry_id, problem in late.items():
                    await tx.forward_queue.finish(
                        [entry_id], {"status": "rejected", "error": problem[:300]}
                    )
            self.counters.rejected += len(late)
            entries = [e for e in entries if e.id not in late]
            if not entries:
                return
        credential = ""
        try:
            credential = self.box.open(dest.credential_enc)
            request = platform.request(
                dest,
                credential=credential,
                endpoints=self.endpoints,
                events=[orjson.loads(e.payload) for e in entries],
                group=entries[0].group_key,
            )
            self.counters.requests += 1
            result = await self.fetcher.post(
                request.url, body=request.body, headers=request.headers
            )
            answer = platform.answer(result.status, result.body)
        except FetchError as exc:
            answer = Answer(ok=False, retry=True, message=f"{exc.code}: {exc.message}")
        except ValueError as exc:  # sealed under another secret key: needs a new credential
            answer = Answer(ok=False, retry=False, message=f"credential: {exc}")
        message = _scrub(answer.message, credential)[:500]
        values: dict[str, Any] = {
            "sent_at": now,
            "answer_status": answer.status,
            "answer": message,
        }
        ids = [e.id for e in entries]
        if answer.ok:
            async with self.db.transaction() as tx:
                await tx.forward_queue.finish(ids, {**values, "status": "sent", "error": None})
            self.counters.sent += len(ids)
            return
        values["error"] = message[:300]
        if not answer.retry:
            async with self.db.transaction() as tx:
                await tx.forward_queue.finish(ids, {**values, "status": "dead"})
            self.counters.dead += len(ids)
            log.info("forwarding to %s refused %d events: %s", dest.id, len(ids), message[:200])
            return
        async with self.db.transaction() as tx:
            for e in entries:
                delay = retry_delay(e.attempts + 1, base=self.retry_base)
                next_at = now + timedelta(seconds=delay)
                expired = next_at > e.created_at + self.retry_window
                await tx.forward_queue.finish(
                    [e.id],
                    {**values, "status": "dead"}
                    if expired
                    else {**values, "status": "pending", "next_attempt_at": next_at},
                )
        self.counters.retried += len(ids)
        log.info(
            "forwarding to %s failed (%s); %d events retried", dest.id, message[:200], len(ids)
        )


async def send_test(
    dest: Destination,
    *,
    fetcher: SafeFetcher,
    box: SecretBox,
    endpoints: Endpoints,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Send one made-up click to ``dest`` now (Meta and TikTok: with its test event code,
    if set) and return what was sent (credentials masked) and the platform's answer. Not
    journalled: it is no visitor's click."""
    now = now or utcnow()
    platform = PLATFORMS[dest.kind]
    facts = ClickFacts(
        click_id=secrets.token_hex(16),
        workspace_id=dest.workspace_id,
        link_id="test",
        ts=now.replace(tzinfo=now.tzinfo or UTC).timestamp(),
        visitor_hash=secrets.token_hex(16),
        user_agent="hoplink-test-event/1.0",
        ad_click_ids={},
        country="US",
        device="mobile",
        link_code="test",
        link_host="hoplink.test",
        page_url="https://hoplink.test/test-event",
        utm={"utm_source": "hoplink", "utm_medium": "test", "utm_campaign": "test_event"},
    )
    built = platform.build_click(dest, facts, now)
    if not isinstance(built, Built):
        return {"ok": False, "request": built.payload, "status": None, "answer": built.rule}
    credential = box.open(dest.credential_enc)
    request = platform.request(
        dest,
        credential=credential,
        endpoints=endpoints,
        events=[built.payload],
        group=built.group_key,
    )
    try:
        result = await fetcher.post(request.url, body=request.body, headers=request.headers)
    except FetchError as exc:
        return {
            "ok": False,
            "request": request.shown,
            "status": None,
            "answer": _scrub(f"{exc.code}: {exc.message}", credential),
        }
    answer = platform.answer(result.status, result.body)
    return {
        "ok": answer.ok,
        "request": request.shown,
        "status": result.status,
        "answer": _scrub(snippet(result.body), credential) or answer.message,
    }


def delivery_from_settings(settings: Settings, *, db: Database) -> ForwardDelivery:
    return ForwardDelivery(
        db=db,
        fetcher=SafeFetcher.from_settings(settings),
        box=SecretBox(settings.resolve_secret_key()),
        endpoints=endpoints_from_settings(settings),
        poll_interval=settings.forward_poll_interval,
        lease=settings.forward_lease,
        retry_base=settings.forward_retry_base,
        retry_window=timedelta(hours=settings.forward_retry_hours),
        clicks=ForwardClicks(
            db=db,
            interval=settings.forward_click_interval,
            buffer=settings.forward_click_buffer,
        ),
    )


def attach(worker: Any, delivery: ForwardDelivery) -> None:
    """Hand the click worker's committed clicks to ``delivery`` too (after any other
    after-write hook, such as click webhooks)."""
    if delivery.clicks is not None:
        worker.after_write = chain(worker.after_write, delivery.clicks.after_write)


def embedded_forwarding(runtime: Runtime) -> ForwardDelivery:
    """A ``ServiceFactory``: the serving process forwards beside its click worker."""
    from hoplink.ingest.worker import Worker

    delivery = delivery_from_settings(runtime.settings, db=runtime.db)
    for service in runtime.services:
        if isinstance(service, Worker):
            attach(service, delivery)
    return delivery
