"""The order rollups always equal what the orders say, whatever was written and how.

A random mix of writes through every path that changes orders (single posts with an API
key and with an ingest key, bulk calls, order-export CSV imports, amount updates, partial
refunds, cancels, replays of the same body, refusals, and the erase of another workspace
that had orders) — then the hour, day and workspace-hour rollups are recomputed here from
``orders`` and ``order_touches`` and compared row by row; and migration 0021's backfill,
run on the same orders, writes exactly the rows the writes maintained. SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
from conv_support import Shop, click, iso, post, shop, write_clicks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

import hoplink.storage.migrations as migrations
from api_client import Api, running_api
from hoplink.storage import tables as t

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
CSV = {"Content-Type": "text/csv"}
_examples = itertools.count()


def _migration() -> ModuleType:
    path = Path(migrations.__file__).parent / "versions" / "0021_order_rollups.py"
    spec = importlib.util.spec_from_file_location("m0021", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class World:
    api: Api
    shop: Shop
    ingest: dict[str, str]  # an ingest key's headers
    anchors: dict[str, str]  # name → a click id whose path the order gets


@pytest_asyncio.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with running_api(db_url, tmp_path / "data") as api:
        s = await shop(api, links=[{"url": f"https://shop.example.com/{i}"} for i in range(3)])
        l0, l1, l2 = s.links
        at = NOW - timedelta(hours=14)
        # Paths: three links (linear thirds), one link twice, a single click, and a click
        # outside the window (the order stays unattributed).
        clicks = {
            "a0": click(l0, s.ws_id, at - timedelta(days=2), "va"),
            "a1": click(l1, s.ws_id, at - timedelta(days=1), "va"),
            "a": click(l2, s.ws_id, at, "va"),
            "b0": click(l1, s.ws_id, at - timedelta(hours=5), "vb"),
            "b": click(l1, s.ws_id, at - timedelta(hours=1), "vb"),
            "c": click(l2, s.ws_id, at, "vc"),
            "old": click(l0, s.ws_id, NOW - timedelta(days=30), "vd"),
        }
        await write_clicks(api, list(clicks.values()))
        made = await api.http.post(
            "/api/v1/conversions/ingest-keys", json={"name": "store"}, headers=s.headers
        )
        ingest = {"Authorization": f"Bearer {made.json()['key']}"}
        anchors = {k: c.click_id for k, c in clicks.items() if k in ("a", "b", "c", "old")}
        yield World(api, s, ingest, anchors)


anchor = st.sampled_from([None, "unknown", "a", "b", "c", "old"])
purchase = st.tuples(
    st.integers(0, 5),  # order slot
    anchor,
    st.integers(1, 10**7),  # amount
    st.sampled_from(["USD", "EUR"]),
    st.integers(0, 12),  # hours before now
)
op = st.one_of(
    st.tuples(st.sampled_from(["api", "ingest_key"]), purchase),
    st.tuples(st.just("bulk"), st.lists(purchase, min_size=1, max_size=6)),
    st.tuples(st.just("export"), st.lists(purchase, min_size=1, max_size=4)),
    st.tuples(st.just("refund"), st.integers(0, 5), st.integers(1, 10**7)),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
    st.tuples(st.just("replay")),
    st.tuples(st.just("erase_other")),
)


def _event(w: World, prefix: str, p: tuple[int, str | None, int, str, int]) -> dict[str, Any]:
    slot, name, amount, currency, hours = p
    event: dict[str, Any] = {
        "type": "purchase",
        "event_id": f"{prefix}-{slot}-{amount}-{currency}",
        "order_id": f"{prefix}-{slot}",
        "amount": amount,
        "currency": currency,
        "occurred_at": iso(NOW - timedelta(hours=hours)),
    }
    if name == "unknown":
        event["click_id"] = f"nosuchclick{slot}"
    elif name is not None:
        event["click_id"] = w.anchors[name]
    return event


def _csv(w: World, prefix: str, ps: list[tuple[int, str | None, int, str, int]]) -> str:
    lines = ["order_id,placed_at,amount,currency,hl_click"]
    for slot, name, amount, currency, hours in ps:
        clk = w.anchors.get(name or "", "nosuchclick" if name == "unknown" else "")
        placed = (NOW - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(
            f"{prefix}-{slot},{placed},{amount // 100}.{amount % 100:02d},{currency},{clk}"
        )
    return "\n".join(lines) + "\n"


async def _apply(w: World, prefix: str, step: tuple[Any, ...], last: list[Any]) -> None:
    api, headers = w.api, w.shop.headers
    kind = step[0]
    if kind in ("api", "ingest_key"):
        body: Any = _event(w, prefix, step[1])
        r = await post(api, w.ingest if kind == "ingest_key" else headers, body)
        last[:] = [body]
    elif kind == "bulk":
        body = {"events": [_event(w, prefix, p) for p in step[1]]}
        r = await post(api, headers, body)
        last[:] = [body]
    elif kind == "export":
        r = await api.http.post(
            "/api/v1/conversions/import",
            content=_csv(w, prefix, step[1]).encode(),
            params={"preset": "generic"},
            headers=headers | CSV,
        )
    elif kind == "refund":
        body = {"type": "refund", "order_id": f"{prefix}-{step[1]}", "amount": step[2]}
        body["event_id"] = f"{prefix}-refund-{step[1]}-{step[2]}"
        r = await post(api, headers, body)
        last[:] = [body]
    elif kind == "cancel":
        body = {"type": "cancel", "order_id": f"{prefix}-{step[1]}"}
        r = await post(api, headers, body)
        last[:] = [body]
    elif kind == "replay":
        if not last:
            return
        r = await post(api, headers, last[0])
    else:
        other = await shop(api, f"Other {prefix}")
        events = [
            {"type": "purchase", "order_id": f"X{i}", "amount": 100 + i, "currency": "USD"}
            for i in range(3)
        ]
        assert (await post(api, other.headers, {"events": events})).status_code == 200
        slug = (await api.http.get("/api/v1/workspace", headers=other.headers)).json()["slug"]
        r = await api.http.request(
            "DELETE", "/api/v1/workspace", json={"confirm": slug}, headers=other.headers
        )
        assert r.status_code == 200, r.text
    assert r.status_code < 500, r.text


Rows = dict[tuple[Any, ...], tuple[int, int, int]]


def _nonzero(rows: dict[tuple[Any, ...], list[int]]) -> Rows:
    return {k: (v[0], v[1], v[2]) for k, v in rows.items() if any(v)}


async def _expected(api: Api) -> tuple[Rows, Rows, Rows]:
    """The three rollups computed here from the orders and their touches."""
    o, x = t.orders.c, t.order_touches.c
    hours: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    async with api.db.transaction(write=False) as tx:
        orders = {
            r.id: r
            for r in await tx.conn.execute(
                select(o.id, o.workspace_id, o.link_id, o.placed_hour, o.currency, o.amount,
                       o.refunded)
            )
        }  # fmt: skip
        touches = (
            await tx.conn.execute(select(x.order_pk, x.link_id, x.is_first, x.touches))
        ).all()

    def add(key: tuple[Any, ...], r: Any) -> None:
        sums = hours[key]
        sums[0] += 1
        sums[1] += r.amount
        sums[2] += r.refunded

    for r in orders.values():
        add((r.workspace_id, "last_click", r.placed_hour, r.link_id or "", r.currency, 1), r)
    for pk, link, is_first, n in touches:
        r = orders[pk]
        if is_first:
            add((r.workspace_id, "first_click", r.placed_hour, link, r.currency, 1), r)
        add((r.workspace_id, "linear", r.placed_hour, link, r.currency, n), r)
    days: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    series: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for (ws, model, hour, link, cur, n), sums in hours.items():
        for target, key in (
            (days, (ws, model, hour // 24, link, cur, n)),
            (series, (ws, hour, cur)),
        ):
            if target is series and model != "last_click":
                continue
            for i in range(3):
                target[key][i] += sums[i]
    return _nonzero(hours), _nonzero(days), _nonzero(series)


async def _stored(conn: Any) -> tuple[Rows, Rows, Rows]:
    out = []
    for table, key in (
        (t.order_rollup_hours, ("workspace_id", "model", "hour", "link_id", "currency", "touches")),
        (t.order_rollup_days, ("workspace_id", "model", "day", "link_id", "currency", "touches")),
        (t.order_rollup_workspace_hours, ("workspace_id", "hour", "currency")),
    ):
        c = table.c
        rows = await conn.execute(select(*(c[k] for k in key), c.orders, c.gmv, c.refunded))
        out.append(_nonzero({tuple(r[: len(key)]): [int(v) for v in r[len(key) :]] for r in rows}))
    return out[0], out[1], out[2]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(op, min_size=1, max_size=12))
async def test_rollups_equal_the_orders_after_any_mix_of_writes(
    world: World, steps: list[tuple[Any, ...]]
) -> None:
    prefix = f"E{next(_examples)}"
    last: list[Any] = []
    for step in steps:
        await _apply(world, prefix, step, last)
    expected = await _expected(world.api)
    async with world.api.db.transaction(write=False) as tx:
        stored = await _stored(tx.conn)
    assert stored == expected


async def test_migration_backfill_writes_the_rows_the_writes_maintained(world: World) -> None:
    w = world
    steps: list[tuple[Any, ...]] = [
        ("bulk", [(0, "a", 1000, "USD", 1), (1, "b", 2500, "EUR", 3), (2, None, 99, "USD", 0)]),
        ("api", (3, "c", 12345, "USD", 2)),
        ("api", (4, "old", 700, "EUR", 5)),
        ("refund", 0, 333),
        ("api", (1, "b", 3000, "EUR", 3)),  # an update of the amount
        ("cancel", 3),
        ("export", [(5, "a", 4200, "USD", 6)]),
    ]
    last: list[Any] = []
    for step in steps:
        await _apply(w, "M", step, last)
    mod = _migration()
    with pytest.raises(_Undo):
        async with w.api.db.transaction() as tx:
            live = await _stored(tx.conn)
            assert live[0] and any(k[1] == "linear" and k[5] == 3 for k in live[0])
            tables = (t.order_rollup_hours, t.order_rollup_days, t.order_rollup_workspace_hours)
            for table in tables:
                await tx.conn.execute(delete(table))
            for statement in mod.BACKFILL:
                await tx.conn.execute(text(statement))
            assert await _stored(tx.conn) == live
            raise _Undo  # the live rows stay as the writes left them
    async with w.api.db.transaction(write=False) as tx:
        after = await _stored(tx.conn)
    assert after == live == await _expected(w.api)


class _Undo(Exception):
    pass


async def test_concurrent_writers_keep_the_rollups_exact(world: World) -> None:
    """Bulk calls, single posts and refunds of the same links and hours at once: every call
    answers (no deadlock, no 500) and the rollups still equal the orders."""
    w = world
    first = [("bulk", [(s, "a", 1000 + s, "USD", 1) for s in range(6)])]
    await _apply(w, "C", first[0], [])

    async def writer(n: int) -> None:
        steps: list[tuple[Any, ...]] = [
            ("bulk", [(s, ("a", "b", "c", None)[s % 4], 500 + n, "USD", 1) for s in range(6)]),
            ("api", (0, "b", 700 + n, "EUR", 2)),
            ("refund", 0, 1),
        ]
        for step in steps:
            await _apply(w, f"C{n}", step, [])
        r = await post(w.api, w.shop.headers, {"type": "refund", "order_id": "C-1", "amount": 1})
        assert r.status_code in (200, 422), r.text

    await asyncio.gather(*(writer(n) for n in range(8)))
    async with w.api.db.transaction(write=False) as tx:
        stored = await _stored(tx.conn)
    assert stored == await _expected(w.api)
