"""Migrations apply on empty SQLite and PostgreSQL databases and match the declared schema."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from dbs import BACKENDS, PG_ADMIN_URL, pg_url
from hoplink.storage import migrate
from hoplink.storage.database import create_engine
from hoplink.storage.tables import metadata


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest_asyncio.fixture(params=BACKENDS)
async def empty_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        yield engine
        await engine.dispose()
        return
    name = f"hoplink_mig_{secrets.token_hex(4)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    engine = create_engine(pg_url(name).replace("postgresql://", "postgresql+asyncpg://"))
    try:
        yield engine
    finally:
        await engine.dispose()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_upgrade_from_empty_reaches_head_and_matches_tables_py(
    empty_engine: AsyncEngine,
) -> None:
    assert await migrate.current_revision(empty_engine) is None
    assert not await migrate.is_current(empty_engine)
    await migrate.upgrade(empty_engine)
    assert await migrate.current_revision(empty_engine) == migrate.head_revision()
    async with empty_engine.connect() as conn:
        assert await conn.run_sync(_tables) == set(metadata.tables)
        # A migration that forgets a column or index of tables.py shows up here.
        assert await conn.run_sync(_diff) == []


async def test_downgrade_to_base_and_up_again(empty_engine: AsyncEngine) -> None:
    await migrate.upgrade(empty_engine)
    await migrate.downgrade(empty_engine, "base")
    async with empty_engine.connect() as conn:
        assert await conn.run_sync(_tables) == set()
    await migrate.upgrade(empty_engine)
    assert await migrate.is_current(empty_engine)
