"""The click worker: ClickSource → enrichment → one transaction → ack.

A batch closes when it holds ``batch_size`` clicks or ``flush_interval`` seconds after its
first click was answered (its redirect's time, so time spent waiting in the source counts),
whichever comes first. Under load (batches fill up before their deadline)
both grow, doubling, up to ``BACKLOG_GROWTH`` times ``batch_size`` and ``LOADED_FLUSH``
seconds: most of a batch's cost is per rollup row and per commit, and in a second of
traffic many clicks fall on the same rollup rows (a link's hour, a workspace's country),
so one bigger batch a second writes far fewer rows than five small ones. A batch that
gets less than a quarter of its target (the load is gone) sends both back to the start.

A batch's clicks are enriched (``steps``), then written in ONE transaction: the raw clicks
(insert-ignore by click id), the seen-visitor sets and the rollup increments of the clicks
that were new. Only after the commit is the batch acknowledged, so a crash at any point
means the source hands the clicks out again and the click-id check makes the replay a no-op.
The database counts the batch itself (``storage.click_batches`` on SQLite,
``click_batches_pg`` on PostgreSQL, safe with other workers writing at once: the enriched
clicks go in once, the rest is set-based SQL); ``tally_in_sql = False`` makes the worker
tally it (``rollups.DeltaBuilder``) and send the rows instead. Both write the same rows.

Database errors never lose a batch: it is retried with exponential backoff until it
commits. The exception is data a database refuses for good (``DataError``): the batch is
split in halves until the offending click is alone, and that click is dropped and logged.
On ``stop`` the worker drains what the source still holds, then returns. Between batches
it runs the retention purge in small steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.clicks.enriched import Event, SeenKey
from hoplink.clicks.models import AcksTogether, Click, ClickSource
from hoplink.clicks.salts import purge_salts
from hoplink.config import Settings
from hoplink.domains.rechecker import rechecker_from_settings
from hoplink.forwarding.delivery import attach as attach_forwarding
from hoplink.forwarding.delivery import delivery_from_settings as forwarding_from_settings
from hoplink.ingest.journal import ClickJournal
from hoplink.ingest.redis_stream import RedisClickSource, check_production_mode
from hoplink.ingest.rollups import DeltaBuilder, by_time, seen_keys
from hoplink.ingest.seen import SeenCache
from hoplink.ingest.steps import DropReason, IngestCounters, Pipeline, check_links
from hoplink.ingest.useragents import AgentClassifier
from hoplink.linkhealth.checker import checker_from_settings
from hoplink.linkhealth.service import HealthOnCommit
from hoplink.observability import metrics
from hoplink.redirect.invalidation import InvalidateOnCommit
from hoplink.runtime import Runtime
from hoplink.storage import migrate
from hoplink.storage.click_batches import ClickBatchRepo
from hoplink.storage.click_batches_pg import PgClickBatchRepo
from hoplink.storage.clicks import ClickRepo
from hoplink.storage.database import Database
from hoplink.storage.limits import mark_exhausted
from hoplink.storage.rollups import RollupRepo
from hoplink.webhooks.delivery import delivery_from_settings
from hoplink.webhooks.outbox import OutboxOnCommit

log = logging.getLogger("hoplink.worker")

ENRICH_SLICE = 64  # clicks enriched between two yields to the event loop
DELTA_SLICE = 256  # clicks counted into the rollup delta between two yields
BACKLOG_GROWTH = 32  # under load, batches grow up to this many times batch_size
LOADED_FLUSH = 1.0  # ... and wait up to this many seconds to fill (click -> stats <= ~2 s)
PURGE_CHUNK = 2000  # raw clicks deleted per purge transaction
SEEN_KEEP_HOURS = 48  # visitor hashes rotate daily; two days covers late arrivals
SEEN_CACHE_KEYS = 500_000  # visitor keys held in memory (~60 MB; see ingest/seen.py)
DAY = 86_400
ORPHAN_CHECK = 0.5  # seconds between checks that the parent web process still lives


class Worker:
    def __init__(
        self,
        *,
        db: Database,
        source: ClickSource,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        retention_days: int = 90,
        purge_interval: float = 600.0,
        agents: AgentClassifier | None = None,
        clock: Callable[[], float] = time.time,
        retry_base: float = 0.1,
        retry_max: float = 30.0,
        seen_cache_keys: int = SEEN_CACHE_KEYS,
    ) -> None:
        self.db = db
        self.source = source
        self.batch_size = batch_size
        self.max_batch_size = batch_size * BACKLOG_GROWTH
        self._batch_target = batch_size  # grows while batches fill up (load)
        self.flush_interval = flush_interval
        self._window = flush_interval  # grows with the target, up to LOADED_FLUSH
        self.retention_days = retention_days
        self.purge_interval = purge_interval
        self.clock = clock
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.counters = IngestCounters()
        self.seen = SeenCache(max_keys=seen_cache_keys, keep_hours=SEEN_KEEP_HOURS)
        # The database tallies each batch (storage/click_batches.py, click_batches_pg.py);
        # False: tallied here, then written as rows (DeltaBuilder, RollupRepo).
        self.tally_in_sql = True
        self.pipeline = Pipeline(
            agents=agents or AgentClassifier(),
            retention_seconds=retention_days * DAY,
            counters=self.counters,
        )
        self.last_commit_at: float | None = None
        self.lag_seconds = 0.0  # age of the newest click of the last committed batch
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_purge = 0.0
        # Called with each batch's new clicks after its commit (click webhooks); an error
        # it raises is logged, never retried: the batch is written.
        self.after_write: Callable[[Sequence[Event]], Awaitable[None]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, db: Database, source: ClickSource) -> Worker:
        return cls(
            db=db,
            source=source,
            batch_size=settings.worker_batch_size,
            flush_interval=settings.worker_flush_interval,
            retention_days=settings.click_retention_days,
            purge_interval=settings.worker_purge_interval,
            agents=AgentClassifier(settings.user_agent_cache_size),
        )

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Run in a background task of the current event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="click-worker")

    def request_stop(self) -> None:
        self._stopping.set()

    async def stop(self, grace: float = 30.0) -> None:
        """Drain what the source holds, then stop. After ``grace`` seconds (the database
        is away), give up: unacknowledged clicks stay in the source for the next start."""
        self.request_stop()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            log.warning("click worker did not drain within %.0f s; stopping it", grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def run(self) -> None:
        log.info("click worker started (batch %d, %.2f s)", self.batch_size, self.flush_interval)
        metrics.watch_worker(self)  # held weakly; unwatched once drained
        while not self._stopping.is_set():
            try:
                clicks, tokens = await self._collect()
                if clicks:
                    await self.process(clicks)
                    await self._ack(tokens)
            except Exception:
                # The source failed (a journal I/O error, say); nothing was acknowledged,
                # so nothing is lost. Keep the worker alive and try again.
                log.exception("click worker: reading or acknowledging clicks failed")
                await asyncio.sleep(1.0)
            if self.clock() >= self._next_purge:
                await self._purge_step()
        # Drain: whatever is already in the source, without waiting for more.
        while True:
            clicks, token = await self.source.read(self.max_batch_size, 0)
            if not clicks:
                break
            await self.process(clicks)
            await self.source.ack(token)
        log.info("click worker stopped: %s", self.counters.snapshot())
        metrics.unwatch_worker(self)

    # --- batches ---------------------------------------------------------------------------

    async def _collect(self) -> tuple[list[Click], list[object]]:
        """One batch: up to the batch target, at most the flush window after the redirect of
        its first click. Past the window it takes, without waiting, what the source already
        holds from before the window's end (a source hands out a few hundred per read)."""
        loop = asyncio.get_running_loop()
        batch: list[Click] = []
        tokens: list[object] = []
        deadline: float | None = None  # loop time
        cutoff = 0.0  # the same instant as a redirect time (the clicks' ``ts``)
        target, window = self._batch_target, self._window
        while len(batch) < target:
            if deadline is None:
                wait = window
            else:
                wait = max(0.0, deadline - loop.time())
                if not wait and batch[-1].ts >= cutoff:
                    break
            clicks, token = await self.source.read(target - len(batch), wait)
            if not clicks:
                break
            batch += clicks
            tokens.append(token)
            if deadline is None:
                # The window counts from the oldest click's redirect, not from this read:
                # clicks that waited in the source while the last batch was written have
                # used up that much of it (click -> stats stays within window + one write).
                now = self.clock()
                left = window - min(window, max(0.0, now - min(c.ts for c in clicks)))
                deadline, cutoff = loop.time() + left, now + left
            if self._stopping.is_set():
                break
        if len(batch) >= target:  # full before the deadline: clicks are waiting
            self._batch_target = min(self.max_batch_size, target * 2)
            self._window = min(max(self.flush_interval, LOADED_FLUSH), window * 2)
        elif len(batch) * 4 < target:  # the load is gone
            self._batch_target, self._window = self.batch_size, self.flush_interval
        return batch, tokens

    async def _ack(self, tokens: Sequence[object]) -> None:
        if isinstance(self.source, AcksTogether):  # the journal and the Redis stream
            await self.source.ack_all(tokens)
            return
        for token in tokens:
            await self.source.ack(token)

    async def process(self, clicks: Sequence[Click]) -> None:
        """Enrich and commit one batch, retrying until the database takes it."""
        started = time.perf_counter()
        now = self.clock()
        events: list[Event] = []
        seen: set[str] = set()
        for i in range(0, len(clicks), ENRICH_SLICE):
            events += self.pipeline.run(clicks[i : i + ENRICH_SLICE], now, seen=seen)
            await asyncio.sleep(0)  # parsing new user agents is CPU work; let redirects in
        attempt = 0
        while True:
            try:
                await self._write_splitting(events)
                break
            except Exception as exc:
                attempt += 1
                delay = min(self.retry_max, self.retry_base * 2 ** min(attempt, 20))
                delay *= 0.5 + random.random() / 2  # noqa: S311 - jitter, not security
                log.warning(
                    "writing %d clicks failed (attempt %d), retrying in %.1f s: %s",
                    len(events),
                    attempt,
                    delay,
                    exc,
                )
                self.counters.add("retries")
                await asyncio.sleep(delay)
        self.counters.add("batches")
        metrics.WORKER_BATCH_SECONDS.observe(time.perf_counter() - started)
        self.last_commit_at = self.clock()
        if events:
            self.lag_seconds = max(0.0, self.last_commit_at - max(e.click.ts for e in events))

    async def _write_splitting(self, events: list[Event]) -> None:
        try:
            await self._write(events)
        except DBAPIError as exc:
            if not _refused_for_good(exc):
                raise  # retried with backoff by the caller
            # The database refuses some value for good; find the click and set it aside.
            if len(events) == 1:
                log.error(
                    "dropping click %s the database refuses: %s", events[0].click.click_id, exc
                )
                self.counters.dropped(DropReason.UNWRITABLE)
                return
            mid = len(events) // 2
            await self._write_splitting(events[:mid])
            await self._write_splitting(events[mid:])

    async def _write(self, events: list[Event]) -> None:
        drops: Counter[DropReason] = Counter()
        new: list[Event] = []
        kept: list[Event] = []
        keys: list[SeenKey] = []
        if events:
            async with self.db.transaction() as tx:
                clicks = ClickRepo(tx.conn)
                kept, drops = check_links(
                    events, await clicks.link_refs(e.click.link_id for e in events)
                )
                if self.tally_in_sql:
                    batches = ClickBatchRepo if self.db.is_sqlite else PgClickBatchRepo
                    replays = await batches(tx.conn).write(kept)
                    new = [e for e in kept if e.click.click_id not in replays]
                else:
                    new, keys = await self._write_tallied(tx.conn, kept)
                # Click limits: links whose human clicks just reached max_clicks expire.
                # After the commit, the redirect edge reloads them (hoplink.events).
                humans = {e.click.link_id for e in new if e.human}
                tx.record(*await mark_exhausted(tx.conn, humans, now=datetime.now(UTC)))
        if keys:
            self.seen.remember(keys, now=self.clock())
        # Counted after the commit only, so a retried batch is not counted twice.
        for reason, n in drops.items():
            self.counters.dropped(reason, n)
        self.counters.add("written", len(new))
        self.counters.add("replayed", len(kept) - len(new))
        if new and self.after_write is not None:
            try:
                await self.after_write(new)
            except Exception:
                log.exception("the after-write hook failed (%d clicks)", len(new))

    async def _write_tallied(
        self, conn: AsyncConnection, kept: list[Event]
    ) -> tuple[list[Event], list[SeenKey]]:
        """The rollups tallied here (``DeltaBuilder``) and written as rows; the batch's new
        clicks and the visitor keys it sent (to remember once committed)."""
        new_ids = await ClickRepo(conn).insert_new(kept)
        new = [e for e in kept if e.click.click_id in new_ids]
        # The counting first: on PostgreSQL the seen-set rows inserted below make other
        # workers wait for this commit (see DeltaBuilder).
        builder = DeltaBuilder()
        ordered = sorted(new, key=by_time)
        for i in range(0, len(ordered), DELTA_SLICE):
            builder.add(ordered[i : i + DELTA_SLICE])
            await asyncio.sleep(0)  # a big batch is tens of ms of CPU: let redirects in
        builder.count_views()
        rollups = RollupRepo(conn)
        # Keys this worker committed before are in the table: only ask about others.
        keys = seen_keys(new)
        builder.claim(await rollups.mark_seen(self.seen.unknown(keys, now=self.clock())))
        await rollups.apply(builder.delta())
        return new, keys

    # --- retention -------------------------------------------------------------------------

    async def _purge_step(self) -> None:
        """One small step of the purge; the next comes on the next loop while work remains."""
        now = self.clock()
        try:
            deleted = await self.purge_clicks(now=now, limit=PURGE_CHUNK)
            if deleted >= PURGE_CHUNK:
                return  # more to delete: come back after the next batch
            await self.purge_visitor_state(now=now)
        except Exception as exc:
            log.warning("retention purge failed, retrying later: %s", exc)
        self._next_purge = now + self.purge_interval

    async def purge_clicks(self, *, now: float, limit: int = PURGE_CHUNK) -> int:
        """Delete up to ``limit`` raw clicks older than the retention; the number deleted."""
        cutoff = datetime.fromtimestamp(now - self.retention_days * DAY, UTC)
        async with self.db.transaction() as tx:
            deleted = await ClickRepo(tx.conn).purge_before(cutoff, limit=limit)
        self.counters.add("purged", deleted)
        return deleted

    async def purge_visitor_state(self, *, now: float) -> None:
        """Forget seen-visitor sets older than two days, and expired visitor salts."""
        before_hour = int(now // 3600) - SEEN_KEEP_HOURS
        async with self.db.transaction() as tx:
            await RollupRepo(tx.conn).purge_seen(before_hour=before_hour, max_buckets=100)
        await purge_salts(self.db, today=datetime.fromtimestamp(now, UTC).date())


def _refused_for_good(exc: DBAPIError) -> bool:
    """A value the database will never take (retrying cannot help): DBAPI's DataError, or
    any SQLSTATE of class 22 "data exception" — asyncpg reports some of those, such as
    22021 for a NUL character in text, as a generic DBAPI error."""
    if isinstance(exc, DataError):
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(code, str) and code.startswith("22")


async def start_worker(*, settings: Settings, db: Database, source: ClickSource) -> Worker:
    """Start the worker as a task of the running event loop (the embedded default).

    Call ``await worker.stop()`` at shutdown, before the source and database are closed.
    """
    worker = Worker.from_settings(settings, db=db, source=source)
    await worker.start()
    return worker


def embedded_worker(runtime: Runtime) -> Worker:
    """A ``ServiceFactory`` for ``create_app(settings, services=[embedded_worker])``: the
    worker consumes the serving process's own click journal; the runtime starts it last
    and stops (drains) it before the journal and the database close."""
    if runtime.journal is None:
        raise RuntimeError("the embedded worker needs a serving runtime (with a journal)")
    return Worker.from_settings(runtime.settings, db=runtime.db, source=runtime.journal)


async def _stop_when_orphaned(parent_pid: int, stop: Callable[[], None]) -> None:
    """The web process that started this worker died without stopping it (kill -9): drain
    and exit, so that the next ``hoplink serve`` can take the journal's reader lock."""
    while os.getppid() == parent_pid:  # noqa: ASYNC110 - no event to wait for: a poll
        await asyncio.sleep(ORPHAN_CHECK)
    log.warning("the web process %d is gone: draining the journal and stopping", parent_pid)
    stop()


async def run_worker(
    settings: Settings,
    *,
    source: ClickSource | None = None,
    on_ready: Callable[[], None] | None = None,
    parent_pid: int | None = None,
) -> None:
    """``hoplink worker``: consume the click journal in this process until SIGTERM/SIGINT;
    in production mode (``redis_url``) the Redis click stream instead, as one consumer of
    its group (run as many as needed). A signal stops reading: the batch in hand is
    committed and acknowledged (from a journal, what it still holds is drained too).

    ``on_ready`` is called once the signal handlers are in place. With ``parent_pid`` (the
    child of ``hoplink serve``, see ``hoplink.ingest.process``) the worker also stops, as
    on SIGTERM, when that process is gone."""
    check_production_mode(settings)  # ConfigError: production mode on SQLite
    db = Database.from_url(settings.database_url_async)
    journal: ClickJournal | None = None
    redis: Redis | None = None
    publisher: Runtime | None = None
    try:
        if not await migrate.is_current(db.engine):
            raise RuntimeError("the database schema is not current: run `hoplink db upgrade`")
        if source is None and settings.redis_url:
            # BLOCKing reads wait up to the flush interval: the socket must wait longer. No
            # silent retries: a read whose reply was lost must raise, so that the source
            # reads its own pending entries again (see RedisClickSource).
            redis = Redis.from_url(
                settings.redis_url,
                socket_connect_timeout=2.0,
                socket_timeout=settings.worker_flush_interval + 5.0,
                health_check_interval=10,
                retry=Retry(NoBackoff(), 0),
            )
            source = RedisClickSource.from_settings(redis, settings)
        elif source is None:
            journal = ClickJournal(settings.data_dir / "journal", write=False)
            source = journal
        worker = Worker.from_settings(settings, db=db, source=source)
        delivery = delivery_from_settings(settings, db=db)  # the webhook outbox
        if delivery.clicks is not None:
            worker.after_write = delivery.clicks.after_write
        await delivery.start()
        # Ad platform forwarding: its own loop and queue, fed the committed clicks.
        forwarding = forwarding_from_settings(settings, db=db)
        attach_forwarding(worker, forwarding)
        await forwarding.start()
        # Link changes made here (health fallbacks) reach webhooks and the health schedule.
        db.listeners.before_commit(OutboxOnCommit())
        db.listeners.before_commit(HealthOnCommit())
        checker = checker_from_settings(settings, db=db) if settings.health_enabled else None
        if checker is not None:
            await checker.start()  # destination health: claims its links under a lease
        rechecker = (
            rechecker_from_settings(settings, db=db) if settings.domain_recheck_enabled else None
        )
        if rechecker is not None:
            await rechecker.start()  # verified domains proven again, each under a lease
        if settings.redis_url:
            # Publishes link invalidations (links that reached their click limit) to every
            # web node; without Redis the web nodes see them within their cache TTL.
            publisher = await Runtime.start(settings)
            db.listeners.after_commit(
                InvalidateOnCommit(publisher.redirect_cache, publisher.invalidation)
            )
        # Like the serving process (app.py): keep what start-up built out of the cyclic GC's
        # full collections, which otherwise rescan it every few batches.
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()

        def stop() -> None:
            worker.request_stop()
            if isinstance(source, RedisClickSource):
                source.stop_reading()  # other workers take the rest of the stream

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        orphaned = None
        if parent_pid is not None:
            orphaned = loop.create_task(_stop_when_orphaned(parent_pid, stop))
        if on_ready is not None:
            on_ready()
        try:
            await worker.run()
        finally:
            if orphaned is not None:
                orphaned.cancel()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            if checker is not None:
                await checker.stop()
            if rechecker is not None:
                await rechecker.stop()
            await delivery.stop()
            await forwarding.stop()
    finally:
        if publisher is not None:
            await publisher.close()  # flushes pending invalidations
        if journal is not None:
            await journal.close()
        if redis is not None:
            await redis.aclose()
        await db.dispose()
