"""(host, code) → target: the cache first, then the database, in batches.

Cache misses do not query one by one: they queue, and a few loader tasks each take
everything queued (up to a batch) and fetch it with one query per host. Concurrent
requests for the same key share one load (no stampede when a hot link expires), a cold
cache fills at tens of thousands of links a second, and a flood of random codes costs a
few queries at a time instead of taking every pooled connection from the API. Links used
late in their TTL are reloaded the same way in the background (refresh-ahead). When the
database cannot be reached, a recently expired link is still served.
"""

from __future__ import annotations

import asyncio
import logging

from hoplink.redirect.cache import MISSING, RedirectCache
from hoplink.storage.database import Database
from hoplink.storage.redirects import Target, hostnames, resolve_many

log = logging.getLogger("hoplink.redirect")

MAX_BATCH = 100
MAX_LOADERS = 2
# How long past its expiry a link may still be served while the database is unreachable.
STALE_IF_ERROR = 600.0


def _emittable(url: str) -> bool:
    """Only printable ASCII may go into a Location header (canonical URLs always are)."""
    return url.isascii() and all(0x21 <= ord(c) <= 0x7E for c in url)


class Resolver:
    def __init__(self, db: Database, cache: RedirectCache) -> None:
        self.db = db
        self.cache = cache
        self._loading: dict[str, asyncio.Future[Target | None]] = {}
        self._queue: list[tuple[str, str, int]] = []  # host, code, cache generation
        self._loaders = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._hosts_lock = asyncio.Lock()

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

    async def _load(self, host: str, code: str) -> Target | None:
        hosts = self.cache.hosts()
        if hosts is None:
            hosts = await self._load_hosts()
        if host not in hosts:
            return None
        return await asyncio.shield(self._enqueue(host, code))

    def _refresh_due(self) -> None:
        due, self.cache.due = self.cache.due, []
        for host, code in due:
            self._enqueue(host, code)

    def _enqueue(self, host: str, code: str) -> asyncio.Future[Target | None]:
        key = f"{host}/{code}"
        future = self._loading.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._loading[key] = future
            self._queue.append((host, code, self.cache.generation))
            if self._loaders < MAX_LOADERS:
                self._loaders += 1
                task = asyncio.get_running_loop().create_task(self._load_queued())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return future

    async def _load_queued(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._load_batch(batch)
        finally:
            self._loaders -= 1

    async def _load_batch(self, batch: list[tuple[str, str, int]]) -> None:
        by_host: dict[str, list[str]] = {}
        for host, code, _ in batch:
            by_host.setdefault(host, []).append(code)
        found: dict[tuple[str, str], Target] = {}
        try:
            async with self.db.engine.connect() as conn:
                for host, codes in by_host.items():
                    loaded = await resolve_many(conn, host, codes)
                    found.update(((host, code), t) for code, t in loaded.items())
        except Exception as exc:  # every waiter gets it; the handler logs and counts
            for host, code, _ in batch:
                future = self._loading.pop(f"{host}/{code}")
                future.set_exception(exc)
                future.exception()  # retrieved here; waiters still get it raised
            return
        for host, code, generation in batch:
            target: Target | None = found.get((host, code))
            if target is not None and not _emittable(target.final_url):
                log.error("link %s has a final URL that cannot be sent; 404", target.link_id)
                target = None
            self.cache.put(host, code, target, generation=generation)
            self._loading.pop(f"{host}/{code}").set_result(target)

    async def _load_hosts(self) -> frozenset[str]:
        async with self._hosts_lock:
            cached = self.cache.hosts()
            if cached is not None:
                return cached
            generation = self.cache.generation
            async with self.db.engine.connect() as conn:
                hosts = await hostnames(conn)
            self.cache.put_hosts(hosts, generation=generation)
            return hosts
