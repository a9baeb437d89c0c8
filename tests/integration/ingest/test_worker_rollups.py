"""The worker on real SQLite and PostgreSQL: clicks → raw log + rollups, exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from ingest_support import DESKTOP, PREVIEW, MemorySource, make_click, make_link, snapshot
from sqlalchemy import insert, update
from sqlalchemy.exc import DataError, OperationalError

import factories
from hoplink.analytics.models import ScopeKind, StatsScope
from hoplink.clicks.enriched import Event
from hoplink.ingest.worker import Worker
from hoplink.storage import tables
from hoplink.storage.clicks import ClickRepo
from hoplink.storage.database import Database
from hoplink.storage.stats import StatsReader

DAY0 = 20_400  # a UTC day number; its midnight is DAY0 * 86400
T0 = DAY0 * 86400.0
H0 = DAY0 * 24
NOW = T0 + 20 * 3600
WORKSPACE = StatsScope(ScopeKind.WORKSPACE)


async def _setup(db: Database) -> tuple[Any, Any, Any]:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
    a = await make_link(db, ws, dom, channel="facebook")
    b = await make_link(db, ws, dom, channel="tiktok")
    return ws, a, b


def _worker(db: Database, source: MemorySource | None = None, **kw: Any) -> Worker:
    kw.setdefault("clock", lambda: NOW)
    return Worker(db=db, source=source or MemorySource(), retry_base=0.001, **kw)


async def _read(db: Database, ws_id: str, scope: StatsScope, start: int, end: int) -> Any:
    async with db.transaction(write=False) as tx:
        reader = StatsReader(tx.conn, ws_id)
        return (
            await reader.totals(scope, start, end),
            await reader.hours(scope, start, end),
            await reader.dimensions(scope, start, end),
        )


async def test_a_batch_becomes_raw_clicks_and_rollups(db: Database) -> None:
    ws, a, b = await _setup(db)
    clicks = [
        make_click(a, T0 + 60, "v1"),
        make_click(a, T0 + 120, "v1", user_agent=DESKTOP, country="DE"),  # same hash, 2 UAs
        make_click(a, T0 + 180, "v2", method="HEAD"),
        make_click(a, T0 + 3600 + 5, "v2", referrer="", accept_language="zh-CN"),
        make_click(b, T0 + 240, "v1"),
        make_click(b, T0 + 300, "bot", user_agent=PREVIEW),
    ]
    worker = _worker(db)
    await worker.process(clicks)

    totals, hours, dims = await _read(db, ws.id, StatsScope(ScopeKind.LINK, a.id), H0, H0 + 24)
    assert (totals.pv, totals.human_pv, totals.uv) == (4, 3, 2)
    assert [(h.hour, h.pv, h.human_pv, h.uv_hour, h.uv_day) for h in hours] == [
        (H0, 3, 2, 1, 1),
        (H0 + 1, 1, 1, 1, 1),
    ]
    got = {(d.group, d.value): (d.pv, d.human_pv, d.uv) for d in dims}
    assert got[("device", "mobile")] == (1 + 1, 2, 2)
    assert got[("device", "desktop")] == (1, 1, 0)  # v1 was credited to its first click
    assert got[("device", "bot")] == (1, 0, 0)
    assert got[("bot", "HEAD request")] == (1, 0, 0)
    assert got[("referrer", "m.facebook.com")] == (3, 2, 1)
    assert got[("referrer", "(direct)")] == (1, 1, 1)
    assert got[("country", "DE")] == (1, 1, 0)
    assert got[("language", "zh")] == (1, 1, 1)

    ws_totals, _, ws_dims = await _read(db, ws.id, WORKSPACE, H0, H0 + 24)
    # v1 clicked both links: one visitor for the workspace.
    assert (ws_totals.pv, ws_totals.human_pv, ws_totals.uv) == (6, 4, 2)
    assert {(d.group, d.value): d.pv for d in ws_dims}[("bot", "Facebook preview")] == 1
    async with db.transaction(write=False) as tx:
        assert await ClickRepo(tx.conn).count() == 6
    assert worker.counters.snapshot()["written"] == 6


async def test_replaying_a_batch_changes_nothing(db: Database) -> None:
    _, a, b = await _setup(db)
    clicks = [make_click(a, T0 + i * 600, f"v{i % 3}") for i in range(12)]
    clicks.append(make_click(b, T0 + 30, "v0", user_agent=PREVIEW))
    worker = _worker(db)
    await worker.process(clicks)
    before = await snapshot(db)
    await worker.process(clicks)  # at-least-once delivery: the same clicks again
    await worker.process(clicks[3:5])
    assert await snapshot(db) == before
    assert worker.counters.snapshot()["replayed"] == 15


async def test_day_uv_is_distinct_visitors_not_the_sum_of_hours(db: Database) -> None:
    ws, a, _ = await _setup(db)
    worker = _worker(db)
    # Three batches over the day: v1 at 01:00, 05:00 and 17:00; v2 at 05:00.
    await worker.process([make_click(a, T0 + 1 * 3600, "v1")])
    await worker.process([make_click(a, T0 + 5 * 3600, "v1"), make_click(a, T0 + 5 * 3600, "v2")])
    await worker.process([make_click(a, T0 + 17 * 3600, "v1")])
    # And the next UTC day (a new salt: a new hash for the same person).
    await worker.process([make_click(a, T0 + 86400 + 60, "v1-next-day")])
    for scope in (StatsScope(ScopeKind.LINK, a.id), WORKSPACE):
        day, hours, _ = await _read(db, ws.id, scope, H0, H0 + 24)
        assert day.uv == 2
        assert sum(h.uv_hour for h in hours) == 4
        two_days, _, _ = await _read(db, ws.id, scope, H0, H0 + 48)
        assert two_days.uv == 3
        # A range that starts at midnight and stops at 06:00 is exact too.
        morning, _, _ = await _read(db, ws.id, scope, H0, H0 + 6)
        assert morning.uv == 2


async def test_clicks_of_unknown_or_foreign_links_are_dropped(db: Database) -> None:
    _, a, _ = await _setup(db)
    async with db.transaction() as tx:
        other_ws = await factories.workspace(tx, "Other Store")
    stray = make_click(a, T0, workspace_id=other_ws.id)
    gone = dataclasses.replace(make_click(a, T0), link_id="lnk_doesnotexist00")
    worker = _worker(db)
    await worker.process([stray, gone, make_click(a, T0)])
    counts = worker.counters.snapshot()
    assert counts["dropped.workspace_mismatch"] == 1
    assert counts["dropped.unknown_link"] == 1
    assert counts["written"] == 1


class FlakyDatabase(Database):
    """The real database, whose first ``failures`` transactions fail to connect."""

    def __init__(self, inner: Database, failures: int) -> None:
        super().__init__(inner.engine)
        self.failures = failures

    def transaction(self, *, write: bool = True) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("BEGIN", {}, ConnectionError("database went away"))
        return super().transaction(write=write)


async def test_a_failing_database_delays_the_batch_but_never_loses_it(db: Database) -> None:
    ws, a, _ = await _setup(db)
    flaky = FlakyDatabase(db, failures=3)

    class Source(MemorySource):
        async def ack(self, token: object) -> None:
            assert flaky.failures == 0, "acknowledged before the batch was committed"
            await super().ack(token)

    source = Source([make_click(a, T0 + i, f"v{i}") for i in range(5)])
    worker = _worker(flaky, source, flush_interval=0.05)
    worker._next_purge = float("inf")
    await worker.start()
    for _ in range(500):
        if source.acked:
            break
        await asyncio.sleep(0.01)
    await worker.stop(grace=5)
    assert len(source.acked) == 5 and not source.unacked
    assert worker.counters.snapshot()["retries"] == 3
    totals, _, _ = await _read(db, ws.id, WORKSPACE, H0, H0 + 24)
    assert (totals.pv, totals.uv) == (5, 5)


async def test_stop_drains_what_the_source_still_holds(db: Database) -> None:
    ws, a, _ = await _setup(db)
    source = MemorySource()
    worker = _worker(db, source, batch_size=7, flush_interval=0.02)
    worker._next_purge = float("inf")
    await worker.start()
    for i in range(50):
        source.put(make_click(a, T0 + i, f"v{i % 10}"))
    await worker.stop(grace=10)
    assert len(source.acked) == 50 and not source.queue and not source.unacked
    totals, _, _ = await _read(db, ws.id, WORKSPACE, H0, H0 + 24)
    assert (totals.pv, totals.uv) == (50, 10)


async def test_a_click_the_database_refuses_is_isolated_and_dropped(db: Database) -> None:
    ws, a, _ = await _setup(db)
    clicks = [make_click(a, T0 + i, f"v{i}") for i in range(9)]
    poison = clicks[6].click_id

    class Refusing(Worker):
        async def _write(self, events: list[Event]) -> None:
            if any(e.click.click_id == poison for e in events):
                raise DataError("INSERT", {}, ValueError("invalid byte sequence"))
            await super()._write(events)

    worker = Refusing(db=db, source=MemorySource(), clock=lambda: NOW)
    await worker.process(clicks)
    assert worker.counters.snapshot()["dropped.unwritable"] == 1
    totals, _, _ = await _read(db, ws.id, WORKSPACE, H0, H0 + 24)
    assert totals.pv == 8


async def test_a_value_postgresql_reports_as_a_generic_error_is_still_isolated(
    db: Database,
) -> None:
    # PostgreSQL refuses a NUL in text with SQLSTATE 22021, which asyncpg hands over as a
    # plain DBAPI error, not DataError: without the SQLSTATE check the batch was retried
    # for ever. SQLite stores the NUL, so there every click is written.
    ws, a, _ = await _setup(db)
    clicks = [make_click(a, T0 + i, f"v{i}") for i in range(9)]
    clicks[4] = dataclasses.replace(clicks[4], domain="hop.test\x00")
    worker = Worker(db=db, source=MemorySource(), clock=lambda: NOW)
    await asyncio.wait_for(worker.process(clicks), timeout=60)
    refused = 1 if db.engine.dialect.name == "postgresql" else 0
    assert worker.counters.snapshot().get("dropped.unwritable", 0) == refused
    totals, _, _ = await _read(db, ws.id, WORKSPACE, H0, H0 + 24)
    assert totals.pv == 9 - refused


@pytest.mark.parametrize("size", [1, 3])
async def test_batches_close_on_size(db: Database, size: int) -> None:
    _, a, _ = await _setup(db)
    source = MemorySource([make_click(a, T0 + i) for i in range(7)])
    worker = _worker(db, source, batch_size=size, flush_interval=0.05)
    clicks, tokens = await worker._collect()
    assert len(clicks) == size and len(tokens) >= 1


async def test_batches_grow_while_the_load_lasts_then_shrink(db: Database) -> None:
    _, a, _ = await _setup(db)
    source = MemorySource([make_click(a, T0 + i) for i in range(400)])
    worker = _worker(db, source, batch_size=3, flush_interval=0.02)
    sizes = [len((await worker._collect())[0]) for _ in range(10)]
    # Doubling up to 32 x 3, then what is left (under a quarter of the target: the load is
    # gone), then back to the configured size and flush interval.
    assert sizes == [3, 6, 12, 24, 48, 96, 96, 96, 19, 0]
    assert worker._batch_target == 3
    assert worker._window == 0.02


class _CountingSource(MemorySource):
    """Blocks up to ``timeout`` for a click, as the journal and the Redis stream do, and
    hands out at most ``per_read`` (the stream's read count)."""

    def __init__(self, clicks: list[Any], per_read: int = 10_000) -> None:
        super().__init__(clicks)
        self.per_read = per_read
        self.timeouts: list[float] = []

    async def read(self, max_items: int, timeout: float) -> tuple[list[Any], object]:  # noqa: ASYNC109
        self.timeouts.append(timeout)
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while not self.queue and loop.time() < until:  # noqa: ASYNC110 - a poll, as put() is sync
            await asyncio.sleep(0.005)
        return await super().read(min(max_items, self.per_read), 0)


async def test_clicks_that_waited_out_the_window_in_the_source_close_the_batch(
    db: Database,
) -> None:
    # Clicks answered a window ago or earlier (they waited while the last batch was
    # written) are written at once: no later read waits for more.
    _, a, _ = await _setup(db)
    source = _CountingSource([make_click(a, NOW - 5.0), make_click(a, NOW - 0.5)])
    worker = _worker(db, source, batch_size=100, flush_interval=1.0)
    clicks, _ = await worker._collect()
    assert len(clicks) == 2
    assert source.timeouts[0] == 1.0 and set(source.timeouts[1:]) == {0.0}


async def test_a_backlog_is_taken_whole_past_the_window(db: Database) -> None:
    # A source that hands out 2 clicks per read: past the window the batch still takes
    # every click that was waiting (up to the target), not just the first read's.
    _, a, _ = await _setup(db)
    source = _CountingSource([make_click(a, NOW - 3.0 + i / 10) for i in range(9)], per_read=2)
    worker = _worker(db, source, batch_size=100, flush_interval=1.0)
    clicks, _ = await worker._collect()
    assert len(clicks) == 9
    assert set(source.timeouts[1:]) == {0.0}
    small = _worker(db, _CountingSource([make_click(a, NOW - 3.0)] * 9, per_read=2), batch_size=4)
    assert len((await small._collect())[0]) == 4  # the target still caps it


async def test_past_the_window_clicks_answered_after_it_wait_for_the_next_batch(
    db: Database,
) -> None:
    # Under steady load the source always holds something new: past the window, the batch
    # stops at the first click answered after the window's end (read with the others).
    _, a, _ = await _setup(db)
    old = make_click(a, NOW - 5.0)
    newer = [make_click(a, NOW + 1.0 + i) for i in range(5)]
    source = _CountingSource([old, *newer], per_read=1)
    worker = _worker(db, source, batch_size=100, flush_interval=1.0)
    clicks, _ = await worker._collect()
    assert [c.click_id for c in clicks] == [old.click_id, newer[0].click_id]


async def test_a_fresh_click_still_waits_for_its_window(db: Database) -> None:
    _, a, _ = await _setup(db)
    source = _CountingSource([make_click(a, NOW)])
    worker = _worker(db, source, batch_size=2, flush_interval=30.0)
    later = make_click(a, NOW + 0.1)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, source.put, later)
    clicks, _ = await asyncio.wait_for(worker._collect(), timeout=20)
    assert [c.click_id for c in clicks][-1] == later.click_id
    assert len(source.timeouts) > 1


async def test_workspace_channel_and_campaign_rows_are_the_links_at_click_time(
    db: Database,
) -> None:
    ws, a, b = await _setup(db)
    async with db.transaction() as tx:
        dom = await factories.domain(tx, "other.test")
        await tx.conn.execute(
            insert(tables.campaigns).values(
                id="cmp_spring", workspace_id=ws.id, name="Spring", created_at=datetime.now(UTC)
            )
        )
        await tx.conn.execute(
            update(tables.links).where(tables.links.c.id == a.id).values(campaign_id="cmp_spring")
        )
    bare = await make_link(db, ws, dom)  # no channel, no campaign
    worker = _worker(db)
    await worker.process(
        [
            make_click(a, T0 + 60, "v1"),
            make_click(a, T0 + 120, "v2"),
            make_click(b, T0 + 180, "v1"),
            make_click(bare, T0 + 240, "v3", user_agent=PREVIEW),
        ]
    )
    # Re-assigning a link afterwards leaves the clicks where they were counted.
    async with db.transaction() as tx:
        await tx.conn.execute(
            update(tables.links).where(tables.links.c.id == b.id).values(channel="facebook")
        )
    await worker.process([make_click(b, T0 + 300, "v4")])

    _, _, ws_dims = await _read(db, ws.id, WORKSPACE, H0, H0 + 48)  # day + hour tables
    got = {(d.group, d.value): (d.pv, d.human_pv, d.uv) for d in ws_dims}
    assert {k: v for k, v in got.items() if k[0] in ("channel", "campaign")} == {
        ("channel", "facebook"): (3, 3, 3),
        ("channel", "tiktok"): (1, 1, 0),  # v1 was credited to its first click
        ("channel", "(none)"): (1, 0, 0),
        ("campaign", "cmp_spring"): (2, 2, 2),
        ("campaign", "(none)"): (3, 2, 1),
    }
    assert {d.label for d in ws_dims if d.value == "cmp_spring"} == {"Spring"}
    # Link-level dimension rollups do not carry them (those scopes join the links).
    _, _, link_dims = await _read(db, ws.id, StatsScope(ScopeKind.LINK, a.id), H0, H0 + 24)
    assert not [d for d in link_dims if d.group in ("channel", "campaign")]
