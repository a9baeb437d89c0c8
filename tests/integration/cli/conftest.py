"""Fixtures for the CLI tests: the real ``hoplink`` command on real databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest_asyncio
from cli_harness import Cli, cli_env, empty_postgres

from hoplink.storage.database import Database


@pytest_asyncio.fixture
async def cli(db_url: str, db: Database, tmp_path: Path) -> Cli:
    """The CLI on an installation that starts empty (``db`` empties PostgreSQL again after):
    created as an operator does, with ``hoplink db upgrade`` (administering commands
    refuse a SQLite database that does not exist)."""
    await empty_postgres(db.engine)
    cli = Cli(cli_env(db_url, tmp_path / "data"))
    await asyncio.to_thread(cli.ok, "db", "upgrade")
    return cli
