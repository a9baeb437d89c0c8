"""The redirect cache: (host, code) → target in process memory, bounded, LRU, with TTLs.

Misses are cached too (a shorter TTL), so a code that does not exist costs one query per
negative TTL, and the set of known hosts is cached so an unknown Host never reaches the
database. Entries expire after the TTL counted from when they were loaded (never extended
by use), which bounds how long an edit made on another node can go unseen; on the node
that made the edit, the change's event drops the entry once it commits (and in production
mode is published so every node does: hoplink.redirect.invalidation). A link still in use is
reloaded in the background before it expires (refresh-ahead), and an expired one may be
served for a while longer only when the database cannot be reached.

"Still in use" is either of: used after its refresh point (late in its TTL), or used in
the last ``KEEP_WARM`` TTLs when its refresh point comes (a sweep). Without the second,
every link not clicked in the few seconds between its refresh point and its expiry expired,
and its next visitor waited for a query: with 10,000 links at 1,000 redirects/s that was
~10 % of all redirects (2.4 % at 2,000/s) — the redirect's p99 (bench/RESULTS.md, issue 17).
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Final, Literal

from hoplink.storage.redirects import Site, Target


class _Missing(Enum):
    MISSING = "MISSING"


# What ``get`` returns for "not in the cache" (None means "cached as not found").
MISSING: Final = _Missing.MISSING
_NEVER = float("inf")
# A positive entry used after a random point of its TTL within these fractions is reloaded
# in the background; random, so links loaded together (a warm-up) are not reloaded in one
# burst that stalls the event loop.
_REFRESH_FROM, _REFRESH_SPREAD = 0.5, 0.3
# A link used within this many TTLs is reloaded at its refresh point even if nobody used it
# since: a link clicked at least once a minute (TTL 30 s) never expires under its visitors.
KEEP_WARM = 2.0
# The map of known hosts is reloaded in the background from this fraction of its TTL on.
HOSTS_REFRESH_FROM = 0.8


class RedirectCache:
    def __init__(
        self,
        *,
        ttl: float,
        negative_ttl: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self._clock = clock
        # "host/code" → (expires at, refresh after, target or None); a host never has "/".
        self._entries: OrderedDict[str, tuple[float, float, Target | None]] = OrderedDict()
        # Every served host → its Site (domain settings): the whole map is in memory, so a
        # request's Host is resolved with no I/O (docs/domains.md).
        self._hosts: Mapping[str, Site] | None = None
        self._hosts_expire = 0.0
        # Past this point the map is still served but reloaded in the background once
        # (``hosts_due``), so no request waits for the query when it would have expired.
        self._hosts_refresh = 0.0
        self.hosts_due = False
        # Bumped by every invalidation: a load that began before it must not be cached.
        self.generation = 0
        # Entries used late in their TTL: the resolver reloads them in the background, so
        # a hot link never expires under load (and never waits for a query).
        self.due: list[tuple[str, str]] = []
        # The refresh points of positive entries, soonest first (stale items are skipped
        # when popped), and when each cached link was last asked for.
        self._refresh_at: list[tuple[float, str]] = []
        self._last_use: dict[str, float] = {}
        # Plain ints for /metrics (read at scrape time): lookups answered here or not.
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, host: str, code: str) -> Target | Literal[_Missing.MISSING] | None:
        key = f"{host}/{code}"
        now = self._clock()
        if self._refresh_at and self._refresh_at[0][0] <= now:
            self._sweep(now)
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return MISSING
        self._last_use[key] = now
        if entry[0] <= now:
            self.misses += 1
            return MISSING  # kept (until evicted or replaced) for stale()
        self.hits += 1
        if entry[1] <= now:
            self.due.append((host, code))
            entry = self._entries[key] = (entry[0], _NEVER, entry[2])
        self._entries.move_to_end(key)
        return entry[2]

    def refresh_in(self) -> float:
        """Seconds until the soonest refresh point (≤ 0: passed; inf: none)."""
        return self._refresh_at[0][0] - self._clock() if self._refresh_at else _NEVER

    def sweep(self) -> None:
        """Make due what ``get`` would on its next call: the resolver's timer calls it, so a
        link in use is reloaded at its refresh point even when no request comes then."""
        now = self._clock()
        if self._refresh_at and self._refresh_at[0][0] <= now:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Entries past their refresh point that were used in the last ``KEEP_WARM`` TTLs
        become due; the others reload only if used before they expire."""
        recent = now - KEEP_WARM * self.ttl
        while self._refresh_at and self._refresh_at[0][0] <= now:
            at, key = heapq.heappop(self._refresh_at)
            entry = self._entries.get(key)
            if entry is None or entry[1] != at:
                continue  # replaced, dropped, or due already
            used = self._last_use.get(key)
            if used is None or used < recent:
                continue
            host, _, code = key.partition("/")
            self.due.append((host, code))
            self._entries[key] = (entry[0], _NEVER, entry[2])

    def stale(self, host: str, code: str, max_age: float) -> Target | Literal[_Missing.MISSING]:
        """An expired link no older than ``max_age`` past expiry, to serve while the database
        is unreachable (known misses are not served stale: the answer would be a 404 anyway)."""
        entry = self._entries.get(f"{host}/{code}")
        if entry is None or entry[2] is None or entry[0] + max_age <= self._clock():
            return MISSING
        return entry[2]

    def put(self, host: str, code: str, target: Target | None, *, generation: int) -> None:
        ttl = self.ttl if target is not None else self.negative_ttl
        if generation != self.generation or ttl <= 0 or self.max_entries <= 0:
            return
        key = f"{host}/{code}"
        now = self._clock()
        jitter = _REFRESH_FROM + _REFRESH_SPREAD * random.random()  # noqa: S311 - not secret
        refresh = now + ttl * jitter if target is not None else _NEVER
        self._entries[key] = (now + ttl, refresh, target)
        self._entries.move_to_end(key)
        self._last_use.setdefault(key, now)  # loaded for a visitor, or reloaded for use
        if target is not None:
            heapq.heappush(self._refresh_at, (refresh, key))
        if len(self._entries) > self.max_entries:
            evicted, _ = self._entries.popitem(last=False)
            self._last_use.pop(evicted, None)

    def hosts(self) -> Mapping[str, Site] | None:
        """The served hosts and their sites, or None when they must be (re)loaded."""
        now = self._clock()
        if self._hosts is not None and self._hosts_expire > now:
            if now >= self._hosts_refresh:
                self._hosts_refresh = math.inf  # one reload per map
                self.hosts_due = True
            return self._hosts
        return None

    def stale_hosts(self) -> Mapping[str, Site] | None:
        """The last map even past its TTL, to serve while the database is unreachable."""
        return self._hosts

    def put_hosts(self, hosts: Mapping[str, Site], *, generation: int) -> None:
        if generation == self.generation:
            now = self._clock()
            self._hosts, self._hosts_expire = hosts, now + self.ttl
            self._hosts_refresh = now + self.ttl * HOSTS_REFRESH_FROM

    def invalidate(self, host: str, code: str) -> None:
        self.generation += 1
        self._entries.pop(f"{host}/{code}", None)
        self._last_use.pop(f"{host}/{code}", None)

    def invalidate_workspace(self, workspace_id: str) -> None:
        """Drop every cached link of a workspace (suspension, reinstatement)."""
        self.generation += 1
        stale = [
            key
            for key, (_, _, target) in self._entries.items()
            if target is not None and target.workspace_id == workspace_id
        ]
        for key in stale:
            del self._entries[key]
            self._last_use.pop(key, None)
        if self._hosts is not None and any(
            site.workspace_id == workspace_id for site in self._hosts.values()
        ):
            self._hosts = None  # its domains' root, robots and 404 answers change too

    def clear(self) -> None:
        """Forget everything, including the known hosts (a domain was added or removed)."""
        self.generation += 1
        self._entries.clear()
        self._refresh_at.clear()
        self._last_use.clear()
        self._hosts = None
