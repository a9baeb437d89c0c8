"""The retention purge deletes old raw clicks and old visitor state, and nothing else."""

from __future__ import annotations

from typing import Any

from ingest_support import MemorySource, make_click, make_link, snapshot
from sqlalchemy import func, select

import factories
from hoplink.ingest.worker import Worker
from hoplink.storage import tables as t
from hoplink.storage.clicks import ClickRepo
from hoplink.storage.database import Database

DAY = 86_400.0
NOW = 20_400 * DAY + 12 * 3600


def _worker(db: Database, now: float, retention_days: int = 10) -> Worker:
    return Worker(db=db, source=MemorySource(), retention_days=retention_days, clock=lambda: now)


async def _link(db: Database) -> Any:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
    return await make_link(db, ws, dom)


async def test_purge_deletes_only_raw_clicks_older_than_the_retention(db: Database) -> None:
    link = await _link(db)
    old = [make_click(link, NOW - 12 * DAY + i, f"o{i}") for i in range(5)]
    edge = make_click(link, NOW - 10 * DAY + 60, "edge")  # just inside ten days
    recent = [make_click(link, NOW - 3600 + i, f"r{i}") for i in range(3)]
    await _worker(db, NOW - 11 * DAY).process(old)
    await _worker(db, NOW).process([edge, *recent])
    before = await snapshot(db)

    worker = _worker(db, NOW)
    assert await worker.purge_clicks(now=NOW, limit=2) == 2  # small batches
    assert await worker.purge_clicks(now=NOW, limit=2) == 2
    assert await worker.purge_clicks(now=NOW, limit=2) == 1
    assert await worker.purge_clicks(now=NOW, limit=2) == 0

    after = await snapshot(db)
    kept = {row[0] for row in after["clicks"]}
    assert kept == {c.click_id for c in [edge, *recent]}
    for name, rows in before.items():
        if name != "clicks":
            assert after[name] == rows, f"{name} changed"
    async with db.transaction(write=False) as tx:
        assert await ClickRepo(tx.conn).count(link_id=link.id) == 4


async def test_visitor_state_older_than_two_days_is_forgotten(db: Database) -> None:
    link = await _link(db)
    await _worker(db, NOW - 3 * DAY).process([make_click(link, NOW - 3 * DAY, "old")])
    await _worker(db, NOW).process([make_click(link, NOW - 60, "new")])
    await _worker(db, NOW).purge_visitor_state(now=NOW)
    async with db.engine.connect() as conn:
        left = await conn.execute(select(t.visitor_seen.c.visitor_hash).distinct())
        assert {r[0] for r in left} == {"new"}
        rollup_pv = (await conn.execute(select(func.sum(t.rollup_link_days.c.pv)))).scalar()
        assert rollup_pv == 2
