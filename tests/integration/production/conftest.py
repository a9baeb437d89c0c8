"""Fixtures of the production-mode tests: real PostgreSQL and Redis, in-process web nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from linkcache_nodes import Node, node

from dbs import REDIS_URL as SHARED_REDIS
from dbs import async_url, truncate_all
from hoplink.storage.database import Database
from private_redis import key_prefix


@pytest_asyncio.fixture
async def pg(pg_database: str) -> AsyncIterator[Database]:
    """The session's PostgreSQL database, emptied after the test."""
    db = Database.from_url(async_url(pg_database))
    yield db
    await truncate_all(db.engine)
    await db.dispose()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of the test's own on the shared Redis."""
    with key_prefix() as value:
        yield value


@pytest_asyncio.fixture
async def nodes(
    pg_database: str, pg: Database, prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[Node, Node]]:
    """Two web nodes on one database and the shared Redis, under the test's prefix."""
    async with (
        node(pg_database, tmp_path / "a", redis_url=SHARED_REDIS, prefix=prefix) as a,
        node(pg_database, tmp_path / "b", redis_url=SHARED_REDIS, prefix=prefix) as b,
    ):
        yield a, b
