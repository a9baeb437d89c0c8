"""Where the test databases are, and how to empty one (imported by fixtures and tests)."""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hoplink.storage.tables import metadata

PG_ADMIN_URL = os.environ.get("HOPLINK_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
# The shared Redis: tests use a key prefix of their own on it and never stop it (outage
# tests start private servers: tests/private_redis.py).
REDIS_URL = os.environ.get("HOPLINK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pg_url(database: str) -> str:
    """The URL of another database on the test PostgreSQL server."""
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


async def truncate_all(engine: AsyncEngine) -> None:
    # A running app's background services (the webhook outbox poller) may hold a table
    # lock TRUNCATE needs in another order: PostgreSQL then picks one side of the deadlock;
    # if it picks us, try again.
    for attempt in range(5):
        try:
            await _truncate(engine)
            return
        except DBAPIError as exc:
            if "deadlock" not in str(exc) or attempt == 4:
                raise


async def _truncate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        names = [t.name for t in reversed(metadata.sorted_tables)]
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))
        else:
            for name in names:
                await conn.execute(text(f"DELETE FROM {name}"))


def async_url(url: str) -> str:
    """A plain sqlite:// or postgresql:// URL with the async driver hoplink's engine uses."""
    if url.startswith("sqlite://"):
        return url.replace("sqlite://", "sqlite+aiosqlite://", 1)
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)
