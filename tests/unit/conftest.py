"""Fixtures of the unit tests: a client of the shared Redis with a key prefix of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from redis.asyncio import Redis

from dbs import REDIS_URL as SHARED_REDIS
from private_redis import key_prefix


@pytest_asyncio.fixture
async def shared_redis() -> AsyncIterator[tuple[Redis, str]]:
    """A client of the shared Redis and a key prefix of the test's own (deleted after)."""
    with key_prefix() as prefix:
        client = Redis.from_url(SHARED_REDIS)
        try:
            yield client, prefix
        finally:
            await client.aclose()
