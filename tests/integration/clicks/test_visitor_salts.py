"""Daily salts shared through the database: same visitor within a day on every node."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from clocks import Clock
from hoplink.clicks.salts import (
    VisitorSalts,
    keyed_hash,
    purge_salts,
    utc_day,
    visitor_hash,
)
from hoplink.storage import tables as t
from hoplink.storage.database import Database

NOON = datetime(2026, 3, 14, 12, 0, tzinfo=UTC).timestamp()
UA = "Mozilla/5.0 (Linux; Android 14) TikTok 33.0"


async def stored_days(db: Database) -> list[date]:
    """The stored days of March 2026 (other tests' apps store salts for the real today)."""
    day = t.visitor_salts.c.day
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            select(day).where(day.between(date(2026, 3, 1), date(2026, 3, 31))).order_by(day)
        )
        return [row[0] for row in rows]


async def test_two_nodes_agree_and_hashes_are_stable_within_a_day(db: Database) -> None:
    node_a = VisitorSalts(db, secret_key="k" * 40, clock=Clock(NOON))
    node_b = VisitorSalts(db, secret_key="k" * 40, clock=Clock(NOON))
    await node_a.prepare()
    await node_b.prepare()
    morning, evening = NOON - 11 * 3600, NOON + 11 * 3600
    key_a, key_b = await node_a.key_at(morning), await node_b.key_at(evening)
    assert key_a == key_b
    assert visitor_hash(key_a, "ws_1", "203.0.113.9", UA) == visitor_hash(
        key_b, "ws_1", "203.0.113.9", UA
    )
    assert await stored_days(db) == [date(2026, 3, 14), date(2026, 3, 15)]


async def test_hash_differs_across_days_workspaces_ips_agents_and_secrets(db: Database) -> None:
    salts = VisitorSalts(db, secret_key="secret-one", clock=Clock(NOON))
    today = await salts.key_at(NOON)
    tomorrow = await salts.key_at(NOON + 86_400)
    base = visitor_hash(today, "ws_1", "203.0.113.9", UA)
    assert base != visitor_hash(tomorrow, "ws_1", "203.0.113.9", UA)
    assert base != visitor_hash(today, "ws_2", "203.0.113.9", UA)
    assert base != visitor_hash(today, "ws_1", "203.0.113.10", UA)
    assert base != visitor_hash(today, "ws_1", "203.0.113.9", UA + " ")
    other_secret = VisitorSalts(db, secret_key="secret-two", clock=Clock(NOON))
    assert await other_secret.key_at(NOON) != today  # same stored salt, other instance key
    assert "203.0.113.9" not in base and len(base) == 32


async def test_day_boundary_switches_keys_exactly_at_midnight_utc(db: Database) -> None:
    salts = VisitorSalts(db, secret_key="s", clock=Clock(NOON))
    midnight = datetime(2026, 3, 15, tzinfo=UTC).timestamp()
    assert salts.cached_key(midnight - 1) is None  # nothing loaded yet
    before = await salts.key_at(midnight - 0.001)
    assert salts.cached_key(midnight - 1) == before
    assert salts.cached_key(midnight) is None  # another day: not the fast path
    state = salts.cached_state(midnight - 1)  # the redirect's: keyed with that day's key
    assert state is not None and salts.cached_state(midnight) is None
    assert keyed_hash(state, "ws_1", "203.0.113.9", UA) == visitor_hash(
        before, "ws_1", "203.0.113.9", UA
    )
    after = await salts.key_at(midnight)
    assert before != after
    assert utc_day(midnight) == date(2026, 3, 15)


async def test_purge_deletes_salts_two_days_old(db: Database) -> None:
    for offset in range(5):
        salts = VisitorSalts(db, secret_key="s", clock=Clock(NOON + offset * 86_400))
        await salts.prepare()
    assert len(await stored_days(db)) == 6  # 14th .. 19th
    deleted = await purge_salts(db, today=date(2026, 3, 18))
    assert deleted == 3
    assert await stored_days(db) == [date(2026, 3, 17), date(2026, 3, 18), date(2026, 3, 19)]
    # A salt, once deleted, is never re-created the same: old hashes stay unlinkable.
    fresh = VisitorSalts(db, secret_key="s", clock=Clock(NOON))
    old = VisitorSalts(db, secret_key="s", clock=Clock(NOON))
    await old.prepare()
    assert await fresh.key_at(NOON) == await old.key_at(NOON)


async def test_database_outage_falls_back_to_a_local_key_then_recovers(db: Database) -> None:
    broken = Database.from_url("postgresql+asyncpg://127.0.0.1:9/nothing")  # refuses
    salts = VisitorSalts(broken, secret_key="s", clock=Clock(NOON))
    key = await salts.key_at(NOON)
    assert len(key) == 32
    assert salts.cached_key(NOON) is None  # provisional keys are not the fast path
    salts._db = db  # the database is back
    await salts.prepare()
    shared = VisitorSalts(db, secret_key="s", clock=Clock(NOON))
    assert await salts.key_at(NOON) == await shared.key_at(NOON) != key
    await broken.dispose()
