from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from api_client import Api, running_api


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    # The fake Kutt listens on loopback: the outbound fetcher may reach it (tests only).
    async with running_api(
        db_url, tmp_path / "data", outbound_allow_private=("127.0.0.1",)
    ) as client:
        yield client
