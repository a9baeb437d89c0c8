"""Visitor hashes: who is the same visitor today, without keeping who they are.

visitor_hash = BLAKE2b-128(workspace ‖ IP ‖ user agent) keyed with the day's key, where the
day's key = BLAKE2b(random daily salt) keyed with the instance secret. The salt lives in
the ``visitor_salts`` table so every web node computes the same hash; it is created on
demand (the day before it is needed) and deleted two days later, after which no hash of
that day can be linked to an IP address again, not even by someone with the database and
the secret key. Days are UTC days.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from hoplink.storage import redirects as store
from hoplink.storage.database import Database

log = logging.getLogger("hoplink.clicks")

_DAY = 86_400
# How long a salt is kept: the day itself and the next one, deleted on day + 2.
KEEP_DAYS = 2


def utc_day(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def visitor_hash(key: bytes, workspace_id: str, ip: str, user_agent: str) -> str:
    return keyed_hash(keyed(key), workspace_id, ip, user_agent)


def keyed(key: bytes) -> hashlib.blake2b:
    """A BLAKE2b-128 state keyed with ``key``, to copy per hash (``keyed_hash``): keying a
    fresh state costs as much as hashing a visitor, so the hot path keys once a day."""
    return hashlib.blake2b(key=key, digest_size=16)


def keyed_hash(state: hashlib.blake2b, workspace_id: str, ip: str, user_agent: str) -> str:
    """``visitor_hash`` with the day's key already in ``state`` (``keyed``)."""
    h = state.copy()
    h.update(f"{workspace_id}\x00{ip}\x00{user_agent}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class VisitorSalts:
    """Day keys cached in memory; the database is asked about once a day per process."""

    def __init__(
        self, db: Database, *, secret_key: str, clock: Callable[[], float] | None = None
    ) -> None:
        self._db = db
        self._clock = clock or time.time
        # The instance secret, stretched to BLAKE2b's 64-byte key size.
        self._secret = hashlib.blake2b(secret_key.encode(), digest_size=64).digest()
        self._keys: dict[date, bytes] = {}
        self._provisional: set[date] = set()
        self._lock = asyncio.Lock()
        # Fast path: the current day's [start, end) in unix seconds and its key.
        self._span = (0.0, 0.0)
        self._current = b""
        self._current_state = keyed(b"")

    def _day_key(self, salt_hex: str) -> bytes:
        return hashlib.blake2b(bytes.fromhex(salt_hex), key=self._secret, digest_size=32).digest()

    async def prepare(self) -> None:
        """Load (creating if needed) today's and tomorrow's salts; forget older ones."""
        today = utc_day(self._clock())
        for day in (today, today + timedelta(days=1)):
            if day not in self._keys or day in self._provisional:
                await self._load(day)
        for day in [d for d in self._keys if d < today - timedelta(days=1)]:
            del self._keys[day]

    async def _load(self, day: date) -> bytes:
        async with self._lock:
            if day in self._keys and day not in self._provisional:
                return self._keys[day]
            try:
                async with self._db.transaction() as tx:
                    salt = await store.ensure_salt(
                        tx.conn, day=day, candidate=secrets.token_hex(32), now=datetime.now(UTC)
                    )
            except Exception as exc:
                # Redirects must not fail because the database is briefly away: hash with a
                # key of this process only (visitors may count twice today) and retry later.
                if day not in self._keys:
                    log.warning("visitor salt for %s unavailable (%s); using a local one", day, exc)
                    self._keys[day] = self._day_key(secrets.token_hex(32))
                    self._provisional.add(day)
                return self._keys[day]
            self._keys[day] = self._day_key(salt)
            self._provisional.discard(day)
            return self._keys[day]

    def cached_key(self, ts: float) -> bytes | None:
        """The key for ``ts`` if it is today's and loaded (the hot path's fast case)."""
        start, end = self._span
        return self._current if start <= ts < end else None

    def cached_state(self, ts: float) -> hashlib.blake2b | None:
        """``keyed(cached_key(ts))``, kept: what the redirect's ``keyed_hash`` copies."""
        start, end = self._span
        return self._current_state if start <= ts < end else None

    async def key_at(self, ts: float) -> bytes:
        """The key for the UTC day containing ``ts``."""
        start, end = self._span
        if start <= ts < end:
            return self._current
        day = utc_day(ts)
        key = self._keys.get(day)
        if key is None:
            key = await self._load(day)
        if day not in self._provisional:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
            self._span, self._current, self._current_state = (start, start + _DAY), key, keyed(key)
        return key

    async def run(self, interval: float = 600.0) -> None:
        """Keep today's and tomorrow's salts loaded (a background task of the runtime)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.prepare()
            except Exception as exc:  # pragma: no cover - logged and retried
                log.warning("could not refresh visitor salts: %s", exc)


async def purge_salts(db: Database, *, today: date) -> int:
    """Delete salts older than KEEP_DAYS (the worker's purge job calls this daily)."""
    async with db.transaction() as tx:
        return await store.delete_salts_before(tx.conn, today - timedelta(days=KEEP_DAYS - 1))
