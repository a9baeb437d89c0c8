"""Fixtures for every test: real SQLite and real PostgreSQL, never a fake.

PostgreSQL must answer at HOPLINK_TEST_PG_URL (default 127.0.0.1:5432/test);
if it does not, the tests that need it fail — they are never skipped. Each
test session works in a database of its own, created and dropped here.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

# The CLI's Rich consoles take their width from COLUMNS when they are created (at import);
# without a terminal (pytest-xdist workers, CI) that would be 80 and fold the tables the
# CLI tests read. Set it before anything imports hoplink.cli.
os.environ.setdefault("COLUMNS", "250")

from dbs import BACKENDS, PG_ADMIN_URL, async_url, pg_url, truncate_all
from hoplink.storage import migrate
from hoplink.storage.database import Database, create_engine
from hoplink.storage.tx import Tx

# The test machine has no internet: the destination health checker (on by default in
# production) would fetch every test link's made-up destination. Its tests turn it on
# with their own fake marketplace; so do child processes, which inherit this.
os.environ.setdefault("HOPLINK_HEALTH_ENABLED", "false")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (plain URL)."""
    import asyncio

    name = f"hoplink_test_{secrets.token_hex(4)}"

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = pg_url(name)

    async def _migrate() -> None:
        engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(_migrate())
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that tests copy instead of migrating again."""
    import asyncio

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"

    async def _migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await engine.dispose()

    asyncio.run(_migrate())
    return path


def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database URL (plain sqlite:// or postgresql://) for one test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "hoplink.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(backend, request, tmp_path)


@pytest_asyncio.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A real, committing database; emptied after the test."""
    database = Database.from_url(async_url(db_url))
    try:
        yield database
    finally:
        if not database.is_sqlite:
            await truncate_all(database.engine)
        await database.dispose()


@pytest_asyncio.fixture
async def tx(db: Database) -> AsyncIterator[Tx]:
    """A transaction that is rolled back after the test: nothing it wrote survives."""
    async with db.engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield Tx(conn)
        finally:
            await trans.rollback()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main
    thread, which async tests after it could not share. (A stable sort: order otherwise kept.)"""
    items.sort(key=lambda item: "browser" in item.path.parts)
