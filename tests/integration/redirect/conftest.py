"""Fixtures of the redirect tests: the in-process app on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from edge_client import Edge, running_edge


@pytest_asyncio.fixture
async def edge(db_url: str, tmp_path: Path) -> AsyncIterator[Edge]:
    async with running_edge(db_url, tmp_path / "data") as running:
        yield running


@pytest.fixture
def sqlite_db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file of this test's own (for tests run on SQLite only)."""
    target = tmp_path / "hoplink.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"
