"""Delivering the outbox: claim due messages, POST them signed, log, retry or finish.

At-least-once: a message is claimed with a lease (``locked_until``) in one transaction,
sent outside any transaction, and its result written in another. A worker killed between
the two leaves the message pending; once the lease runs out another worker (or the same
one restarted) sends it again with the same webhook-id, which the receiver dedupes by.
Claims are safe with several workers: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's
single writer (``BEGIN IMMEDIATE``) elsewhere.

A 2xx answer delivers; anything else (another status, a refusal by the SSRF policy, a
timeout) is retried with exponential backoff until ``retry_window`` after the message was
written, then the message is marked failed (replayable through the API and CLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hoplink.ids import new_id, utcnow
from hoplink.net.fetch import FetchError, SafeFetcher
from hoplink.storage.database import Database
from hoplink.webhooks.clicks import ClickWebhooks
from hoplink.webhooks.models import Attempt, Endpoint, Message
from hoplink.webhooks.secrets import SecretBox
from hoplink.webhooks.service import signing_secrets
from hoplink.webhooks.signing import signed_headers

if TYPE_CHECKING:
    from hoplink.config import Settings
    from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.webhooks")

SNIPPET = 500  # characters of a response body kept in the delivery log
MAX_DELAY = 3600.0
CLAIM = 20  # messages one worker takes at a time


def retry_delay(attempts: int, *, base: float) -> float:
    """Seconds before the next try after ``attempts`` failed ones (jittered)."""
    delay = min(MAX_DELAY, base * 2.0 ** min(attempts - 1, 20))
    return float(delay) * (0.75 + random.random() / 2)  # noqa: S311 - jitter, not security


class WebhookDelivery:
    """A service (start/stop) that delivers the outbox until stopped."""

    def __init__(
        self,
        *,
        db: Database,
        fetcher: SafeFetcher,
        box: SecretBox,
        poll_interval: float = 1.0,
        lease: float = 60.0,
        retry_base: float = 5.0,
        retry_window: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utcnow,
        clicks: ClickWebhooks | None = None,
    ) -> None:
        self.clicks = clicks  # flushed to the outbox every clicks.interval seconds
        self.db = db
        self.fetcher = fetcher
        self.box = box
        self.poll_interval = poll_interval
        self.lease = timedelta(seconds=lease)
        self.retry_base = retry_base
        self.retry_window = retry_window
        self.clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="webhook-delivery")

    async def stop(self) -> None:
        """Stop after the messages in hand; an unfinished one is sent again later."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.fetcher.limits.total_timeout + 5)
            except TimeoutError:
                log.warning("webhook delivery did not stop in time; its messages are retried")
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
                log.warning("webhook delivery failed, retrying: %s", exc)
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval)

    async def deliver_due(self, limit: int = CLAIM) -> int:
        """Claim and send up to ``limit`` due messages; how many were attempted."""
        now = self.clock()
        async with self.db.transaction() as tx:
            claimed = await tx.webhook_queue.claim(
                now=now, lease_until=now + self.lease, limit=limit
            )
        if claimed:
            await asyncio.gather(*(self._deliver(m, e) for m, e in claimed))
        return len(claimed)

    async def _deliver(self, message: Message, endpoint: Endpoint) -> None:
        now = self.clock()
        started = time.perf_counter()
        status: int | None = None
        snippet: str | None = None
        error: str | None = None
        try:
            headers = signed_headers(
                message_id=message.id,
                timestamp=now,
                payload=message.payload,
                secrets=signing_secrets(endpoint, box=self.box, now=now),
            )
            headers["Content-Type"] = "application/json"
            result = await self.fetcher.post(
                endpoint.url, body=message.payload.encode(), headers=headers
            )
            status = result.status
            snippet = result.body[:SNIPPET].decode("utf-8", "replace")[:SNIPPET]
        except FetchError as exc:
            error = f"{exc.code}: {exc.message}"[:300]
        except ValueError as exc:  # the secret cannot be opened (another app secret key)
            error = f"secret: {exc}"[:300]
        latency = int((time.perf_counter() - started) * 1000)
        ok = status is not None and 200 <= status < 300
        attempts = message.attempts + 1
        next_at: datetime | None = None
        if ok:
            outcome = "delivered"
        else:
            next_at = now + timedelta(seconds=retry_delay(attempts, base=self.retry_base))
            expired = next_at > message.created_at + self.retry_window
            outcome = "failed" if expired else "pending"
            if outcome == "failed":
                next_at = None
        attempt = Attempt(
            id=new_id("wha"),
            message_id=message.id,
            attempted_at=now,
            status_code=status,
            latency_ms=latency,
            error=error,
            response_snippet=snippet,
        )
        async with self.db.transaction() as tx:
            await tx.webhook_queue.finish(
                message.id, attempt=attempt, status=outcome, next_attempt_at=next_at
            )
        if not ok:
            log.info(
                "webhook %s to %s: %s (attempt %d, now %s)",
                message.id,
                endpoint.id,
                status or error,
                attempts,
                outcome,
            )


def delivery_from_settings(settings: Settings, *, db: Database) -> WebhookDelivery:
    return WebhookDelivery(
        db=db,
        fetcher=SafeFetcher.from_settings(settings),
        box=SecretBox(settings.resolve_secret_key()),
        poll_interval=settings.webhook_poll_interval,
        lease=settings.webhook_lease,
        retry_base=settings.webhook_retry_base,
        retry_window=timedelta(hours=settings.webhook_retry_hours),
        clicks=ClickWebhooks(
            db=db, batch=settings.webhook_click_batch, interval=settings.webhook_click_interval
        ),
    )


def embedded_delivery(runtime: Runtime) -> WebhookDelivery:
    """A ``ServiceFactory``: the serving process delivers webhooks beside its click worker
    (started before it: ``default_services`` lists it after), whose committed clicks it
    gathers for ``click`` webhooks."""
    from hoplink.ingest.worker import Worker

    delivery = delivery_from_settings(runtime.settings, db=runtime.db)
    for service in runtime.services:
        if isinstance(service, Worker) and delivery.clicks is not None:
            service.after_write = delivery.clicks.after_write
    return delivery
