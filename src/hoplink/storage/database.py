"""Engine set-up and transactions for SQLite and PostgreSQL.

The caller owns the transaction: services receive a ``Tx`` and never commit.
On SQLite we take over transaction handling from the driver (its implicit
BEGIN breaks SAVEPOINT), run in WAL mode, and start write transactions with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of
failing when a read lock cannot be upgraded.

Each transaction hands the events its services recorded to ``Database.listeners``: before
commit on the same connection, after a successful commit only (see hoplink.events).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from hoplink.events import Event
from hoplink.storage.tx import Tx

_BEGIN_OPTION = "hoplink_begin"

log = logging.getLogger("hoplink.storage")

BeforeCommit = Callable[[Tx, Sequence[Event]], Awaitable[None]]
AfterCommit = Callable[[Sequence[Event]], None]


class Listeners:
    """Who hears of a transaction's events; registered once at start-up (runtime.py)."""

    def __init__(self) -> None:
        self._before: list[BeforeCommit] = []
        self._after: list[AfterCommit] = []

    def before_commit(self, listener: BeforeCommit) -> None:
        """Run ``listener(tx, events)`` inside the transaction, just before it commits."""
        self._before.append(listener)

    def after_commit(self, listener: AfterCommit) -> None:
        """Call ``listener(events)`` once the transaction has committed."""
        self._after.append(listener)

    async def committing(self, tx: Tx) -> None:
        if tx.events:
            events = tuple(tx.events)
            for listener in self._before:
                await listener(tx, events)

    def committed(self, tx: Tx) -> None:
        if not tx.events:
            return
        events = tuple(tx.events)
        for listener in self._after:
            try:
                listener(events)
            except Exception:
                # Committed already: the change stands, only this side effect is missed.
                log.exception("an after-commit listener failed (%d events)", len(events))


def _install_sqlite_hooks(engine: AsyncEngine, *, busy_timeout: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={round(busy_timeout * 1000)}",
            # The click worker inserts into B-trees keyed by random ids (click ids, visitor
            # hashes, link ids): with SQLite's default 2 MiB page cache nearly every row is
            # a page read. 64 MiB (a bound, not an allocation) keeps the hot pages.
            "PRAGMA cache_size=-65536",
            "PRAGMA temp_store=MEMORY",
        ):
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))


def create_engine(
    url: str,
    *,
    connect_timeout: float | None = None,
    pool_timeout: float = 30.0,
    busy_timeout: float = 10.0,
    **kwargs: Any,
) -> AsyncEngine:
    """``pool_timeout``: seconds to wait for a free pooled connection; ``busy_timeout``
    (SQLite): seconds a statement waits on another connection's lock. Running out of
    either is an outage to the adapters (storage/outage.py): 503."""
    parsed = make_url(url)
    kwargs["pool_timeout"] = pool_timeout
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=8, max_overflow=0, **kwargs)
        _install_sqlite_hooks(engine, busy_timeout=busy_timeout)
        return engine
    if connect_timeout is not None:  # asyncpg waits 60 s by default on an unreachable server
        kwargs["connect_args"] = {"timeout": connect_timeout, **kwargs.get("connect_args", {})}
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs)


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.listeners = Listeners()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        connect_timeout: float | None = None,
        pool_timeout: float = 30.0,
        busy_timeout: float = 10.0,
    ) -> Database:
        return cls(
            create_engine(
                url,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                busy_timeout=busy_timeout,
            )
        )

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[Tx]:
        """One connection, one transaction: committed on success, rolled back on error.
        The events recorded on it reach ``listeners`` (before and after commit) only on
        success; an error drops them with the transaction."""
        async with self.engine.connect() as conn:
            if self.is_sqlite and write:
                conn = await conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
            tx = Tx(conn)
            async with conn.begin():
                yield tx
                await self.listeners.committing(tx)
            self.listeners.committed(tx)

    async def dispose(self) -> None:
        await self.engine.dispose()


def tx_on(conn: AsyncConnection) -> Tx:
    """A Tx on a connection whose transaction someone else owns (tests, migrations)."""
    return Tx(conn)
