"""What the webhook and the ad platform deliveries share: a service that, until stopped,
writes the clicks gathered for it to its outbox, claims due work under a lease and sends
it; and the backoff of failed sends.

At-least-once: work is claimed with a lease (``locked_until``) in one transaction, sent
outside any transaction, and its outcome written in another. A process killed between the
two leaves it pending; once the lease runs out another worker (or the same one restarted)
sends it again with the same ids, which the receivers dedupe by. Claims are safe with
several workers: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's single writer
(``BEGIN IMMEDIATE``) elsewhere.

Failed sends are retried with exponential, jittered backoff (``retry_delay``) until
``retry_window`` after the work was queued (``next_attempt`` says when, or that it is time
to give up). What is claimed, how it is sent and what an answer means is each delivery's
own (hoplink.webhooks.delivery, hoplink.forwarding.delivery).

The loop itself (``ServiceLoop``: start, stop, a round until stopped, a wait when a round
found too little to do) also drives the periodic checkers of the worker
(hoplink.linkhealth.checker, hoplink.domains.rechecker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, TypedDict, Unpack

from hoplink.ids import utcnow
from hoplink.net.fetch import SafeFetcher
from hoplink.storage.database import Database

MAX_DELAY = 3600.0


def retry_delay(attempts: int, *, base: float) -> float:
    """Seconds before the next try after ``attempts`` failed ones (jittered)."""
    delay = min(MAX_DELAY, base * 2.0 ** min(attempts - 1, 20))
    return float(delay) * (0.75 + random.random() / 2)  # noqa: S311 - jitter, not security


class LoopOptions(TypedDict, total=False):
    """The loop's knobs, each delivery's settings (``HOPLINK_WEBHOOK_*``,
    ``HOPLINK_FORWARD_*``): seconds between polls when nothing was due, the lease of a
    claim, the first retry's delay, how long to retry, and the clock (tests)."""

    poll_interval: float
    lease: float
    retry_base: float
    retry_window: timedelta
    clock: Callable[[], datetime]


class Gatherer(Protocol):
    """Clicks gathered from the click worker, written to the outbox every ``interval`` s."""

    interval: float

    async def flush(self) -> int: ...


class ServiceLoop:
    """A service (start/stop) that runs ``run_once`` until stopped, waiting
    ``poll_interval`` after a round that left nothing waiting (``idle``); a round that
    fails is logged and counts as idle."""

    name = "service"  # the task's name, and how the logs call it

    def __init__(self, *, log: logging.Logger, poll_interval: float) -> None:
        self.log = log
        self.poll_interval = poll_interval
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """One round of work; how much was done."""
        raise NotImplementedError

    def idle(self, done: int) -> bool:
        """Whether to wait before the next round: nothing was done."""
        return not done

    def stop_timeout(self) -> float:
        """Seconds ``stop`` waits for the round in hand."""
        raise NotImplementedError

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        """Stop after the work in hand; what is unfinished is taken again later (its lease
        runs out)."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.stop_timeout())
            except TimeoutError:
                self.log.warning("%s did not stop in time; its work is retried", self.name)
            self._task = None

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = await self.run_once()
            except Exception as exc:
                self.log.warning("%s failed, retrying: %s", self.name, exc)
                done = 0
            if self.idle(done):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval)


class DeliveryLoop(ServiceLoop):
    """A ``ServiceLoop`` whose round writes the gathered clicks to the outbox (every
    ``clicks.interval`` s) and runs ``deliver_due``."""

    name = "delivery"

    def __init__(
        self,
        *,
        db: Database,
        fetcher: SafeFetcher,
        log: logging.Logger,
        clicks: Gatherer | None = None,
        **options: Unpack[LoopOptions],
    ) -> None:
        super().__init__(log=log, poll_interval=options.get("poll_interval", 1.0))
        self.db = db
        self.fetcher = fetcher
        self.lease = timedelta(seconds=options.get("lease", 60.0))
        self.retry_base = options.get("retry_base", 5.0)
        self.retry_window = options.get("retry_window", timedelta(hours=24))
        self.clock = options.get("clock", utcnow)
        self.clicks = clicks  # flushed to the outbox every clicks.interval seconds
        self._flushed = time.monotonic()

    async def deliver_due(self) -> int:
        """Claim and send what is due; how much was attempted (0: nothing was due)."""
        raise NotImplementedError

    def next_attempt(
        self, attempts: int, *, created_at: datetime, now: datetime
    ) -> datetime | None:
        """When to try again after ``attempts`` failed tries, or None: the retry window
        closed (give up)."""
        next_at = now + timedelta(seconds=retry_delay(attempts, base=self.retry_base))
        return None if next_at > created_at + self.retry_window else next_at

    def stop_timeout(self) -> float:
        return self.fetcher.limits.total_timeout + 5

    async def stop(self) -> None:
        await super().stop()
        if self.clicks is not None:
            await self.clicks.flush()

    async def run(self) -> None:
        self._flushed = time.monotonic()
        await super().run()

    async def run_once(self) -> int:
        if self.clicks is not None and time.monotonic() - self._flushed >= self.clicks.interval:
            self._flushed = time.monotonic()
            await self.clicks.flush()
        return await self.deliver_due()
