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
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import factories
from dbs import BACKENDS, PG_ADMIN_URL, pg_url
from hoplink.forwarding import service as forwarding
from hoplink.forwarding.models import Batch, Kind
from hoplink.ids import utcnow
from hoplink.storage import migrate
from hoplink.storage.database import Database, create_engine
from hoplink.storage.tables import metadata
from hoplink.webhooks.secrets import SecretBox


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


async def test_0022_carries_the_forwarding_journal_over_both_ways(
    empty_engine: AsyncEngine,
) -> None:
    """Batches of events (0022) become one forward_events row per event on a downgrade,
    and each of those a batch of one on the way up, ids, statuses and rules kept."""
    await migrate.upgrade(empty_engine)
    db = Database(empty_engine)
    now = utcnow().replace(microsecond=0)
    async with db.transaction() as tx:
        ws = await factories.workspace(tx)
        dest = await forwarding.create_destination(
            tx, workspace_id=ws.id, kind=Kind.META, name="Meta", account_id="1234567890",
            credential="EAAmigrationToken1234567890", events=("click",),
            box=SecretBox("migration-secret-" + "k" * 32),
        )  # fmt: skip

        def event(n: int, **extra: object) -> dict[str, object]:
            payload = f'{{"event_id":"click-{n}"}}'
            at = now.timestamp() - n
            return {"id": f"fwb_pending.{n}", "key": f"click-{n}", "kind": "click", "at": at,
                    "payload": payload, **extra}  # fmt: skip

        await tx.forwarding(ws.id).insert_batches(
            [
                Batch(id="fwb_pending", workspace_id=ws.id, destination_id=dest.id,
                      status="pending", events=[event(0), event(1, ref="r-1")], attempts=2,
                      next_attempt_at=now, created_at=now),
                Batch(id="fwb_rejected", workspace_id=ws.id, destination_id=dest.id,
                      status="rejected", events=[{**event(2), "id": "fwb_rejected.0",
                      "error": "meta.event_time: older than 7 days"}], attempts=0,
                      next_attempt_at=now, created_at=now),
            ]
        )  # fmt: skip
    await migrate.downgrade(empty_engine, "0021")
    async with empty_engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, event_key, ref, status, attempts, error, payload"
                     " FROM forward_events ORDER BY id")
            )
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("fwb_pending.0", "click-0", "click-0", "pending", 2, None, '{"event_id":"click-0"}'),
        ("fwb_pending.1", "click-1", "r-1", "pending", 2, None, '{"event_id":"click-1"}'),
        ("fwb_rejected.0", "click-2", "click-2", "rejected", 0,
         "meta.event_time: older than 7 days", '{"event_id":"click-2"}'),
    ]  # fmt: skip
    await migrate.upgrade(empty_engine)
    async with db.transaction(write=False) as tx:
        entries = await tx.forwarding(ws.id).entries(limit=10)
        assert await tx.forward_queue.count("pending") == 2
    by_id = {e.id: e for e in entries}
    assert set(by_id) == {"fwb_pending.0", "fwb_pending.1", "fwb_rejected.0"}
    assert by_id["fwb_pending.1"].ref == "r-1" and by_id["fwb_pending.1"].attempts == 2
    assert by_id["fwb_pending.0"].occurred_at.timestamp() == now.timestamp()
    assert by_id["fwb_rejected.0"].status == "rejected"
    assert by_id["fwb_rejected.0"].error == "meta.event_time: older than 7 days"
    assert by_id["fwb_pending.0"].payload == '{"event_id":"click-0"}'
