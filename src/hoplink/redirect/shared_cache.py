"""The Redis tier of link lookups (production mode): in-process cache → Redis → database.

Every web node's misses read here before the database, so a link resolved on one node is
served by the others without a query, and keeps being served while the database is down.
Entries are resolved ``Target``s (every dataclass field, as orjson; the key carries a
fingerprint of the field list, so nodes of two versions never read each other's shape) or
"not found" markers, with TTLs. A batch of misses costs one MGET; the loads that follow
are written back with one script call.

Consistency: every invalidation INCRs a generation counter in the same script that
deletes the entries. A loader reads that counter with its MGET and writes back only if it
is unchanged, so a load that read the database before an edit can never put the old
target back after the edit's delete. Keys share the hash tag ``{lc}`` so the scripts also
run on Redis Cluster (the whole link cache then lives on one shard).

Redis trouble never fails a redirect: errors are counted, a circuit breaker skips the tier
for a while, and lookups go to the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import logging
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from hoplink.redirect.breaker import CircuitBreaker
from hoplink.storage.redirects import Site, Target

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("hoplink.redirect")

Key = tuple[str, str]  # (host, code)
_NOT_FOUND = b"-"
# Most link keys the invalidation publisher keeps apart before it drops everything instead.
MAX_PENDING = 10_000

_WRITE = """
-- KEYS[1] generation, KEYS[2..n+1] links, then workspace sets.
-- ARGV: generation read before the load, ttl ms, negative ttl ms, n, then per link:
-- value, index in KEYS of its workspace set (0: a "not found" marker).
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[4])
for i = 1, n do
  local value, ws = ARGV[3 + 2 * i], tonumber(ARGV[4 + 2 * i])
  if ws == 0 then
    redis.call('SET', KEYS[1 + i], value, 'PX', ARGV[3])
  else
    redis.call('SET', KEYS[1 + i], value, 'PX', ARGV[2])
    redis.call('SADD', KEYS[ws], KEYS[1 + i])
    redis.call('PEXPIRE', KEYS[ws], ARGV[2])
  end
end
return n
"""

_WRITE_HOSTS = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""

_DROP = """
-- KEYS[1] generation, KEYS[2] known hosts, then ARGV[1] link keys, then workspace sets.
-- ARGV[2] = '1': forget the known hosts too.
redis.call('INCR', KEYS[1])
if ARGV[2] == '1' then redis.call('DEL', KEYS[2]) end
local links = tonumber(ARGV[1])
for i = 3, 2 + links do redis.call('DEL', KEYS[i]) end
for i = 3 + links, #KEYS do
  local members = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #members, 500 do
    redis.call('DEL', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('DEL', KEYS[i])
end
return 1
"""


def _schema() -> str:
    """A fingerprint of Target's fields: a new field means new keys, not a decode error."""
    names = ",".join(f"{f.name}:{f.type}" for f in dataclasses.fields(Target))
    return hashlib.sha256(names.encode()).hexdigest()[:8]


def _converters() -> dict[str, Any]:
    """Fields whose JSON form is not their Python type (dates, enums)."""
    out: dict[str, Any] = {}
    for name, hint in typing.get_type_hints(Target).items():
        options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        kind = options[0]
        if isinstance(kind, type) and issubclass(kind, (datetime, date, enum.Enum)):
            out[name] = kind
    return out


_CONVERT = _converters()


# The compiled plan is process-local (closures): each node compiles ``routing`` itself.
_STORED_FIELDS = tuple(f.name for f in dataclasses.fields(Target) if f.name != "plan")


def encode_target(target: Target | None) -> bytes:
    if target is None:
        return _NOT_FOUND
    return orjson.dumps({name: getattr(target, name) for name in _STORED_FIELDS})


def decode_target(raw: bytes) -> Target | None:
    """Raises ValueError/TypeError on data that is not a Target of this version."""
    if raw == _NOT_FOUND:
        return None
    fields: dict[str, Any] = orjson.loads(raw)
    for name, kind in _CONVERT.items():
        value = fields.get(name)
        if value is not None:
            if issubclass(kind, datetime):
                fields[name] = datetime.fromisoformat(value)
            elif issubclass(kind, date):
                fields[name] = date.fromisoformat(value)
            else:
                fields[name] = kind(value)
    return Target(**fields)


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class SharedLinkCache:
    """The Redis tier; one per process, used by the resolver and the invalidation module."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        ttl: float,
        negative_ttl: float,
        timeout: float,
    ) -> None:
        self.redis = redis
        base = f"{prefix}{{lc}}:"
        self.base = base
        self.generation_key = base + "gen"
        self.hosts_key = base + "hosts"
        self.link_prefix = f"{base}{_schema()}:l:"
        self.workspace_prefix = base + "ws:"
        self.ttl_ms = max(int(ttl * 1000), 1)
        self.negative_ttl_ms = max(int(negative_ttl * 1000), 1)
        self.enabled = ttl > 0
        self.timeout = timeout
        self.breaker = CircuitBreaker("redis link cache", delay=1.0, max_delay=10.0)
        self._write = redis.register_script(_WRITE)
        self._write_hosts = redis.register_script(_WRITE_HOSTS)
        self._drop = redis.register_script(_DROP)
        # Counted for metrics.
        self.hits = 0
        self.misses = 0
        self.errors = 0
        # Invalidations made on this node that have not reached Redis yet: the entries they
        # concern are neither read from nor written to Redis until they have.
        self.pending_links: set[str] = set()
        self.pending_workspaces: set[str] = set()
        self.pending_all = False

    def link_key(self, host: str, code: str) -> str:
        return f"{self.link_prefix}{host}/{code}"

    def workspace_key(self, workspace_id: str) -> str:
        return self.workspace_prefix + workspace_id

    def _failed(self, what: str) -> None:
        self.errors += 1
        self.breaker.failure()
        if self.errors % 1000 == 1:
            log.warning(
                "Redis link cache %s failed, using the database (%d errors so far)",
                what,
                self.errors,
                exc_info=True,
            )

    async def get_many(self, keys: Sequence[Key]) -> tuple[bytes | None, dict[Key, Target | None]]:
        """The generation token (None: Redis could not be read, do not write back) and the
        entries found (None values are "not found" markers)."""
        if not self.enabled or self.pending_all or not self.breaker.allow():
            return None, {}
        try:
            async with asyncio.timeout(self.timeout):
                values = await self.redis.mget(
                    [self.generation_key, *(self.link_key(h, c) for h, c in keys)]
                )
        except Exception:
            self._failed("read")
            return None, {}
        self.breaker.success()
        token = values[0] or b"0"
        found: dict[Key, Target | None] = {}
        for key, raw in zip(keys, values[1:], strict=True):
            if raw is None or f"{key[0]}/{key[1]}" in self.pending_links:
                continue
            try:
                target = decode_target(_bytes(raw))
            except (ValueError, TypeError):
                log.warning("unreadable Redis link cache entry for %s/%s", *key)
                continue
            if target is not None and target.workspace_id in self.pending_workspaces:
                continue
            found[key] = target
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return _bytes(token), found

    async def put_many(
        self, token: bytes | None, entries: Iterable[tuple[Key, Target | None]]
    ) -> None:
        """Write back what the database returned, unless an invalidation came in between."""
        if token is None or self.pending_all or not self.enabled:
            return
        keys: list[str] = [self.generation_key]
        sets: dict[str, int] = {}
        values: list[tuple[bytes, str | None]] = []
        for (host, code), target in entries:
            if f"{host}/{code}" in self.pending_links:
                continue
            if target is not None and target.workspace_id in self.pending_workspaces:
                continue
            keys.append(self.link_key(host, code))
            ws = None if target is None else self.workspace_key(target.workspace_id)
            values.append((encode_target(target), ws))
        if not values:
            return
        args: list[bytes | str | int] = [token, self.ttl_ms, self.negative_ttl_ms, len(values)]
        for value, ws in values:
            index = 0
            if ws is not None:
                if ws not in sets:
                    sets[ws] = len(keys) + len(sets) + 1  # Lua indexes from 1
                index = sets[ws]
            args += [value, index]
        keys += list(sets)
        try:
            async with asyncio.timeout(self.timeout):
                await self._write(keys=keys, args=args)
        except Exception:
            self._failed("write")

    async def get_hosts(self) -> tuple[bytes | None, dict[str, Site] | None]:
        """The served hosts and their sites as stored by any node (None: not there or
        unreadable, or in an older node's format)."""
        if not self.enabled or self.pending_all or not self.breaker.allow():
            return None, None
        try:
            async with asyncio.timeout(self.timeout):
                token, raw = await self.redis.mget([self.generation_key, self.hosts_key])
        except Exception:
            self._failed("read")
            return None, None
        self.breaker.success()
        token = _bytes(token or b"0")
        if raw is None:
            return token, None
        try:
            stored = orjson.loads(raw)
            sites = {str(h): Site.from_json(v) for h, v in stored["sites"].items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return token, None
        return token, sites

    async def put_hosts(self, token: bytes | None, hosts: Mapping[str, Site]) -> None:
        if token is None or self.pending_all or not self.enabled:
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self._write_hosts(
                    keys=[self.generation_key, self.hosts_key],
                    args=[token, _sites_json(hosts), self.ttl_ms],
                )
        except Exception:
            self._failed("write")

    async def drop(
        self, links: Iterable[str], workspaces: Iterable[str], *, everything: bool
    ) -> None:
        """Delete entries (``links`` as "host/code") from Redis; raises on Redis errors (the
        invalidation publisher retries). ``everything`` also forgets the known hosts and
        scans every entry away (domain changes: rare)."""
        link_keys = [self.link_prefix + link for link in links]
        set_keys = [self.workspace_key(ws) for ws in workspaces]
        await self._drop(
            keys=[self.generation_key, self.hosts_key, *link_keys, *set_keys],
            args=[len(link_keys), "1" if everything else "0"],
        )
        if everything:
            for pattern in (self.link_prefix, self.workspace_prefix):
                batch: list[bytes] = []
                async for key in self.redis.scan_iter(
                    match=_glob_escape(pattern) + "*", count=1000
                ):
                    batch.append(key)
                    if len(batch) >= 1000:
                        await self.redis.unlink(*batch)
                        batch = []
                if batch:
                    await self.redis.unlink(*batch)


def _sites_json(hosts: Mapping[str, Site]) -> bytes:
    return orjson.dumps({"sites": {host: site.as_json() for host, site in hosts.items()}})
