"""SQLite's set-based batch write (storage/click_batches.py) against the worker's Python
tally (ingest/rollups.py): the same batches give the same rows in every table."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from ingest_support import DESKTOP, PHONE, PREVIEW, MemorySource, make_click, make_link, snapshot

import factories
from hoplink.clicks.models import Click
from hoplink.ingest.worker import Worker
from hoplink.storage import migrate
from hoplink.storage.database import Database

DAY0 = 20_400
T0 = DAY0 * 86400.0 + 22 * 3600  # two hours before a UTC midnight: hours and days change
NOW = T0 + 6 * 3600


def _batch(
    rnd: random.Random, links: list[Any], n: int, earlier: list[Click], hours: range
) -> list[Click]:
    """Clicks over the links, visitors that repeat, bots, visitors without a hash, rules and
    variants, some clicks of earlier batches again (replays) and a few twice in a batch;
    the new clicks fall in the given hours after T0 (one hour: the one-hour shortcut)."""
    out: list[Click] = []
    for _ in range(n):
        link = rnd.choice(links)
        kw: dict[str, Any] = {
            "user_agent": rnd.choice([PHONE, PHONE, DESKTOP, PREVIEW, ""]),
            "method": rnd.choice(["GET"] * 9 + ["HEAD"]),
            "country": rnd.choice(["US", "DE", None]),
            "referrer": rnd.choice(["", "https://m.facebook.com/x", "not a url"]),
            "accept_language": rnd.choice(["en-US,en;q=0.9", "zh-CN", ""]),
        }
        if rnd.random() < 0.2:
            kw["rule"] = rnd.choice(["default", "mobile"])
        if rnd.random() < 0.2:
            kw["variant"] = rnd.choice(["a", "b"])
        visitor = rnd.choice([f"v{rnd.randrange(12)}", ""])
        ts = T0 + rnd.choice(hours) * 3600 + rnd.randrange(3600)
        out.append(make_click(link, ts, visitor, **kw))
    out += rnd.sample(earlier, min(len(earlier), n // 5))  # replays
    out += rnd.sample(out, min(len(out), 2))  # the same click twice in one batch
    rnd.shuffle(out)
    return out


async def _copy(source: Path, target: Path) -> Database:
    shutil.copy(source, target)
    return Database.from_url(f"sqlite+aiosqlite:///{target}")


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_set_based_batches_write_the_rows_of_the_python_tally(
    tmp_path: Path, seed: int
) -> None:
    setup = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'setup.db'}")
    await migrate.upgrade(setup.engine)
    async with setup.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
    links = [
        await make_link(setup, ws, dom),
        await make_link(setup, ws, dom, channel="facebook"),
        await make_link(setup, ws, dom, utm={"utm_content": "ad group", "utm_term": "ad 1"}),
    ]
    await setup.dispose()
    in_sql = await _copy(tmp_path / "setup.db", tmp_path / "sql.db")
    tallied = await _copy(tmp_path / "setup.db", tmp_path / "tallied.db")
    try:
        sql_worker = Worker(db=in_sql, source=MemorySource(), clock=lambda: NOW)
        py_worker = Worker(db=tallied, source=MemorySource(), clock=lambda: NOW)
        assert sql_worker.tally_in_sql
        py_worker.tally_in_sql = False
        rnd = random.Random(seed)
        earlier: list[Click] = []
        # The last batch: new clicks of one hour only (no replays of other hours).
        for size, hours in ((40, range(4)), (1, range(4)), (120, range(4)), (80, range(2, 3))):
            batch = _batch(rnd, links, size, earlier if len(hours) > 1 else [], hours)
            earlier += batch
            await sql_worker.process(batch)
            await py_worker.process(batch)
        got, want = await snapshot(in_sql), await snapshot(tallied)
        assert want["rollup_link_dim_days"]  # the reference wrote rows
        assert got == want
        assert sql_worker.counters.counts == py_worker.counters.counts
    finally:
        await in_sql.dispose()
        await tallied.dispose()
