"""Fixtures of the dashboard tests: the app with its dashboard on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from dashboard_harness import Dash, running_dashboard


@pytest_asyncio.fixture
async def dash(db_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    async with running_dashboard(db_url, tmp_path / "data") as running:
        yield running
