"""The checker: a service of ``hoplink worker`` (and of the embedded worker) that checks
every live link's destinations once per interval.

Scaling out: each poll claims up to ``batch`` due links under a lease (HealthQueue.claim:
FOR UPDATE SKIP LOCKED on PostgreSQL, an atomic UPDATE on SQLite), checks them outside any
transaction, and writes each outcome only while it still holds the lease, pushing the link
a whole interval ahead. Two checkers never take the same link in one round; a checker that
dies mid-check leaves its links to be taken again once the lease runs out.

Spreading: a link the checker meets for the first time is scheduled at a point of the
interval derived from its id, so 100,000 links arrive as an even trickle, not a wave;
each check then schedules the next an interval later (±5 %, so they stay spread). A link
that is created, or whose URLs change, is due at once (hoplink.linkhealth.service).
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from hoplink.delivery_loop import ServiceLoop
from hoplink.ids import new_id, utcnow
from hoplink.linkhealth.markers import load_presets
from hoplink.linkhealth.models import Verdict
from hoplink.linkhealth.probe import Prober
from hoplink.linkhealth.service import record_check, target_urls, worst_of
from hoplink.net.fetch import FetchLimits, SafeFetcher
from hoplink.observability import metrics
from hoplink.safety.policy import DestinationPolicy, policy_from_settings
from hoplink.storage.database import Database
from hoplink.storage.linkhealth import ClaimedRow, new_row

if TYPE_CHECKING:
    from hoplink.config import Settings
    from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.linkhealth")

SYNC_BATCH = 1000  # links given a health row per sync query


class HealthChecker(ServiceLoop):
    name = "health-checker"

    def __init__(
        self,
        *,
        db: Database,
        prober: Prober,
        interval: float = 6 * 3600.0,
        batch: int = 32,
        concurrency: int = 16,
        poll_interval: float = 5.0,
        lease: float = 900.0,
        sync_interval: float = 60.0,
        policy: DestinationPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(log=log, poll_interval=poll_interval)
        self.db = db
        self.prober = prober
        self.interval = interval
        self.batch = batch
        self.lease = timedelta(seconds=lease)
        self.sync_interval = sync_interval
        self.policy = policy
        self.clock = clock
        self.checked = 0  # links checked by this checker, for the bench and tests
        self._slots = asyncio.Semaphore(concurrency)
        self._synced_at: datetime | None = None

    def idle(self, done: int) -> bool:
        return done < self.batch  # a full batch: more may be due at once

    def stop_timeout(self) -> float:
        return self.prober.fetcher.limits.total_timeout * 2 + 5

    async def run_once(self) -> int:
        """Sync new links (every ``sync_interval``), then check one batch; how many links."""
        now = self.clock()
        if self._synced_at is None or (now - self._synced_at).total_seconds() >= self.sync_interval:
            await self.sync()
            self._synced_at = now
        return await self.check_due()

    async def sync(self) -> int:
        """Give every live link without one a health row, spread over the interval."""
        added = 0
        while True:
            now = self.clock()
            async with self.db.transaction() as tx:
                missing = await tx.health_queue.missing(SYNC_BATCH)
                await tx.health_queue.add(
                    [new_row(link_id, ws, now + self._offset(link_id)) for link_id, ws in missing]
                )
            added += len(missing)
            if len(missing) < SYNC_BATCH:
                return added

    def _offset(self, link_id: str) -> timedelta:
        return timedelta(seconds=zlib.crc32(link_id.encode()) % max(1, int(self.interval)))

    async def check_due(self) -> int:
        now = self.clock()
        lease = new_id("hls")
        async with self.db.transaction() as tx:
            claimed = await tx.health_queue.claim(
                now=now, lease_until=now + self.lease, lease=lease, limit=self.batch,
                skip=timedelta(seconds=self.interval),
            )  # fmt: skip
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._check(c) for c in claimed))
        done = self.clock()
        async with self.db.transaction() as tx:
            for c, (checked, validators) in zip(claimed, outcomes, strict=True):
                spread = self.interval * (0.95 + random.random() / 10)  # noqa: S311 - spread
                async with tx.savepoint():
                    await record_check(
                        tx, c, checked, validators, now=done,
                        next_check_at=done + timedelta(seconds=spread), policy=self.policy,
                    )  # fmt: skip
        for checked, _ in outcomes:
            metrics.HEALTH_CHECKS.labels(worst_of(checked)[1].state).inc()
        self.checked += len(claimed)
        return len(claimed)

    async def _check(
        self, claimed: ClaimedRow
    ) -> tuple[list[tuple[str, Verdict]], dict[str, Mapping[str, Any]]]:
        urls = target_urls(claimed.destination_url, claimed.routing, claimed.health.switched_from)
        previous: dict[str, Any] = orjson.loads(claimed.validators) if claimed.validators else {}
        checked: list[tuple[str, Verdict]] = []
        validators: dict[str, Mapping[str, Any]] = {}
        async with self._slots:
            for url in urls:
                verdict, remembered = await self.prober.check(url, previous.get(url))
                checked.append((url, verdict))
                validators[url] = remembered
        return checked, validators


def checker_from_settings(settings: Settings, *, db: Database) -> HealthChecker:
    limits = FetchLimits.from_settings(settings)
    limits = FetchLimits(
        connect_timeout=min(limits.connect_timeout, settings.health_timeout),
        total_timeout=settings.health_timeout,
        max_bytes=settings.health_max_bytes,
        max_redirects=5,
        allow_hosts=limits.allow_hosts,
        allow_networks=limits.allow_networks,
    )
    fetcher = SafeFetcher.from_settings(settings)
    fetcher = SafeFetcher(limits, resolver=fetcher.resolver)
    prober = Prober(
        fetcher,
        presets=load_presets(settings.health_markers_file),
        per_host=settings.health_per_host,
        host_delay=settings.health_host_delay,
        respect_robots=settings.health_respect_robots,
    )
    return HealthChecker(
        db=db,
        prober=prober,
        interval=settings.health_interval_hours * 3600.0,
        batch=settings.health_batch,
        concurrency=settings.health_concurrency,
        poll_interval=settings.health_poll_interval,
        lease=settings.health_lease,
        policy=policy_from_settings(settings),
    )


def embedded_checker(runtime: Runtime) -> HealthChecker:
    """A ``ServiceFactory``: the serving process checks destinations beside its worker."""
    return checker_from_settings(runtime.settings, db=runtime.db)
