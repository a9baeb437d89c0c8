"""Rate limits: "at most ``limit`` events per ``window`` seconds" per key, by GCRA.

GCRA (the generic cell rate algorithm) keeps one number per key, the theoretical
arrival time (TAT): a burst of ``limit`` events is allowed at once, then one every
``window / limit`` seconds. Refused events are not counted, so a client that keeps
knocking is let in again as soon as its rate drops.

``RateLimiter`` is what the app uses (``runtime.rate_limiter``). In embedded mode it
is the in-process ``LocalLimiter``; with Redis it asks Redis (one atomic script, so
every node shares the count) after a local pre-check that refuses a flooding client
without a round trip, and falls back to the local limiter whenever Redis fails. Keys
are keyed-hashed with the secret key before they are stored anywhere, so a client
address never lands in Redis (or in a heap dump) in the clear.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hoplink.errors import RateLimited

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("hoplink.ratelimit")

_SPEC = re.compile(r"(\d+)\s*/\s*(\d*)\s*(s|m|h|d)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EPSILON = 1e-6  # seconds


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # e.g. "report", "create_ip", "api_key", "redirect_404"
    limit: int  # events allowed per window
    window: float  # seconds

    def __post_init__(self) -> None:
        if self.limit < 1 or not self.window > 0:
            raise ValueError("a limit needs at least one event per a positive window")


@functools.lru_cache(maxsize=64)  # called per request with the settings' strings
def parse_limit(name: str, spec: str) -> Limit | None:
    """``"600/1m"`` → Limit(name, 600, 60.0); ``"off"`` → None (no limit).

    Units: s, m, h, d; the number before the unit may be left out (``"30/h"``).
    """
    text = spec.strip().lower()
    if text in ("off", "0", ""):
        return None
    match = _SPEC.fullmatch(text)
    if match is None or int(match.group(1)) < 1 or match.group(2) == "0":
        raise ValueError(
            f"{spec!r} is not a rate: write e.g. '600/1m', '30/10m', '1000/1h' or 'off'"
        )
    count, every, unit = match.groups()
    return Limit(name, int(count), float(int(every or 1) * _UNITS[unit]))


class LocalLimiter:
    """GCRA in this process's memory; the least recently used keys go first when full.

    A key whose TAT is in the past is the same as a key never seen, so dropping keys can
    only ever forget a client's recent past, and only when ``max_entries`` others are
    more recent.
    """

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._tat: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tat)

    def hit(self, limit: Limit, key: str, cost: int = 1) -> float:
        """Count one event (of ``cost`` units); 0.0 = allowed, else seconds to wait."""
        now = self.clock()
        slot = f"{limit.name}\x00{key}"
        tat = self._tat.get(slot, now)
        if tat < now:
            tat = now
        new_tat = tat + limit.window / limit.limit * cost
        wait = new_tat - limit.window - now
        if wait > _EPSILON:  # not 0: now + w - w need not be now in floating point
            return wait
        self._tat[slot] = new_tat
        self._tat.move_to_end(slot)
        if len(self._tat) > self.max_entries:
            self._tat.popitem(last=False)
        return 0.0


# KEYS[1] = the key; ARGV = ms per event, window ms, cost. Redis's own clock, so every node
# agrees; the key expires when its TAT passes (then it means the same as no key at all).
# Answers 0 (allowed) or the wait in ms (refused, nothing counted).
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * cost
local wait = new_tat - window - now
if wait > 0.001 then return math.max(1, math.ceil(wait)) end
local ttl = math.max(1, math.ceil(new_tat - now))
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', ttl)
return 0
"""


def key_hasher(secret: str) -> Callable[[str], str]:
    """A keyed BLAKE2b of a key (an address, an e-mail): stable, not reversible without
    the secret, the same on every node of one installation."""
    salt = hashlib.sha256(b"hoplink ratelimit key\x00" + secret.encode()).digest()

    def digest(key: str) -> str:
        return hashlib.blake2b(key.encode(), key=salt, digest_size=16).hexdigest()

    return digest


class RateLimiter:
    """Shared through Redis when ``redis`` is given, else in-process; never raises.

    While Redis fails, each call is answered by the local limiter (``fallbacks`` counts
    them) and Redis is not asked again for ``retry_interval`` seconds, so an outage costs
    one timeout per interval rather than one per request.
    """

    def __init__(
        self,
        *,
        secret: str,
        redis: Redis | None = None,
        prefix: str = "hoplink:",
        local: LocalLimiter | None = None,
        timeout: float = 0.5,
        retry_interval: float = 1.0,
    ) -> None:
        self.local = local or LocalLimiter()
        self.redis = redis
        self.prefix = f"{prefix}rl:"
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.hash = key_hasher(secret)
        self.fallbacks = 0  # calls answered locally because Redis failed
        self._redis_down_until = 0.0
        self._script = redis.register_script(_GCRA) if redis is not None else None

    @property
    def shared(self) -> bool:
        return self._script is not None

    async def hit(self, limit: Limit, key: str, cost: int = 1) -> float:
        """Count one event; 0.0 = allowed, else seconds until allowed again."""
        hashed = self.hash(key)
        # Local first: this node's own events are a subset of everyone's, so a local refusal
        # is one Redis would give too, and the local state stays warm for an outage.
        wait = self.local.hit(limit, hashed, cost)
        if wait > 0 or self._script is None:
            return wait
        now = time.monotonic()
        if now < self._redis_down_until:
            self.fallbacks += 1
            return 0.0
        interval_ms = limit.window * 1000 / limit.limit
        try:
            async with asyncio.timeout(self.timeout):
                waited = await self._script(
                    keys=[f"{self.prefix}{limit.name}:{hashed}"],
                    args=[repr(interval_ms), repr(limit.window * 1000), cost],
                )
        except Exception as exc:  # any failure of Redis means "decide locally"
            self.fallbacks += 1
            self._redis_down_until = now + self.retry_interval
            if self.fallbacks % 1000 == 1:
                log.warning(
                    "rate limits fall back to per-process counts, Redis failed: %r (%d so far)",
                    exc,
                    self.fallbacks,
                )
            return 0.0
        return int(waited) / 1000.0


def retry_after_seconds(wait: float) -> int:
    """A ``Retry-After`` value: whole seconds, never 0 for a refusal."""
    return max(1, math.ceil(wait))


async def enforce(
    limiter: RateLimiter,
    limit: Limit | None,
    key: str | None,
    *,
    message: str,
    cost: int = 1,
) -> None:
    """Count one event of ``key`` or raise ``RateLimited`` (nothing else happens then).

    No limit configured, or no key (a client without an address): nothing to count. A
    cost above the whole limit is counted as the whole limit, so it can pass when idle.
    """
    if limit is None or key is None:
        return
    wait = await limiter.hit(limit, key, min(cost, limit.limit))
    if wait > 0:
        seconds = retry_after_seconds(wait)
        raise RateLimited(
            f"{message}; try again in {seconds} seconds",
            retry_after=seconds,
            quota=limit.limit,
            window=limit.window,
        )


async def refuse_if_spent(
    limiter: RateLimiter, limit: Limit | None, key: str | None, *, message: str
) -> None:
    """Raise ``RateLimited`` when ``key`` has no event left, counting nothing (the events
    are counted afterwards with ``charge``, e.g. only the creations that were refused)."""
    if limit is None or key is None:
        return
    # A zero-cost hit counts nothing and is refused once the stored arrival time is more
    # than the window ahead; half an interval less means "not even one more would fit".
    interval = limit.window / limit.limit
    probe = Limit(limit.name, limit.limit, limit.window - interval / 2)
    wait = await limiter.hit(probe, key, 0)
    if wait > 0:
        seconds = retry_after_seconds(wait)
        raise RateLimited(
            f"{message}; try again in {seconds} seconds",
            retry_after=seconds,
            quota=limit.limit,
            window=limit.window,
        )


async def charge(limiter: RateLimiter, limit: Limit | None, key: str | None, cost: int) -> None:
    """Count ``cost`` events of ``key`` after the fact (never raises): as much of it as still
    fits, so the next ``enforce(..., cost=0)`` of an address over its limit refuses."""
    if limit is None or key is None:
        return
    cost = min(cost, limit.limit)
    while cost > 0 and await limiter.hit(limit, key, cost) > 0:
        cost //= 2
