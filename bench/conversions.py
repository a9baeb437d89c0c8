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
   alternately; prints p50/p95 of each.

    .venv/bin/python bench/conversions.py [--calls 20] [--orders 1000000] [--requests 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
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
from hoplink.runtime import Runtime
from hoplink.storage import tables as t
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
            code_length=7,
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


async def load_orders(env: dict[str, str], ws_id: str, links: list[str], n: int) -> float:
    """``n`` orders and their touches, straight into the tables; the seconds it took."""
    settings = load_settings(
        database_url=env["HOPLINK_DATABASE_URL"], data_dir=Path(env["HOPLINK_DATA_DIR"])
    )
    runtime = await Runtime.start(settings)
    rnd = random.Random(2)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    batch = 20_000
    for start in range(0, n, batch):
        orders, touches = [], []
        for i in range(start, min(n, start + batch)):
            placed = now - timedelta(seconds=rnd.uniform(600, 30 * 86400))
            link = rnd.choice(links) if rnd.random() < 0.8 else None
            amount = rnd.randrange(500, 50_000)
            pk = f"ord_b{i:015d}"
            orders.append(
                {
                    "id": pk,
                    "workspace_id": ws_id,
                    "order_id": f"BULK-{i}",
                    "status": "open",
                    "currency": rnd.choice(("USD", "USD", "EUR", "CNY")),
                    "amount": amount,
                    "refunded": amount // 4 if rnd.random() < 0.1 else 0,
                    "placed_at": placed,
                    "placed_hour": int(placed.timestamp() // 3600),
                    "click_id": f"bulkclick{i}" if link else None,
                    "link_id": link,
                    "matched_by": "click_id" if link else None,
                    "unattributed": None if link else "no_click",
                    "items": [],
                    "customer": {},
                    "revision": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if link:
                touches.append(
                    {
                        "order_pk": pk,
                        "click_id": f"bulkclick{i}",
                        "workspace_id": ws_id,
                        "link_id": link,
                        "ts": placed,
                        "is_first": True,
                        "is_last": True,
                        "touches": 1,
                    }
                )
        async with runtime.db.transaction() as tx:
            await tx.conn.execute(t.orders.insert(), orders)
            await tx.conn.execute(t.order_touches.insert(), touches)
    rates = []
    for d in range(40):
        day = (now - timedelta(days=d)).date()
        rates += [
            {"day": day, "base": "EUR", "quote": "USD", "rate": "1.08", "updated_at": now},
            {"day": day, "base": "USD", "quote": "CNY", "rate": "7.12", "updated_at": now},
        ]
    async with runtime.db.transaction() as tx:
        await tx.conn.execute(t.fx_rates.insert(), rates)
        await tx.conn.exec_driver_sql("ANALYZE")
    await runtime.close()
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


async def reports(base: str, key: str, requests: int) -> None:
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
    for name, values in times.items():
        values.sort()
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        print(
            f"  {name:46s} p50 {statistics.median(values) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms"
        )


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "HOPLINK_DATA_DIR": tmp,
            "HOPLINK_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "HOPLINK_EMBEDDED_WORKER": "false",
            "HOPLINK_RATE_LIMIT_API_KEY": "off",
        }
        ws_id, key, links, clicks = asyncio.run(prepare(env))
        print(f"SQLite: {len(links)} links, {len(clicks)} clicks")
        proc, base = serve(env)
        try:
            print(f"ingest, {args.calls} x {args.size} purchases per call:")
            asyncio.run(ingest(base, key, clicks, args.calls, args.size))
        finally:
            proc.terminate()
            proc.wait(10)
        took = asyncio.run(load_orders(env, ws_id, links, args.orders))
        print(f"loaded {args.orders:,} orders in {took:.0f} s")
        proc, base = serve(env)
        try:
            print(f"report pages, {args.requests} requests each, alternating:")
            asyncio.run(reports(base, key, args.requests))
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
