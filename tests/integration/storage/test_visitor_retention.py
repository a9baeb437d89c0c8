"""Forgetting visitors at the repository, on real SQLite and PostgreSQL (each test rolled
back): raw clicks past the retention, seen-visitor sets of past buckets and the daily salts
go, in bounded batches, and nothing newer goes with them."""

from __future__ import annotations

from datetime import date, timedelta

from schema_rows import T0, click_row, link_row
from sqlalchemy import select

from factories import domain, workspace
from hoplink.storage import tables as t
from hoplink.storage.clicks import ClickRepo
from hoplink.storage.redirects import delete_salts_before, ensure_salt
from hoplink.storage.rollups import RollupRepo
from hoplink.storage.tx import Tx


async def _click_ids(tx: Tx) -> list[str]:
    rows = await tx.conn.execute(select(t.clicks.c.click_id).order_by(t.clicks.c.click_id))
    return list(rows.scalars())


async def test_clicks_before_the_cutoff_are_purged_in_batches(tx: Tx) -> None:
    dom = await domain(tx)
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    mine = await link_row(tx, ws.id, dom.id, "mine001")
    theirs = await link_row(tx, other.id, dom.id, "their01")
    day = timedelta(days=1)
    for i in range(3):
        await click_row(tx, ws.id, mine, f"old-{i}", T0 - (i + 1) * day)
    await click_row(tx, other.id, theirs, "old-3", T0 - 40 * day)  # every tenant's
    await click_row(tx, other.id, theirs, "old-4", T0 - timedelta(microseconds=1))
    await click_row(tx, ws.id, mine, "at-cutoff", T0)
    await click_row(tx, ws.id, mine, "new", T0 + day)
    repo = ClickRepo(tx.conn)

    assert [await repo.purge_before(T0, limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert await _click_ids(tx) == ["at-cutoff", "new"]


async def test_seen_visitor_sets_of_past_buckets_go_one_bucket_at_a_time(tx: Tx) -> None:
    repo = RollupRepo(tx.conn)
    hour = 500_000  # an hour bucket; its day is hour // 24
    keys = [
        ("h", hour - 3, "ws_a", "v1"),
        ("h", hour - 3, "lnk_a", "v1"),
        ("h", hour - 2, "ws_a", "v2"),
        ("h", hour - 1, "ws_b", "v3"),
        ("h", hour, "ws_a", "v1"),  # the current hour: kept
        ("d", hour // 24 - 2, "ws_a", "v1"),
        ("d", hour // 24 - 1, "ws_b", "v2"),
        ("d", hour // 24, "ws_a", "v1"),  # today: kept
    ]
    assert await repo.mark_seen(keys) == set(keys)
    assert await repo.mark_seen([*keys[:2], ("h", hour, "ws_a", "v9")]) == {
        ("h", hour, "ws_a", "v9")
    }  # seen before: not new
    assert await repo.mark_seen([]) == set()

    # At most one bucket per grain and call: the oldest first.
    assert await repo.purge_seen(before_hour=hour, max_buckets=1) == 2 + 1
    assert await repo.purge_seen(before_hour=hour, max_buckets=5) == 2 + 1
    assert await repo.purge_seen(before_hour=hour, max_buckets=5) == 0
    left = await tx.conn.execute(select(t.visitor_seen))
    assert sorted(tuple(r) for r in left) == sorted(
        [("h", hour, "ws_a", "v1"), ("h", hour, "ws_a", "v9"), ("d", hour // 24, "ws_a", "v1")]
    )


async def test_a_days_salt_is_made_once_and_old_salts_are_forgotten(tx: Tx) -> None:
    today = date(2026, 11, 3)
    first = await ensure_salt(tx.conn, day=today, candidate="a" * 64, now=T0)
    second = await ensure_salt(tx.conn, day=today, candidate="b" * 64, now=T0)
    assert first == second == "a" * 64  # another node's candidate loses
    for n in (1, 2):
        await ensure_salt(tx.conn, day=today - timedelta(days=n), candidate=str(n) * 64, now=T0)
    assert await delete_salts_before(tx.conn, today - timedelta(days=1)) == 1
    assert await delete_salts_before(tx.conn, today - timedelta(days=1)) == 0
    days = await tx.conn.execute(select(t.visitor_salts.c.day).order_by(t.visitor_salts.c.day))
    assert list(days.scalars()) == [today - timedelta(days=1), today]
