"""Production mode's click queue: a Redis Stream with one consumer group.

Web nodes (``RedisClickSink``) ``XADD`` each click before answering the redirect; the
XADDs of concurrent requests share round-trips: while one is in flight, new clicks queue
and all go out in the next one, one script call that XADDs each of them (an entry per
click, as before), and each request awaits the future of its own entry. The script, not a
pipeline of XADD commands, because the client's work is per command: ~15-20 µs of the web
process's CPU per pipelined XADD against ~3-5 µs per click of one call (bench/RESULTS.md,
issue 17). When Redis cannot be reached the click is written to a local spool (a
``ClickJournal`` in ``<spool dir>/<node id>/``, one per process so web processes never
share a writer lock) and the request is answered after that write; a background task
replays the spool into the stream once Redis answers again, and adopts spools left by dead
processes (their writer lock is free). Replays may repeat a click: the worker dedupes on
``click_id``.

``hoplink worker`` processes (``RedisClickSource``) read through the consumer group
(``XREADGROUP`` with ``BLOCK``), acknowledge (``XACK`` + ``XDEL`` in one ``MULTI``) only
after the rollup transaction committed, and take over entries another consumer left
pending for longer than ``claim_idle`` (``XAUTOCLAIM``: a killed worker). The stream is
never trimmed with ``MAXLEN`` (that would drop clicks nobody consumed): its length is the
backlog, since acknowledged entries are deleted. See docs/adr/0003-redis-click-stream.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from hoplink.clicks.models import Click
from hoplink.config import ConfigError, Settings
from hoplink.ingest.journal import ClickJournal, JournalLocked

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.asyncio import Redis

log = logging.getLogger("hoplink.clicks")

FIELD = b"c"  # each entry has one field: the click as JSON
MAX_PIPELINE = 1000  # most XADDs in one round-trip; more wait for the next one
# KEYS[1] the stream, ARGV[1] the field (FIELD), then the clicks: one entry each, their ids
# in order.
_XADD_MANY = """
local ids = {}
for i = 2, #ARGV do
  ids[i - 1] = redis.call('XADD', KEYS[1], '*', ARGV[1], ARGV[i])
end
return ids
"""
REPLAY_BATCH = 500  # spooled clicks sent per pipeline when replaying
ORPHAN_SCAN_SECONDS = 30.0  # how often a web process looks for spools of dead processes
STALE_CONSUMER_SECONDS = 3600.0  # consumers idle this long with nothing pending are removed
GATHER = 0.02  # seconds a worker's read lets clicks gather after a blocking read got a few
ACK_CHUNK = 10_000  # entry ids per XACK / XDEL command


def node_id() -> str:
    """Unique per process and start: names the consumer and the spool directory."""
    host = socket.gethostname().replace("/", "_") or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def check_production_mode(settings: Settings) -> None:
    """Production mode (a Redis URL) runs many web and worker processes: SQLite cannot."""
    if settings.redis_url and settings.is_sqlite:
        raise ConfigError(
            "HOPLINK_REDIS_URL is set (production mode), but the database is SQLite:"
            " production mode needs a PostgreSQL HOPLINK_DATABASE_URL, because its web"
            " processes and workers all write to it. Unset HOPLINK_REDIS_URL for embedded"
            " mode, or move the data with `hoplink db copy --from sqlite:///... --to"
            " postgresql://...`."
        )


@dataclass(frozen=True, slots=True)
class StreamBacklog:
    length: int  # entries in the stream: not yet read + read but not acknowledged
    pending: int  # read by a worker, not yet acknowledged
    lag: int | None  # not yet delivered to any worker (None: Redis cannot tell)


@dataclass(frozen=True, slots=True)
class ClickStream:
    """Where the clicks go: one stream key and its consumer group."""

    redis: Redis
    key: str
    group: str

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> ClickStream:
        return cls(
            redis=redis,
            key=f"{settings.redis_key_prefix}{settings.click_stream_key}",
            group=settings.click_stream_group,
        )

    async def backlog(self) -> StreamBacklog:
        """Queue depth for metrics and operators (XLEN + XINFO GROUPS)."""
        length = int(await self.redis.xlen(self.key))
        try:
            groups: list[dict[str, Any]] = await self.redis.xinfo_groups(self.key)
        except ResponseError:  # no such key: nothing was ever added
            return StreamBacklog(length, 0, length)
        for group in groups:
            if _text(group.get("name")) == self.group:
                lag = group.get("lag")
                return StreamBacklog(
                    length, int(group.get("pending") or 0), None if lag is None else int(lag)
                )
        return StreamBacklog(length, 0, length)  # no worker has started yet

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- web nodes -------------------------------------------------------------------------------


class RedisClickSink:
    """ClickSink of production mode: pipelined XADD, local spool while Redis is away.

    ``put`` returns once the click is in Redis or in the spool file (which, like the
    embedded journal, survives ``kill -9`` of this process). One event loop only.
    """

    def __init__(
        self,
        stream: ClickStream,
        *,
        spool_root: Path,
        xadd_timeout: float = 1.0,
        retry_interval: float = 1.0,
        node: str | None = None,
        max_in_flight: int = 1,
    ) -> None:
        self.stream = stream
        self.spool_root = spool_root
        self.xadd_timeout = xadd_timeout
        self.retry_interval = retry_interval
        self.node = node or node_id()
        # Plain counters for metrics.
        self.added = 0  # clicks XADDed on the request path
        self.pipelines = 0  # round-trips that carried them
        self.spooled = 0  # clicks written to the spool instead
        self.replayed = 0  # spooled clicks later XADDed (own and adopted spools)
        self.xadd_failures = 0  # failed round-trips and refused entries (spooled instead)
        self._pending: list[tuple[Click, asyncio.Future[None]]] = []
        self._flushers: set[asyncio.Task[None]] = set()
        # Pipelines on their way at once. 1: clicks arriving during a round-trip all go in
        # the next one (fewest round-trips); more trades batching for latency when Redis
        # is far away.
        self.max_in_flight = max_in_flight
        self._degraded = False  # Redis failed: clicks go to the spool until it is replayed
        self._spool: ClickJournal | None = None
        self._adopted: dict[Path, ClickJournal] = {}
        self._replayer: asyncio.Task[None] | None = None
        self._xadd_many = stream.redis.register_script(_XADD_MANY)

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> RedisClickSink:
        spool_root = settings.click_spool_dir
        if spool_root is None or str(spool_root) in ("", "."):  # HOPLINK_CLICK_SPOOL_DIR=""
            spool_root = settings.data_dir / "spool"
        return cls(
            ClickStream.from_settings(redis, settings),
            spool_root=spool_root,
            xadd_timeout=settings.click_stream_xadd_timeout,
            retry_interval=settings.click_spool_retry_interval,
        )

    @property
    def degraded(self) -> bool:
        return self._degraded

    def start(self) -> None:
        """Start the replay task (it first adopts spools of dead processes)."""
        if self._replayer is None:
            self._replayer = asyncio.get_running_loop().create_task(
                self._replay_forever(), name="click-spool-replay"
            )

    async def put(self, click: Click) -> None:
        if self._degraded:
            self._spool_put(click)
            return
        future = asyncio.get_running_loop().create_future()
        self._pending.append((click, future))
        if len(self._flushers) < self.max_in_flight:
            self._flushers.add(asyncio.get_running_loop().create_task(self._flush()))
        await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_PIPELINE]
                del self._pending[:MAX_PIPELINE]
                results: list[Any] = []
                if not self._degraded:
                    try:
                        results = await self._xadd([click for click, _ in batch])
                        self.pipelines += 1
                    except Exception as exc:
                        self._fail(exc)
                for i, (click, future) in enumerate(batch):
                    result = results[i] if i < len(results) else None
                    if i < len(results) and not isinstance(result, Exception):
                        self.added += 1
                        _resolve(future)
                        continue
                    if isinstance(result, Exception):
                        self._fail(result)  # e.g. OOM: Redis refuses writes
                    try:
                        self._spool_put(click)
                        _resolve(future)
                    except Exception as exc:  # the spool failed too: the caller counts a loss
                        if not future.done():
                            future.set_exception(exc)
        finally:
            # Synchronously with the last look at _pending: a put() after this starts a
            # new flusher (a done-callback would leave a window where none would).
            task = asyncio.current_task()
            if task is not None:
                self._flushers.discard(task)

    async def _xadd(self, clicks: list[Click]) -> list[Any]:
        """One round-trip: every click its own entry; raises if Redis refused the call (an
        error part-way, e.g. out of memory, may have added some: they are spooled and sent
        again, and the worker skips a click id it has)."""
        async with asyncio.timeout(self.xadd_timeout):
            ids: list[Any] = await self._xadd_many(
                keys=[self.stream.key], args=[FIELD, *(click.to_json() for click in clicks)]
            )
            return ids

    def _fail(self, exc: BaseException) -> None:
        self.xadd_failures += 1
        if not self._degraded:
            log.warning("Redis unreachable (%r): spooling clicks to %s", exc, self.spool_root)
        self._degraded = True

    def _spool_put(self, click: Click) -> None:
        if self._spool is None:
            self._spool = ClickJournal(self.spool_root / self.node)
            self._spool.start()
        self._spool.put(click)
        self.spooled += 1

    # --- replay ------------------------------------------------------------------------------

    async def _replay_forever(self) -> None:
        next_scan = 0.0
        failures = 0
        while True:
            try:
                if time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
                    await asyncio.to_thread(self.spool_root.mkdir, parents=True, exist_ok=True)
                    self._adopt_orphans()
                if self._degraded or self._adopted:
                    await self.replay()
                failures = 0
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 60 == 0:
                    log.warning("click spool replay failed (%d in a row): %r", failures, exc)
            await asyncio.sleep(self.retry_interval)

    def _adopt_orphans(self) -> None:
        for path in sorted(self.spool_root.iterdir()):
            if not path.is_dir() or path.name == self.node or path in self._adopted:
                continue
            try:
                journal = ClickJournal(path)  # the writer lock is free: its process is gone
            except JournalLocked:
                continue  # a live process's spool
            except OSError as exc:
                log.warning("cannot open the click spool %s: %s", path, exc)
                continue
            log.info("adopting the click spool of a stopped process: %s", path)
            self._adopted[path] = journal

    async def replay(self) -> None:
        """Send every spooled click to the stream; leave degraded mode once all are sent.

        Raises if Redis fails (the caller retries after the interval)."""
        if self._degraded:
            async with asyncio.timeout(self.xadd_timeout):
                await self.stream.redis.ping()
        for path, journal in list(self._adopted.items()):
            await self._drain(journal)
            del self._adopted[path]
            await journal.close()
            await asyncio.to_thread(shutil.rmtree, path, True)
        if self._spool is not None:
            await self._drain(self._spool)
        # No await between the spool's last (empty) read and here: nothing new is in it.
        if self._degraded:
            self._degraded = False
            log.warning("Redis is back: %d spooled clicks replayed so far", self.replayed)

    async def _drain(self, journal: ClickJournal) -> None:
        while True:
            clicks, token = await journal.read(REPLAY_BATCH, 0)
            if not clicks:
                return
            try:
                results = await self._xadd(clicks)
                bad = next((r for r in results if isinstance(r, Exception)), None)
                if bad is not None:
                    raise bad
            except BaseException:
                journal.rewind()  # sent again next time (the worker dedupes on click_id)
                raise
            await journal.ack(token)
            self.replayed += len(clicks)

    async def backlog(self) -> StreamBacklog:
        return await self.stream.backlog()

    async def close(self) -> None:
        """Send what is queued, try one last replay, release the spool (removed if empty)."""
        while running := {t for t in self._flushers if not t.done()}:
            await asyncio.wait(running)
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer
            self._replayer = None
        if self._degraded or self._adopted:
            try:
                await self.replay()
            except Exception as exc:
                log.warning("Redis still unreachable at shutdown, clicks stay spooled: %r", exc)
        for journal in [*self._adopted.values(), *([self._spool] if self._spool else [])]:
            empty = not (await journal.read(1, 0))[0]
            await journal.close()
            if empty:
                await asyncio.to_thread(shutil.rmtree, journal.directory, True)
            else:
                log.warning(
                    "clicks left in the spool %s, replayed at next start", journal.directory
                )
        self._adopted.clear()
        self._spool = None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


# --- workers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    ids: tuple[bytes, ...]


class RedisClickSource:
    """ClickSource of production mode: one consumer of the group, unique per process."""

    def __init__(
        self,
        stream: ClickStream,
        *,
        consumer: str | None = None,
        read_count: int = 500,
        claim_idle: float = 60.0,
    ) -> None:
        self.stream = stream
        self.consumer = consumer or node_id()
        self.read_count = read_count
        self.claim_idle = claim_idle
        # Plain counters for metrics.
        self.entries_read = 0  # entries delivered by XREADGROUP
        self.claimed = 0  # entries taken over from other consumers (XAUTOCLAIM)
        self.acked = 0
        self.dropped = 0  # corrupt entries, acknowledged and deleted unread
        self._group_ready = False
        self._claim_cursor: bytes | str = "0-0"
        self._next_claim = 0.0
        self._stopping = False
        # After an error, first read our own pending entries again (XREADGROUP from 0):
        # a reply lost with the connection leaves entries delivered to us but never seen.
        self._own_pending = False
        self._own_cursor: bytes | str = "0"

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> RedisClickSource:
        return cls(
            ClickStream.from_settings(redis, settings),
            read_count=settings.click_stream_read_count,
            claim_idle=settings.click_stream_claim_idle,
        )

    def stop_reading(self) -> None:
        """SIGTERM: hand out nothing more; what is in hand is still acknowledged."""
        self._stopping = True

    async def read(self, max_items: int, timeout: float) -> tuple[list[Click], object]:  # noqa: ASYNC109
        if self._stopping:
            return [], _Token(())
        count = max(1, min(max_items, self.read_count))
        if not self._group_ready:
            await self.stream.ensure_group()
            self._group_ready = True
        try:
            if self._own_pending:
                response: Any = await self.stream.redis.xreadgroup(
                    self.stream.group,
                    self.consumer,
                    {self.stream.key: self._own_cursor},
                    count=count,
                )
                entries = response[0][1] if response else []
                if entries:
                    self._own_cursor = entries[-1][0]
                if len(entries) < count:
                    self._own_pending = False  # all of ours are handed out (again)
                    self._own_cursor = "0"
                if entries:
                    self.entries_read += len(entries)
                    return await self._decode(entries)
            if time.monotonic() >= self._next_claim:
                clicks, token = await self._claim(count)
                if clicks:
                    return clicks, token
            block = int(timeout * 1000)
            entries = await self._read_new(count, block if block > 0 else None)
            if entries and block and len(entries) < count and timeout >= GATHER:
                # A blocking read returns as soon as one entry is there: a worker that
                # keeps up would read (and acknowledge) a few clicks per round trip.
                # Let the traffic of a moment gather, and take it in the same read.
                await asyncio.sleep(GATHER)
                entries += await self._read_new(count - len(entries), None)
        except Exception as exc:
            if "NOGROUP" in str(exc):  # the stream key was deleted: create it again
                self._group_ready = False
            self._own_pending = True
            raise
        self.entries_read += len(entries)
        return await self._decode(entries)

    async def _read_new(self, count: int, block: int | None) -> list[Any]:
        response: Any = await self.stream.redis.xreadgroup(
            self.stream.group,
            self.consumer,
            {self.stream.key: ">"},
            count=count,
            block=block,  # None: do not wait (BLOCK 0 would wait for ever)
        )
        return list(response[0][1]) if response else []

    async def _claim(self, count: int) -> tuple[list[Click], object]:
        cursor, entries, *_deleted = await self.stream.redis.xautoclaim(
            self.stream.key,
            self.stream.group,
            self.consumer,
            min_idle_time=int(self.claim_idle * 1000),
            start_id=self._claim_cursor,
            count=count,
        )
        self._claim_cursor = cursor
        if _text(cursor) == "0-0":  # scanned the whole pending list: next round later
            self._next_claim = time.monotonic() + max(1.0, self.claim_idle / 2)
            await self._forget_stale_consumers()
        if entries:
            self.claimed += len(entries)
            log.info("took over %d clicks left pending by another worker", len(entries))
        return await self._decode(entries)

    async def _forget_stale_consumers(self) -> None:
        """Dead workers' names stay in the group; drop those with nothing pending."""
        consumers = await self.stream.redis.xinfo_consumers(self.stream.key, self.stream.group)
        for c in consumers:
            name = _text(c.get("name"))
            if (
                name != self.consumer
                and int(c.get("pending") or 0) == 0
                and int(c.get("idle") or 0) > STALE_CONSUMER_SECONDS * 1000
            ):
                await self.stream.redis.xgroup_delconsumer(self.stream.key, self.stream.group, name)

    async def _decode(self, entries: list[Any]) -> tuple[list[Click], object]:
        clicks: list[Click] = []
        ids: list[bytes] = []
        corrupt: list[bytes] = []
        for entry_id, fields in entries:
            try:
                clicks.append(Click.from_json(fields[FIELD]))
                ids.append(entry_id)
            except (KeyError, TypeError, ValueError):
                corrupt.append(entry_id)
        if corrupt:
            log.error("dropping %d unreadable entries of the click stream", len(corrupt))
            await self._ack_ids(corrupt)
            self.dropped += len(corrupt)
        return clicks, _Token(tuple(ids))

    async def ack(self, token: object) -> None:
        await self.ack_all((token,))

    async def ack_all(self, tokens: Sequence[object]) -> None:
        """The entries of several reads (one batch), in one transaction: one round trip."""
        ids: list[bytes] = []
        for token in tokens:
            if not isinstance(token, _Token):
                raise TypeError(f"not a click stream token: {token!r}")
            ids += token.ids
        if ids:
            try:
                await self._ack_ids(ids)
            except Exception:
                self._own_pending = True  # committed, not acknowledged: they come again
                raise
            self.acked += len(ids)

    async def _ack_ids(self, ids: tuple[bytes, ...] | list[bytes]) -> None:
        pipe = self.stream.redis.pipeline(transaction=True)
        for i in range(0, len(ids), ACK_CHUNK):
            chunk = ids[i : i + ACK_CHUNK]
            pipe.xack(self.stream.key, self.stream.group, *chunk)
            pipe.xdel(self.stream.key, *chunk)  # acknowledged: the stream holds only the backlog
        await pipe.execute()

    async def backlog(self) -> StreamBacklog:
        return await self.stream.backlog()
