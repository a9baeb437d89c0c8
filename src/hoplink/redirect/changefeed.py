"""Embedded mode: changes made by other processes reach this server's link cache in < 1 s.

Production mode publishes each change through Redis (hoplink.redirect.invalidation). An
embedded install has no Redis, yet the CLI (``hoplink workspace suspend``, ``hoplink link
ban``) or a second web process on the same database changes links too; without this the
server would keep redirecting a suspended seller's or a banned phishing link until its
cache entry expires (``redirect_cache_ttl``, 30 s).

The repositories write every such change to ``redirect_changes`` in the transaction that
makes it (hoplink.storage.changes). This feed reads the entries of the last few seconds
every ``INTERVAL`` — one range scan of an index, usually empty — and drops the affected
cache entries. Re-reading a window rather than "after the last id" is what makes it safe:
ids are handed out at insert, not at commit, so an entry can become visible after a
higher one was read; dropping an entry twice is harmless, so seen ids only save work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from hoplink.ids import utcnow
from hoplink.redirect.cache import RedirectCache
from hoplink.storage import changes
from hoplink.storage.database import Database

log = logging.getLogger("hoplink.redirect")

INTERVAL = 0.5  # seconds between polls: a change is seen within this (plus the query)
# How far back each poll reads: longer than any transaction that writes a change takes
# between its insert and its commit.
WINDOW = timedelta(seconds=10)
KEEP = timedelta(hours=1)  # entries older than this are pruned
_PRUNE_EVERY = 600.0


class ChangeFeed:
    def __init__(self, db: Database, cache: RedirectCache, *, interval: float = INTERVAL) -> None:
        self.db = db
        self.cache = cache
        self.interval = interval
        self._seen: dict[int, float] = {}
        self._last_prune = 0.0
        self.applied = 0  # entries acted on (for tests and metrics)

    async def poll(self) -> int:
        """Read the window once and drop what it names; the number of new entries."""
        async with self.db.transaction(write=False) as tx:
            found = await tx.redirect_changes.since(utcnow() - WINDOW)
        now = time.monotonic()
        fresh = [c for c in found if c.id not in self._seen]
        for change in fresh:
            self._seen[change.id] = now
            if change.kind == changes.LINK and change.host and change.code:
                self.cache.invalidate(change.host.lower(), change.code)
            elif change.kind == changes.WORKSPACE and change.ref:
                self.cache.invalidate_workspace(change.ref)
            else:  # everything, or a link that is gone
                self.cache.clear()
        horizon = now - 2 * WINDOW.total_seconds()
        self._seen = {i: t for i, t in self._seen.items() if t >= horizon}
        self.applied += len(fresh)
        return len(fresh)

    async def prune(self) -> None:
        async with self.db.transaction() as tx:
            await tx.redirect_changes.prune(utcnow() - KEEP)

    async def run(self) -> None:
        """Poll for ever (a runtime task; cancelled at shutdown). Errors are logged and the
        next poll tries again; the cache TTL bounds staleness meanwhile."""
        failures = 0
        while True:
            try:
                await self.poll()
                if time.monotonic() - self._last_prune > _PRUNE_EVERY:
                    self._last_prune = time.monotonic()
                    await self.prune()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                if failures % 100 == 1:
                    log.warning(
                        "redirect change feed failed (%d in a row)", failures, exc_info=True
                    )
            await asyncio.sleep(self.interval)
