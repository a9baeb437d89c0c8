"""Conversions: events ingested through the API, and report pages over 1 M orders.

Starts hoplink under uvicorn (a subprocess) on SQLite in a temporary data dir.

1. Ingest: ``POST /api/v1/conversions`` with 1,000 purchases per call (70 % carry the
   click id of a stored click, so each is attributed with its path; 30 % an unknown one).
   Side by side, alternating call by call, a baseline: the same calls with an invalid
   currency in every event, which pays for HTTP, JSON, validation and the per-item
   answer but writes nothing. Prints events/s of both and their ratio.
2. Reports: 1 M orders (with their touches) are loaded straight into the database,
   spread over 30 days, 200 links, three currencies; then the conversion report (7 and
   30 days, last-click and linear, grouped by link and campaign), the orders list and,
   as a baseline side by side, the click stats of the workspace are requested
   alternately; prints p50/p95 of each. The direct load bypasses hoplink's writes, so
   the order rollups the reports read are rebuilt with migration 0021's backfill (timed).

    .venv/bin/python bench/conversions.py [--calls 20] [--orders 1000000] [--requests 40]
        [--skip-ingest] [--compare-indexes]

``--compare-indexes`` requests the report pages first with the indexes the orders had
before migration 0020, then with 0020's covering indexes, on the same 1 M orders; each
phase alternates with its own click-stats baseline, so the ratios compare across phases
on a noisy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from hoplink.accounts.apikeys import create_api_key
from hoplink.accounts.models import Scope
from hoplink.clicks.models import Click
from hoplink.config import load_settings
from hoplink.ingest.worker import Worker
from hoplink.links.service import LinkSpec, create_links
from hoplink.links.spec import LinkRules
from hoplink.runtime import Runtime
from hoplink.storage import migrations
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import create_workspace

SERVER = (
    "import uvicorn; from hoplink.app import create_app; from hoplink.config import load_settings;"
    "uvicorn.run(create_app(load_settings()), host='127.0.0.1', port={port},"
    " log_level='warning', access_log=False)"
)
LINKS = 200
CLICKS = 20_000
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _NoSource:
    async def read(self, max_items: int, wait: float) -> tuple[list[Click], object]:
        return [], None

    async def ack(self, token: object) -> None:
        return None


async def prepare(env: dict[str, str]) -> tuple[str, str, list[str], list[str]]:
    """A workspace, a key, links (5 campaigns' utm values) and clicks of the last 6 days."""
    settings = load_settings(
        database_url=env["HOPLINK_DATABASE_URL"], data_dir=Path(env["HOPLINK_DATA_DIR"])
    )
    runtime = await Runtime.start(settings)
    async with runtime.db.transaction() as tx:
        ws = await create_workspace(tx, name="Bench Store", status=WorkspaceStatus.VERIFIED)
        _, key = await create_api_key(
            tx, workspace=ws, name="bench", scopes=frozenset(Scope), created_by=None, operator=True
        )
        specs = [
            LinkSpec(
                url=f"https://shop.example.com/item/{i}",
                utm={"utm_campaign": f"campaign-{i % 5}", "utm_content": f"ad-{i % 20}"},
                tags=[f"tag-{i % 3}"],
            )
            for i in range(LINKS)
        ]
        made = await create_links(
            tx,
            workspace=ws,
            domain=runtime.default_domain,
            specs=specs,
            actor=None,
            rules=LinkRules(),
        )
    link_ids = [link.id for link in made if not isinstance(link, Exception)]
    now = time.time()
    rnd = random.Random(1)
    clicks = [
        Click(
            click_id=f"bench{n:012d}",
            ts=now - rnd.uniform(60, 6 * 86400),
            link_id=rnd.choice(link_ids),
            workspace_id=ws.id,
            domain="hop.test",
            method="GET",
            user_agent=PHONE,
            referrer="https://m.facebook.com/",
            accept_language="en-US",
            country="US",
            visitor_hash=f"v{rnd.randrange(CLICKS // 2)}",
        )
        for n in range(CLICKS)
    ]
    worker = Worker(db=runtime.db, source=_NoSource())
    for i in range(0, len(clicks), 2000):
        await worker.process(clicks[i : i + 2000])
    await runtime.close()
    return ws.id, key, link_ids, [c.click_id for c in clicks]


def _stamp(dt: datetime) -> str:
    # How SQLAlchemy's SQLite DateTime stores a (naive UTC) value.
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_orders(db_path: str, ws_id: str, links: list[str], n: int) -> float:
    """``n`` orders and their touches, straight into the SQLite tables (the stdlib driver,
    values as SQLAlchemy stores them); the seconds it took."""
    rnd = random.Random(2)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    conn = sqlite3.connect(db_path)
    # Secondary indexes are built once after the load, not maintained row by row.
    for name in _SECONDARY:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    batch = 50_000
    for start in range(0, n, batch):
        orders, touches = [], []
        for i in range(start, min(n, start + batch)):
            placed = now - timedelta(seconds=rnd.uniform(600, 30 * 86400))
            link = rnd.choice(links) if rnd.random() < 0.8 else None
            amount = rnd.randrange(500, 50_000)
            pk = f"ord_b{i:015d}"
            orders.append(
                (
                    pk,
                    ws_id,
                    f"BULK-{i}",
                    "open",
                    rnd.choice(("USD", "USD", "EUR", "CNY")),
                    amount,
                    amount // 4 if rnd.random() < 0.1 else 0,
                    _stamp(placed),
                    int(placed.timestamp() // 3600),
                    f"bulkclick{i}" if link else None,
                    link,
                    "click_id" if link else None,
                    None if link else "no_click",
                    "[]",
                    "{}",
                    1,
                    _stamp(now),
                    _stamp(now),
                )
            )
            if link:
                touches.append((pk, f"bulkclick{i}", ws_id, link, _stamp(placed), 1, 1, 1))
        conn.executemany(
            "INSERT INTO orders (id, workspace_id, order_id, status, currency, amount, refunded,"
            " placed_at, placed_hour, click_id, link_id, matched_by, unattributed, items,"
            " customer, revision, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            orders,
        )
        conn.executemany(
            "INSERT INTO order_touches (order_pk, click_id, workspace_id, link_id, ts,"
            " is_first, is_last, touches) VALUES (?,?,?,?,?,?,?,?)",
            touches,
        )
        conn.commit()
    rates = []
    for d in range(40):
        day = (now - timedelta(days=d)).date().isoformat()
        rates += [
            (day, "EUR", "USD", "1.08", _stamp(now)),
            (day, "USD", "CNY", "7.12", _stamp(now)),
        ]
    conn.executemany(
        "INSERT INTO fx_rates (day, base, quote, rate, updated_at) VALUES (?,?,?,?,?)", rates
    )
    conn.commit()
    conn.execute("CREATE INDEX ix_orders_workspace_placed ON orders (workspace_id, placed_at)")
    conn.execute(
        "CREATE INDEX ix_order_touches_workspace_link ON order_touches (workspace_id, link_id)"
    )
    conn.commit()
    print(
        f"  (order rollups rebuilt by migration 0021's backfill in {rebuild_rollups(conn):.1f} s)"
    )
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - t0


def rebuild_rollups(conn: sqlite3.Connection) -> float:
    """The order rollups of the orders loaded straight into the tables (the writes through
    hoplink keep them; this load bypasses it): migration 0021's own backfill."""
    path = Path(migrations.__file__).parent / "versions" / "0021_order_rollups.py"
    spec = importlib.util.spec_from_file_location("m0021", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    conn.execute("DELETE FROM order_rollup_hours")
    conn.execute("DELETE FROM order_rollup_days")
    conn.execute("DELETE FROM order_rollup_workspace_hours")
    t0 = time.perf_counter()
    for statement in module.BACKFILL:
        conn.execute(statement)
    conn.commit()
    return time.perf_counter() - t0


_SECONDARY = (
    "ix_orders_report",
    "ix_orders_workspace_placed",
    "ix_orders_list",
    "ix_orders_link_list",
    "ix_order_touches_workspace_link",
    "ix_order_touches_report",
)


# The report indexes before issue 10's performance round (migration 0020 replaced them).
_OLD_INDEXES = [
    "DROP INDEX IF EXISTS ix_orders_report",
    "DROP INDEX IF EXISTS ix_order_touches_report",
    "DROP INDEX IF EXISTS ix_orders_list",
    "DROP INDEX IF EXISTS ix_orders_link_list",
    "CREATE INDEX IF NOT EXISTS ix_orders_workspace_hour ON orders (workspace_id, placed_hour)",
    "CREATE INDEX IF NOT EXISTS ix_orders_workspace_placed ON orders (workspace_id, placed_at)",
    "ANALYZE",
]
_NEW_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_orders_report ON orders"
    " (workspace_id, placed_hour, link_id, currency, amount, refunded, id)",
    "CREATE INDEX IF NOT EXISTS ix_order_touches_report ON order_touches"
    " (order_pk, workspace_id, link_id, touches, is_first)",
    "CREATE INDEX IF NOT EXISTS ix_orders_list ON orders (workspace_id, placed_at, id)",
    "CREATE INDEX IF NOT EXISTS ix_orders_link_list ON orders"
    " (workspace_id, link_id, placed_at, id)",
    "DROP INDEX IF EXISTS ix_orders_workspace_hour",
    "DROP INDEX IF EXISTS ix_orders_workspace_placed",
    "ANALYZE",
]


def set_indexes(db_path: str, statements: list[str]) -> float:
    t0 = time.perf_counter()
    conn = sqlite3.connect(db_path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


def _events(n: int, call: int, clicks: list[str], *, valid: bool) -> list[dict[str, Any]]:
    rnd = random.Random(call)
    events = []
    for i in range(n):
        event: dict[str, Any] = {
            "type": "purchase",
            "order_id": f"SO-{call}-{i}",
            "amount": rnd.randrange(500, 50_000),
            "currency": "USD" if valid else "XYZ",
            "items": [{"sku": f"SKU-{i % 50}", "quantity": 1, "price": 500}],
            "customer": {"email": f"buyer{i}@example.com"},
        }
        if rnd.random() < 0.7:
            event["click_id"] = rnd.choice(clicks)
        else:
            event["click_id"] = f"unknown{call}x{i}"
        events.append(event)
    return events


async def ingest(base: str, key: str, clicks: list[str], calls: int, size: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    spent = {"ingest": 0.0, "baseline": 0.0}
    latencies: dict[str, list[float]] = {"ingest": [], "baseline": []}
    async with httpx.AsyncClient(timeout=120) as client:
        await client.post(f"{base}/api/v1/conversions", json={"type": "lead"}, headers=headers)
        for call in range(calls):
            for kind in ("baseline", "ingest"):
                body = {"events": _events(size, call, clicks, valid=kind == "ingest")}
                t0 = time.perf_counter()
                r = await client.post(f"{base}/api/v1/conversions", json=body, headers=headers)
                took = time.perf_counter() - t0
                spent[kind] += took
                latencies[kind].append(took)
                out = r.json()
                expected = size if kind == "ingest" else 0
                if r.status_code != 200 or out["accepted"] != expected:
                    raise SystemExit(f"{kind} call failed: {r.status_code} {str(out)[:300]}")
    total = calls * size
    for kind in ("baseline", "ingest"):
        lat = sorted(latencies[kind])
        print(
            f"  {kind:8s}: {total} events in {spent[kind]:.2f} s = {total / spent[kind]:,.0f}"
            f" events/s; per call p50 {statistics.median(lat) * 1000:.0f} ms,"
            f" max {lat[-1] * 1000:.0f} ms"
        )
    print(f"  ratio ingest / baseline: {spent['baseline'] / spent['ingest']:.2f}")


async def reports(base: str, key: str, requests: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    today = datetime.now(UTC).date()
    week = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
    month = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    groups = [("group", "link"), ("group", "campaign")]
    pages: dict[str, tuple[str, Any]] = {
        "baseline: click stats, 7 days": ("/api/v1/stats/workspace", week),
        "report 7 days, last click, by link+campaign": (
            "/api/v1/stats/conversions/workspace",
            [*week.items(), *groups],
        ),
        "report 30 days, last click, by link+campaign": (
            "/api/v1/stats/conversions/workspace",
            [*month.items(), *groups],
        ),
        "report 7 days, linear, by link+campaign": (
            "/api/v1/stats/conversions/workspace",
            [*week.items(), *groups, ("model", "linear")],
        ),
        "report 7 days, one campaign": (
            "/api/v1/stats/conversions/workspace",
            [*week.items(), ("group", "ad_group")],
        ),
        "orders list, unattributed, page 1": (
            "/api/v1/conversions/orders",
            {"attributed": "false", "limit": "50"},
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    async with httpx.AsyncClient(timeout=120) as client:
        for name, (path, params) in pages.items():  # warm-up
            r = await client.get(f"{base}{path}", params=params, headers=headers)
            if r.status_code != 200:
                raise SystemExit(f"{name}: {r.status_code} {r.text[:300]}")
        for _ in range(requests):
            for name, (path, params) in pages.items():
                t0 = time.perf_counter()
                r = await client.get(f"{base}{path}", params=params, headers=headers)
                times[name].append(time.perf_counter() - t0)
    p95s: dict[str, float] = {}
    baseline = next(iter(times))
    for name, values in times.items():
        values.sort()
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        p95s[name] = p95
        print(
            f"  {name:46s} p50 {statistics.median(values) * 1000:6.1f} ms,"
            f" p95 {p95 * 1000:6.1f} ms, p95 / baseline's {p95 / p95s[baseline]:5.2f}"
        )
    return p95s


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)], env={**os.environ, **env}
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/api/v1/openapi.json", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--compare-indexes",
        action="store_true",
        help="report pages first with the indexes before migration 0020, then with its",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = f"{tmp}/bench.db"
        env = {
            "HOPLINK_DATA_DIR": tmp,
            "HOPLINK_DATABASE_URL": f"sqlite:///{db_path}",
            "HOPLINK_EMBEDDED_WORKER": "false",
            "HOPLINK_RATE_LIMIT_API_KEY": "off",
        }
        ws_id, key, links, clicks = asyncio.run(prepare(env))
        print(f"SQLite: {len(links)} links, {len(clicks)} clicks")
        if not args.skip_ingest:
            proc, base = serve(env)
            try:
                print(f"ingest, {args.calls} x {args.size} purchases per call:")
                asyncio.run(ingest(base, key, clicks, args.calls, args.size))
            finally:
                proc.terminate()
                proc.wait(10)
        if args.orders <= 0:
            return
        took = load_orders(db_path, ws_id, links, args.orders)
        print(f"loaded {args.orders:,} orders in {took:.0f} s")
        phases = [("with migration 0020's indexes", _NEW_INDEXES)]
        if args.compare_indexes:
            phases.insert(0, ("with the indexes before migration 0020", _OLD_INDEXES))
        for label, statements in phases:
            print(f"  (indexes set in {set_indexes(db_path, statements):.0f} s)")
            proc, base = serve(env)
            try:
                print(f"report pages {label}, {args.requests} requests each, alternating:")
                asyncio.run(reports(base, key, args.requests))
            finally:
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    main()
