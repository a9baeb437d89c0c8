"""The set-based batch write (storage/click_batches.py on SQLite, click_batches_pg.py on
PostgreSQL) against the worker's Python tally (ingest/rollups.py): the same batches give
the same rows in every table. On PostgreSQL, two workers writing overlapping batches at the
same time give the rows of one worker writing them one after the other."""

from __future__ import annotations

import asyncio
import random
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from ingest_support import DESKTOP, PHONE, PREVIEW, MemorySource, make_click, make_link, snapshot

import factories
from dbs import PG_ADMIN_URL, async_url, pg_url
from hoplink.clicks.models import Click
from hoplink.ingest.steps import check_links
from hoplink.ingest.worker import Worker
from hoplink.storage import migrate
from hoplink.storage.click_batches_pg import PgClickBatchRepo
from hoplink.storage.clicks import ClickRepo
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


async def _make_links(db: Database) -> list[Any]:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
    return [
        await make_link(db, ws, dom),
        await make_link(db, ws, dom, channel="facebook"),
        await make_link(db, ws, dom, utm={"utm_content": "ad group", "utm_term": "ad 1"}),
    ]


async def _same_rows_as_the_python_tally(
    in_sql: Database, tallied: Database, links: list[Any], seed: int
) -> None:
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


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_set_based_batches_write_the_rows_of_the_python_tally(
    tmp_path: Path, seed: int
) -> None:
    setup = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'setup.db'}")
    await migrate.upgrade(setup.engine)
    links = await _make_links(setup)
    await setup.dispose()
    in_sql = await _copy(tmp_path / "setup.db", tmp_path / "sql.db")
    tallied = await _copy(tmp_path / "setup.db", tmp_path / "tallied.db")
    try:
        await _same_rows_as_the_python_tally(in_sql, tallied, links, seed)
    finally:
        await in_sql.dispose()
        await tallied.dispose()


# --- PostgreSQL ------------------------------------------------------------------------------

Copies = Callable[[int], Awaitable[tuple[list[Any], list[Database]]]]


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template() -> Any:
    """A migrated PostgreSQL database nobody connects to: the others are copies of it."""
    name = f"hoplink_test_sb_{secrets.token_hex(4)}"

    async def make() -> None:
        await _pg_admin(f'CREATE DATABASE "{name}"')
        db = Database.from_url(async_url(pg_url(name)))
        await migrate.upgrade(db.engine)
        await db.dispose()

    asyncio.run(make())
    yield name
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest_asyncio.fixture
async def pg_copies(pg_template: str) -> AsyncIterator[Copies]:
    """``await pg_copies(n)``: the same links in ``n`` PostgreSQL databases of their own."""
    names: list[str] = []
    opened: list[Database] = []

    async def copies(n: int) -> tuple[list[Any], list[Database]]:
        setup = f"{pg_template}_{secrets.token_hex(3)}"
        names.append(setup)
        await _pg_admin(f'CREATE DATABASE "{setup}" TEMPLATE "{pg_template}"')
        db = Database.from_url(async_url(pg_url(setup)))
        links = await _make_links(db)
        await db.dispose()
        for i in range(n):
            names.append(f"{setup}_{i}")
            await _pg_admin(f'CREATE DATABASE "{names[-1]}" TEMPLATE "{setup}"')
            opened.append(Database.from_url(async_url(pg_url(names[-1]))))
        return links, opened[-n:]

    try:
        yield copies
    finally:
        for db in opened:
            await db.dispose()
        for name in reversed(names):
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_set_based_batches_write_the_rows_of_the_python_tally_on_postgresql(
    pg_copies: Copies, seed: int
) -> None:
    links, (in_sql, tallied) = await pg_copies(2)
    await _same_rows_as_the_python_tally(in_sql, tallied, links, seed)


def _visitors(rnd: random.Random, links: list[Any], n: int) -> list[dict[str, Any]]:
    """Visitors who always click one link, with one agent, country, referrer and
    language: whichever of their clicks counts them, it adds to the same rows."""
    return [
        {
            "link": rnd.choice(links),
            "visitor": f"v{i}" if i % 10 else "",
            "user_agent": rnd.choice([PHONE, DESKTOP, PREVIEW]),
            "country": rnd.choice(["US", "DE"]),
            "referrer": rnd.choice(["", "https://m.facebook.com/x"]),
            "accept_language": rnd.choice(["en-US,en;q=0.9", "zh-CN"]),
        }
        for i in range(n)
    ]


def _visits(rnd: random.Random, visitors: list[dict[str, Any]], n: int, hour: int) -> list[Click]:
    out = []
    for _ in range(n):
        v = dict(rnd.choice(visitors))
        ts = T0 + hour * 3600 + rnd.randrange(3600)
        out.append(make_click(v.pop("link"), ts, v.pop("visitor"), **v))
    return out


async def test_a_worker_waits_for_the_other_s_visitor_keys_and_counts_none_twice(
    pg_copies: Copies,
) -> None:
    """Worker B writes its batch while worker A's, which shares visitors and rollup rows,
    is written but not committed: B waits, and once A commits, B counts none of A's
    visitors again (a claim that checked the keys before inserting them would)."""
    links, (concurrent, serial) = await pg_copies(2)
    rnd = random.Random(5)
    visitors = _visitors(rnd, links, 30)
    first, second = _visits(rnd, visitors, 60, 1), _visits(rnd, visitors, 60, 1)
    reference = Worker(db=serial, source=MemorySource(), clock=lambda: NOW)
    await reference.process(first)
    await reference.process(second)

    enricher = Worker(db=concurrent, source=MemorySource(), clock=lambda: NOW).pipeline
    async with concurrent.engine.connect() as a, concurrent.engine.connect() as b:
        await a.begin()
        await b.begin()
        b_pid = (await b.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()

        async def write(conn: Any, clicks: list[Click]) -> set[str]:
            events = enricher.run(clicks, NOW)
            refs = await ClickRepo(conn).link_refs(e.click.link_id for e in events)
            kept, _ = check_links(events, refs)
            return await PgClickBatchRepo(conn).write(kept)

        assert await write(a, first) == set()
        writing = asyncio.get_running_loop().create_task(write(b, second))
        async with concurrent.engine.connect() as watch:
            # B waits for a row lock of A's (a visitor key or a rollup row).
            for _ in range(500):
                waits = await watch.exec_driver_sql(
                    f"SELECT wait_event_type FROM pg_stat_activity WHERE pid = {int(b_pid)}"
                )
                if waits.scalar_one() == "Lock":
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("worker B never waited for worker A")
        assert not writing.done()
        await a.commit()
        assert await writing == set()
        await b.commit()
    assert await snapshot(concurrent) == await snapshot(serial)


async def test_two_workers_writing_at_once_count_what_one_worker_counts(
    pg_copies: Copies,
) -> None:
    """Rounds of two workers (two engines, two transactions) writing overlapping batches
    at the same time, some clicks in both (a stream entry handed to both): the rows of one
    worker writing every batch in turn, and no batch retried (a deadlock would be)."""
    links, (concurrent, serial) = await pg_copies(2)
    other = Database.from_url(str(concurrent.engine.url.render_as_string(hide_password=False)))
    try:
        rnd = random.Random(9)
        visitors = _visitors(rnd, links, 40)
        workers = [
            Worker(db=db, source=MemorySource(), clock=lambda: NOW) for db in (concurrent, other)
        ]
        reference = Worker(db=serial, source=MemorySource(), clock=lambda: NOW)
        for round_ in range(6):
            hour = round_ // 3  # an hour boundary, and batches of one hour
            a, b = _visits(rnd, visitors, 80, hour), _visits(rnd, visitors, 80, hour)
            b += rnd.sample(a, 5)  # the same clicks in both: exactly one counts them
            await asyncio.gather(workers[0].process(a), workers[1].process(b))
            await reference.process(a)
            await reference.process(b)
        assert [w.counters.counts.get("retries", 0) for w in workers] == [0, 0]
        written = sum(w.counters.counts["written"] for w in workers)
        assert written == reference.counters.counts["written"]
        assert await snapshot(concurrent) == await snapshot(serial)
    finally:
        await other.dispose()
