"""Login throttling, per account and per client address, with exponential backoff.

Each key (the e-mail as typed, normalised; the client address) may fail ``free`` times;
the ``free``-th failure locks the key for ``base`` seconds and each one after that doubles
the lock, up to ``cap``. While either key is locked every attempt is refused before the password is
looked at — the right password too — and the refusal is the same whether the account
exists or not. A success clears the account's record (not the address's: one address
guessing many accounts stays slowed). A record is forgotten after ``forget`` seconds
without failures.

An attempt is counted as a failure *before* the password is checked (``attempt``) and
given back on success (``succeeded``), so a thousand concurrent guesses cannot all pass
the check while the first ones are still being hashed. ``LoginThrottle`` keeps the
records in this process; ``SharedLoginThrottle`` keeps them in Redis for every web node
(production mode), with the process's own records as the fallback while Redis fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hoplink.ratelimit import key_hasher

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("hoplink.dashboard")


@dataclass(slots=True)
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


class _Table:
    def __init__(self, *, free: int, base: float, cap: float, forget: float, limit: int) -> None:
        self.free, self.base, self.cap, self.forget, self.limit = free, base, cap, forget, limit
        self.records: OrderedDict[str, _Record] = OrderedDict()

    def _get(self, key: str, now: float) -> _Record | None:
        record = self.records.get(key)
        if record is not None and now - record.last_failure > self.forget:
            del self.records[key]
            return None
        return record

    def wait(self, key: str, now: float) -> float:
        record = self._get(key, now)
        return max(0.0, record.locked_until - now) if record else 0.0

    def fail(self, key: str, now: float) -> None:
        record = self._get(key, now) or _Record()
        record.failures += 1
        record.last_failure = now
        extra = record.failures - self.free  # 0 at the last free failure: the first lock
        if extra >= 0:
            record.locked_until = now + min(self.cap, self.base * 2 ** min(extra, 30))
        self.records[key] = record
        self.records.move_to_end(key)
        while len(self.records) > self.limit:  # memory stays bounded whatever is sprayed
            self.records.popitem(last=False)

    def clear(self, key: str) -> None:
        self.records.pop(key, None)

    def refund(self, key: str, now: float) -> None:
        """Take back one failure counted in advance (the attempt succeeded)."""
        record = self._get(key, now)
        if record is None:
            return
        record.failures -= 1
        if record.failures <= 0:
            del self.records[key]
        elif record.failures < self.free:
            record.locked_until = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        account_free: int = 5,
        ip_free: int = 20,
        base: float = 2.0,
        cap: float = 900.0,
        forget: float = 3600.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.accounts = _Table(
            free=account_free, base=base, cap=cap, forget=forget, limit=max_entries
        )
        self.addresses = _Table(free=ip_free, base=base, cap=cap, forget=forget, limit=max_entries)

    def retry_after(self, account: str, address: str | None) -> float:
        """Seconds until this pair may try again; 0 means now."""
        now = self.clock()
        wait = self.accounts.wait(account, now)
        if address:
            wait = max(wait, self.addresses.wait(address, now))
        return wait

    def failed(self, account: str, address: str | None) -> None:
        now = self.clock()
        self.accounts.fail(account, now)
        if address:
            self.addresses.fail(address, now)

    def attempt(self, account: str, address: str | None) -> float:
        """Refuse (seconds to wait) or let one attempt through, counted as a failure."""
        wait = self.retry_after(account, address)
        if wait == 0:
            self.failed(account, address)
        return wait

    def succeeded(self, account: str, address: str | None = None) -> None:
        """Clear the account; give back the address's advance count (``attempt``)."""
        self.accounts.clear(account)
        if address:
            self.addresses.refund(address, self.clock())


# KEYS: the account's hash, then the address's (optional). ARGV: free failures of each,
# first lock ms, longest lock ms, forget ms. Redis's clock, so every node agrees. Answers
# 0 (go ahead: counted as a failure already) or the ms to wait (nothing counted).
_ATTEMPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait = 0
for _, key in ipairs(KEYS) do
  local until_ = tonumber(redis.call('HGET', key, 'u') or 0)
  if until_ - now > wait then wait = until_ - now end
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
local base, cap, forget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for i, key in ipairs(KEYS) do
  local extra = redis.call('HINCRBY', key, 'n', 1) - tonumber(ARGV[i])
  local keep = forget
  if extra >= 0 then
    local lock = math.min(cap, base * 2 ^ math.min(extra, 30))
    redis.call('HSET', key, 'u', string.format('%.3f', now + lock))
    keep = math.max(forget, lock)
  end
  redis.call('PEXPIRE', key, math.ceil(keep))
end
return 0
"""

# KEYS: the account's hash, then the address's (optional). ARGV: the address's free failures.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if KEYS[2] then
  local n = redis.call('HINCRBY', KEYS[2], 'n', -1)
  if n <= 0 then redis.call('DEL', KEYS[2])
  elseif n < tonumber(ARGV[1]) then redis.call('HDEL', KEYS[2], 'u') end
end
return 0
"""


class SharedLoginThrottle:
    """The dashboard's throttle: in Redis when given one, else (and while Redis fails) in
    ``local``. Accounts and addresses are keyed-hashed: Redis never holds either.

    ``local`` sees every attempt of this process too, so it refuses a flood without a
    round trip (its counts are a subset of Redis's) and is warm when Redis goes away.
    """

    def __init__(
        self,
        *,
        local: LoginThrottle,
        secret: str,
        redis: Redis | None = None,
        prefix: str = "hoplink:",
        timeout: float = 0.5,
        retry_interval: float = 1.0,
    ) -> None:
        self.local = local
        self.redis = redis
        self.prefix = f"{prefix}login:"
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.hash = key_hasher(secret)
        self.fallbacks = 0
        self._down_until = 0.0
        self._attempt = redis.register_script(_ATTEMPT) if redis is not None else None
        self._succeeded = redis.register_script(_SUCCEEDED) if redis is not None else None

    def _keys(self, account: str, address: str | None) -> list[str]:
        keys = [f"{self.prefix}a:{self.hash(account)}"]
        if address:
            keys.append(f"{self.prefix}ip:{self.hash(address)}")
        return keys

    def _redis_usable(self) -> bool:
        if self.redis is None:
            return False
        if time.monotonic() < self._down_until:
            self.fallbacks += 1
            return False
        return True

    def _redis_failed(self, exc: Exception) -> None:
        self.fallbacks += 1
        self._down_until = time.monotonic() + self.retry_interval
        if self.fallbacks % 1000 == 1:
            log.warning(
                "login throttle falls back to per-process records, Redis failed: %r (%d so far)",
                exc,
                self.fallbacks,
            )

    async def attempt(self, account: str, address: str | None) -> float:
        """0: check the password (this attempt already counts as a failure); else refuse
        for that many seconds without looking at the password."""
        wait = self.local.attempt(account, address)
        if wait > 0 or self._attempt is None or not self._redis_usable():
            return wait
        local = self.local
        args: list[int | str] = [
            local.accounts.free,
            local.addresses.free,
            repr(local.accounts.base * 1000),
            repr(local.accounts.cap * 1000),
            repr(local.accounts.forget * 1000),
        ]
        try:
            async with asyncio.timeout(self.timeout):
                waited = await self._attempt(keys=self._keys(account, address), args=args)
        except Exception as exc:  # any failure of Redis means "decide locally"
            self._redis_failed(exc)
            return 0.0
        return int(waited) / 1000.0

    async def succeeded(self, account: str, address: str | None) -> None:
        self.local.succeeded(account, address)
        if self._succeeded is None or not self._redis_usable():
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self._succeeded(
                    keys=self._keys(account, address), args=[self.local.addresses.free]
                )
        except Exception as exc:
            self._redis_failed(exc)
