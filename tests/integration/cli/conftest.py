"""Fixtures for the CLI tests: the real ``hoplink`` command on real databases."""

from __future__ import annotations

from pathlib import Path

import pytest_asyncio
from cli_harness import Cli, cli_env, empty_postgres

from hoplink.storage.database import Database


@pytest_asyncio.fixture
async def cli(db_url: str, db: Database, tmp_path: Path) -> Cli:
    """The CLI on a database that starts empty (``db`` empties PostgreSQL again after)."""
    await empty_postgres(db.engine)
    return Cli(cli_env(db_url, tmp_path / "data"))
