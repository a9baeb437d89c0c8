"""Delivering the outbox: claim due messages, POST them signed, log, retry or finish.

The loop, the lease and the backoff are hoplink.delivery_loop's (at-least-once: a message
sent again after a crash carries the same webhook-id, which the receiver dedupes by).

A 2xx answer delivers; anything else (another status, a refusal by the SSRF policy, a
timeout) is retried with exponential backoff until ``retry_window`` after the message was
written, then the message is marked failed (replayable through the API and CLI).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Unpack

from hoplink.delivery_loop import DeliveryLoop, LoopOptions
from hoplink.ids import new_id
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
CLAIM = 20  # messages one worker takes at a time


class WebhookDelivery(DeliveryLoop):
    """A service (start/stop) that delivers the outbox until stopped."""

    name = "webhook delivery"
    clicks: ClickWebhooks | None

    def __init__(
        self,
        *,
        db: Database,
        fetcher: SafeFetcher,
        box: SecretBox,
        clicks: ClickWebhooks | None = None,
        **options: Unpack[LoopOptions],
    ) -> None:
        super().__init__(db=db, fetcher=fetcher, log=log, clicks=clicks, **options)
        self.box = box

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
            next_at = self.next_attempt(attempts, created_at=message.created_at, now=now)
            outcome = "pending" if next_at is not None else "failed"
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
