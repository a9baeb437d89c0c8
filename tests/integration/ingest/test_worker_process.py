"""``run_worker``: the `hoplink worker` process consumes the journal until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from ingest_support import make_click, make_link

import factories
from hoplink.config import load_settings
from hoplink.ingest.journal import ClickJournal
from hoplink.ingest.worker import run_worker
from hoplink.storage.clicks import ClickRepo
from hoplink.storage.database import Database


async def test_run_worker_drains_the_journal_and_stops_on_sigterm(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
    link = await make_link(db, ws, dom)
    data_dir = tmp_path / "data"
    # The web process's side: it writes the journal and keeps it open.
    writer = ClickJournal(data_dir / "journal")
    now = time.time()
    for i in range(25):
        writer.put(make_click(link, now - i, f"v{i}"))
    settings = load_settings(database_url=db_url, data_dir=data_dir, worker_flush_interval=0.02)
    task = asyncio.create_task(run_worker(settings))

    async def written() -> int:
        async with db.transaction(write=False) as tx:
            return await ClickRepo(tx.conn).count()

    for _ in range(500):
        if await written() == 25 or task.done():
            break
        await asyncio.sleep(0.01)
    assert await written() == 25
    writer.put(make_click(link, now, "late"))  # arrives just before the stop: drained
    os.kill(os.getpid(), signal.SIGTERM)  # handled by run_worker's loop handler
    await asyncio.wait_for(task, 10)
    assert await written() == 26
    await writer.close()
    reader = ClickJournal(data_dir / "journal", write=False)
    assert (await reader.read(100, 0))[0] == []
    await reader.close()
