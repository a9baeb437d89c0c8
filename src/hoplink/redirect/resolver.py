"""(host, code) → target: the cache first, then the database, in batches.

Cache misses do not query one by one: they queue, and a few loader tasks each take
everything queued (up to a batch) and fetch it with one query per host. Concurrent
requests for the same key share one load (no stampede when a hot link expires), a cold
cache fills at tens of thousands of links a second, and a flood of random codes costs a
few queries at a time instead of taking every pooled connection from the API. Links used
late in their TTL are reloaded the same way in the background (refresh-ahead), gathered
for up to ``REFRESH_DELAY`` first: they fall due one at a time (hundreds a second for ten
thousand links in use), and a query costs about as much for one link as for a hundred — on
SQLite ~1.3 ms of the web process's CPU for 5 links, ~2 ms for 100 — so loading each as it
fell due took a large share of the event loop (bench/RESULTS.md, issue 17). When the
database cannot be reached, a recently expired link is still served.

In production mode a batch first reads the shared Redis tier (one MGET), and only what is
not there goes to the database (then is written back). Database loads are bounded by a
timeout and a circuit breaker: during an outage one trial load goes through per back-off
period and every other miss fails at once (the handler answers 503 with Retry-After)
instead of queueing behind connection attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.links.plan import compile_plan
from hoplink.links.urls import CLICK_ID_PARAM
from hoplink.redirect.breaker import CircuitBreaker, CircuitOpen
from hoplink.redirect.cache import MISSING, RedirectCache
from hoplink.redirect.shared_cache import Key, SharedLinkCache
from hoplink.storage.database import Database
from hoplink.storage.redirects import Site, Target, most_clicked, resolve_many, sites

if TYPE_CHECKING:
    from hoplink.redirect.parts import EdgeParts

log = logging.getLogger("hoplink.redirect")

MAX_BATCH = 100
MAX_LOADERS = 2
# Links per query (and per Redis MGET) while warming up before serving: nobody waits for
# one of them, so bigger batches than a visitor's miss (fewer round trips).
WARM_BATCH = 1000
# The warm-up's links are the most clicked of the last this many days (UTC, today included).
WARM_DAYS = 2
# Seconds a link due for its refresh-ahead reload waits for others (a full batch goes at
# once); never more than a tenth of the cache TTL, so it is reloaded long before it expires.
REFRESH_DELAY = 0.5
# How long past its expiry a link may still be served while the database is unreachable.
STALE_IF_ERROR = 600.0


def emittable(url: str) -> bool:
    """Only printable ASCII may go into a Location header (canonical URLs always are)."""
    return url.isascii() and all(0x21 <= ord(c) <= 0x7E for c in url)


def _with_plan(target: Target) -> Target:
    """The target with its routing compiled (once per load, kept in the cache entry); a
    routing that cannot be compiled is logged and the link's own destination served."""
    try:
        plan = compile_plan(
            target.routing,
            final_url=target.final_url,
            starts=target.starts,
            ends=target.ends,
            expiry_url=target.expiry_url,
            exhausted=target.exhausted,
        )
    except Exception:
        log.exception("link %s has routing that cannot be compiled; ignored", target.link_id)
        return target
    return dataclasses.replace(target, plan=plan)


class Resolver:
    def __init__(
        self,
        db: Database,
        cache: RedirectCache,
        *,
        shared: SharedLinkCache | None = None,
        db_timeout: float = 5.0,
        db_breaker: CircuitBreaker | None = None,
        click_param: str = CLICK_ID_PARAM,
        refresh_delay: float = REFRESH_DELAY,
    ) -> None:
        self.db = db
        self.click_param = click_param  # the operator's default click-id parameter
        self.cache = cache
        self.shared = shared
        self.db_timeout = db_timeout
        self.db_breaker = db_breaker or CircuitBreaker("database", delay=1.0, max_delay=5.0)
        self._loading: dict[str, asyncio.Future[Target | None]] = {}
        self._queue: list[tuple[str, str, int]] = []  # host, code, cache generation
        self._background: list[tuple[str, str, int]] = []  # refreshes: after the visitors'
        self._loaders = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._hosts_lock = asyncio.Lock()
        # Links due for their refresh-ahead reload, waiting for a batch (``_refresh_due``).
        self.refresh_delay = min(refresh_delay, cache.ttl / 10)
        self._refresh: list[tuple[str, str]] = []
        self._refresh_timer: asyncio.TimerHandle | None = None
        # Sweeps the cache at its next refresh point (``_arm_sweep``): without it only a
        # request swept, so after a quiet spell longer than the refresh-ahead margin every
        # link of the last traffic had expired and the next burst waited for the database.
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._closed = False

    @classmethod
    def for_runtime(cls, runtime: EdgeParts) -> Resolver:
        s = runtime.settings
        breaker = CircuitBreaker(
            "database", delay=s.redirect_db_retry_delay, max_delay=s.redirect_db_retry_max_delay
        )
        return cls(
            runtime.db,
            runtime.redirect_cache,
            shared=runtime.shared_links,
            db_timeout=s.redirect_db_timeout,
            db_breaker=breaker,
            click_param=s.click_id_param,
        )

    async def resolve(self, host: str, code: str) -> Target | None:
        hit = self.cache.get(host, code)
        if hit is not MISSING:
            if self.cache.due:
                self._refresh_due()
            return hit
        try:
            return await self._load(host, code)
        except Exception:
            stale = self.cache.stale(host, code, STALE_IF_ERROR)
            if stale is MISSING:
                raise
            return stale

    async def site(self, host: str) -> Site | None:
        """The short domain ``host`` names, from memory (the whole map is reloaded only after
        a domain change or once per cache TTL), or None: not a served host."""
        hosts = self._cached_hosts()
        if hosts is None:
            hosts = await self._hosts_or_stale()
        site = hosts.get(host)
        return site if site is not None and site.served else None

    async def custom(self, host: str) -> bool:
        """Whether ``host`` is a workspace's custom domain, served or not (pending, removed)."""
        hosts = self._cached_hosts()
        if hosts is None:
            hosts = await self._hosts_or_stale()
        site = hosts.get(host)
        return site is not None and site.workspace_id is not None

    async def _hosts_or_stale(self) -> Mapping[str, Site]:
        try:
            return await self._load_hosts()
        except Exception:
            hosts = self.cache.stale_hosts()  # the database is down: the last map
            if hosts is None:
                raise
            return hosts

    async def _load(self, host: str, code: str) -> Target | None:
        hosts = self._cached_hosts()
        if hosts is None:
            hosts = await self._load_hosts()
        site = hosts.get(host)
        if site is None or not site.served:
            return None
        return await asyncio.shield(self._enqueue(host, code))

    def _refresh_due(self) -> None:
        """Queue the links that fell due; they load together once a batch is full or after
        ``refresh_delay`` (each still served from the cache meanwhile)."""
        self._refresh += self.cache.due
        self.cache.due = []
        if len(self._refresh) >= MAX_BATCH:
            self._load_refreshes()
        elif self._refresh_timer is None:
            loop = asyncio.get_running_loop()
            self._refresh_timer = loop.call_later(self.refresh_delay, self._load_refreshes)

    def _arm_sweep(self) -> None:
        """A timer at the cache's next refresh point, at most one per ``refresh_delay``."""
        wait = self.cache.refresh_in()
        if self._closed or wait == math.inf:
            return
        loop = asyncio.get_running_loop()
        at = loop.time() + max(wait, self.refresh_delay)
        if self._sweep_timer is not None:
            if self._sweep_timer.when() <= at:
                return
            self._sweep_timer.cancel()
        self._sweep_timer = loop.call_at(at, self._on_sweep)

    def _on_sweep(self) -> None:
        self._sweep_timer = None
        self.cache.sweep()
        if self.cache.due:
            self._refresh_due()
        self._arm_sweep()

    def close(self) -> None:
        """Stop the timers (the app's shutdown): nothing more is loaded."""
        self._closed = True
        for timer in (self._sweep_timer, self._refresh_timer):
            if timer is not None:
                timer.cancel()
        self._sweep_timer = self._refresh_timer = None

    def _load_refreshes(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
            self._refresh_timer = None
        due, self._refresh = self._refresh, []
        for host, code in due:
            self._enqueue(host, code, background=True)

    async def warm_up(self, links: int, *, now: float | None = None) -> int:
        """Before the process serves: the ``links`` most clicked links of the last
        ``WARM_DAYS`` days into the cache, from the Redis tier where they are there and from
        the database otherwise (written back to Redis), ``WARM_BATCH`` at a time. Without it
        every lookup of a deploy's first minute is a miss. Returns how many were loaded;
        raises when the database cannot be read (the caller starts anyway)."""
        if links <= 0 or self.cache.ttl <= 0 or self.cache.max_entries <= 0:
            return 0
        today = int(time.time() if now is None else now) // 86_400
        async with self._database() as conn:
            keys = await most_clicked(
                conn, since_day=today - WARM_DAYS + 1, limit=min(links, self.cache.max_entries)
            )
        if not keys:
            return 0  # nothing clicked lately (a new install): the first request loads hosts
        hosts = await self._load_hosts()
        # Loaded least clicked first, so the LRU keeps the most clicked if the cache is full.
        keys = [key for key in reversed(keys) if (site := hosts.get(key[0])) and site.served]
        return await self.preload(keys)

    async def preload(self, keys: Sequence[Key]) -> int:
        """Load ``keys`` (host, code) into the cache in batches of ``WARM_BATCH``; how many
        were loaded. Raises what a batch's database load raised."""
        loop = asyncio.get_running_loop()
        loaded = 0
        for start in range(0, len(keys), WARM_BATCH):
            batch: list[tuple[str, str, int]] = []
            futures: list[asyncio.Future[Target | None]] = []
            for host, code in keys[start : start + WARM_BATCH]:
                if f"{host}/{code}" in self._loading:
                    continue  # a visitor's load of it is under way
                future = loop.create_future()
                self._loading[f"{host}/{code}"] = future
                batch.append((host, code, self.cache.generation))
                futures.append(future)
            try:
                await self._load_batch(batch)
            finally:  # cancelled (a time limit): visitors must not wait for these
                for (host, code, _), future in zip(batch, futures, strict=True):
                    if not future.done():
                        self._loading.pop(f"{host}/{code}", None)
                        future.cancel()
            for future in futures:
                failed = None if future.cancelled() else future.exception()
                if failed is not None:
                    raise failed
            loaded += len(futures)
        return loaded

    async def wait_idle(self) -> None:
        """Until the links waiting for their refresh and every load under way are done."""
        loop = asyncio.get_running_loop()
        while self._refresh_timer is not None or self._loading:
            if self._refresh_timer is not None:
                await asyncio.sleep(max(0.0, self._refresh_timer.when() - loop.time()))
            else:
                await asyncio.gather(*self._loading.values(), return_exceptions=True)

    def _enqueue(
        self, host: str, code: str, *, background: bool = False
    ) -> asyncio.Future[Target | None]:
        """``background``: a refresh nobody waits for; it loads after the visitors' misses."""
        key = f"{host}/{code}"
        future = self._loading.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._loading[key] = future
            queue = self._background if background else self._queue
            queue.append((host, code, self.cache.generation))
            if self._loaders < MAX_LOADERS:
                self._loaders += 1
                task = asyncio.get_running_loop().create_task(self._load_queued())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return future

    async def _load_queued(self) -> None:
        try:
            while self._queue or self._background:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                room = MAX_BATCH - len(batch)
                batch += self._background[:room]
                self._background = self._background[room:]
                await self._load_batch(batch)
        finally:
            self._loaders -= 1

    async def _load_batch(self, batch: list[tuple[str, str, int]]) -> None:
        token: bytes | None = None
        if self.shared is not None:
            token, shared = await self.shared.get_many([(host, code) for host, code, _ in batch])
            if shared:
                for host, code, generation in batch:
                    if (host, code) in shared:
                        self._settle(host, code, generation, shared[(host, code)])
                batch = [entry for entry in batch if (entry[0], entry[1]) not in shared]
                if not batch:
                    return
        by_host: dict[str, list[str]] = {}
        for host, code, _ in batch:
            by_host.setdefault(host, []).append(code)
        found: dict[Key, Target] = {}
        try:
            async with self._database() as conn:
                for host, codes in by_host.items():
                    loaded = await resolve_many(conn, host, codes, click_param=self.click_param)
                    found.update(((host, code), t) for code, t in loaded.items())
        except Exception as exc:  # every waiter gets it; the handler logs and counts
            for host, code, _ in batch:
                future = self._loading.pop(f"{host}/{code}")
                future.set_exception(exc)
                future.exception()  # retrieved here; waiters still get it raised
            return
        written: list[tuple[Key, Target | None]] = []
        for host, code, generation in batch:
            target: Target | None = found.get((host, code))
            if target is not None and not emittable(target.final_url):
                log.error("link %s has a final URL that cannot be sent; 404", target.link_id)
                target = None
            self._settle(host, code, generation, target)
            written.append(((host, code), target))
        if self.shared is not None:
            await self.shared.put_many(token, written)

    def _settle(self, host: str, code: str, generation: int, target: Target | None) -> None:
        if target is not None and target.routed and target.plan is None:
            target = _with_plan(target)
        self.cache.put(host, code, target, generation=generation)
        self._loading.pop(f"{host}/{code}").set_result(target)
        if self._sweep_timer is None:
            self._arm_sweep()

    @contextlib.asynccontextmanager
    async def _database(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one lookup, through the breaker and within ``db_timeout``."""
        self.db_breaker.check()
        try:
            async with asyncio.timeout(self.db_timeout), self.db.engine.connect() as conn:
                yield conn
        except CircuitOpen:
            raise
        except Exception:
            self.db_breaker.failure()
            raise
        self.db_breaker.success()

    def _cached_hosts(self) -> Mapping[str, Site] | None:
        """The map of hosts in memory (None: load it), starting its background reload once
        it passed its refresh point. A plain call: ``site()`` is on every request."""
        hosts = self.cache.hosts()
        if hosts is not None and self.cache.hosts_due:
            self._refresh_hosts()
        return hosts

    def _refresh_hosts(self) -> None:
        """The map of hosts passed its refresh point: reload it in the background while
        requests go on using it (before, the request at its expiry waited for the query)."""
        self.cache.hosts_due = False
        task = asyncio.get_running_loop().create_task(self._reload_hosts())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload_hosts(self) -> None:
        try:
            await self._load_hosts(refresh=True)
        except Exception:
            # The map then expires as before: its next request loads it, or serves the
            # stale one while the database is down.
            log.warning("reloading the known hosts failed", exc_info=True)

    async def _load_hosts(self, *, refresh: bool = False) -> Mapping[str, Site]:
        async with self._hosts_lock:
            cached = self.cache.hosts()
            if cached is not None and not refresh:
                return cached
            generation = self.cache.generation
            token: bytes | None = None
            if self.shared is not None:
                token, shared = await self.shared.get_hosts()
                if shared is not None:
                    self.cache.put_hosts(shared, generation=generation)
                    return shared
            async with self._database() as conn:
                hosts = await sites(conn)
            self.cache.put_hosts(hosts, generation=generation)
            if self.shared is not None:
                await self.shared.put_hosts(token, hosts)
            return hosts
