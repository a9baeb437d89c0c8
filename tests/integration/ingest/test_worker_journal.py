"""The worker on the real embedded click journal: ack after commit, replay after a crash."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from ingest_support import make_click, make_link

import factories
from hoplink.analytics.models import ScopeKind, StatsScope
from hoplink.ingest.journal import ClickJournal
from hoplink.ingest.worker import Worker
from hoplink.storage.database import Database
from hoplink.storage.stats import StatsReader


async def _link(db: Database) -> Any:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
    return await make_link(db, ws, dom)


async def _pv(db: Database, link: Any) -> tuple[int, int]:
    now_hour = int(time.time() // 3600)
    async with db.transaction(write=False) as tx:
        totals = await StatsReader(tx.conn, link.workspace_id).totals(
            StatsScope(ScopeKind.WORKSPACE), now_hour - 48, now_hour + 2
        )
    return totals.pv, totals.uv


async def test_worker_consumes_and_acknowledges_the_journal(db: Database, tmp_path: Path) -> None:
    link = await _link(db)
    journal = ClickJournal(tmp_path / "journal")
    now = time.time()
    for i in range(30):
        journal.put(make_click(link, now - i, f"v{i % 7}"))
    worker = Worker(db=db, source=journal, batch_size=8, flush_interval=0.02)
    await worker.start()
    for _ in range(300):
        if worker.counters.snapshot().get("written", 0) == 30:
            break
        await asyncio.sleep(0.01)
    await worker.stop(grace=10)
    await journal.close()
    assert await _pv(db, link) == (30, 7)

    again = ClickJournal(tmp_path / "journal", write=False)
    clicks, _ = await again.read(100, 0)
    await again.close()
    assert clicks == []


async def test_a_batch_of_many_reads_writes_the_journal_offset_once(
    db: Database, tmp_path: Path, monkeypatch: Any
) -> None:
    link = await _link(db)
    journal = ClickJournal(tmp_path / "journal")
    worker = Worker(db=db, source=journal, batch_size=100, flush_interval=0.02)
    tokens = []
    for i in range(3):
        journal.put(make_click(link, time.time(), f"v{i}"))
        tokens.append((await journal.read(100, 0))[1])
    writes: list[object] = []
    persist = journal._persist_offset
    monkeypatch.setattr(journal, "_persist_offset", lambda p: (writes.append(p), persist(p)))
    await worker._ack(tokens)
    assert writes == [tokens[-1]]
    await journal.close()
    again = ClickJournal(tmp_path / "journal", write=False)
    assert (await again.read(100, 0))[0] == []  # all three reads acknowledged
    await again.close()


async def test_clicks_committed_but_not_acknowledged_come_again_and_count_once(
    db: Database, tmp_path: Path
) -> None:
    link = await _link(db)
    journal = ClickJournal(tmp_path / "journal")
    now = time.time()
    for i in range(10):
        journal.put(make_click(link, now - i, f"v{i}"))
    # The worker commits a batch, then the process dies before the ack.
    worker = Worker(db=db, source=journal)
    clicks, _token = await journal.read(100, 0)
    await worker.process(clicks)
    await journal.close()
    assert await _pv(db, link) == (10, 10)

    restarted = ClickJournal(tmp_path / "journal", write=False)
    again = Worker(db=db, source=restarted, flush_interval=0.02)
    await again.start()
    await again.stop(grace=10)
    await restarted.close()
    assert again.counters.snapshot()["replayed"] == 10
    assert await _pv(db, link) == (10, 10)
