"""Bulk link creation through the REST API (1,000 links per call).

Starts hoplink under uvicorn in a subprocess on SQLite (a temporary data dir)
and on PostgreSQL (a fresh database it creates and drops), then posts bulk
calls and prints links/s and per-call latency.

    .venv/bin/python bench/create.py [--calls 20] [--size 1000] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from hoplink.accounts.apikeys import create_api_key
from hoplink.accounts.models import Scope
from hoplink.config import load_settings
from hoplink.runtime import Runtime
from hoplink.storage import migrate
from hoplink.storage.database import create_engine
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import create_workspace

PG_ADMIN = os.environ.get("HOPLINK_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
SERVER = (
    "import uvicorn; from hoplink.app import create_app; from hoplink.config import load_settings;"
    "uvicorn.run(create_app(load_settings()), host='127.0.0.1', port={port},"
    " log_level='warning', access_log=False)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(env: dict[str, str]) -> str:
    """Migrate, create a workspace and a key; returns the key."""
    settings = load_settings(
        database_url=env["HOPLINK_DATABASE_URL"], data_dir=Path(env["HOPLINK_DATA_DIR"])
    )
    if not settings.is_sqlite:
        engine = create_engine(settings.database_url_async)
        await migrate.upgrade(engine)
        await engine.dispose()
    runtime = await Runtime.start(settings)
    async with runtime.db.transaction() as tx:
        ws = await create_workspace(tx, name="Bench Store", status=WorkspaceStatus.VERIFIED)
        _, key = await create_api_key(
            tx, workspace=ws, name="bench", scopes=frozenset(Scope), created_by=None, operator=True
        )
    await runtime.close()
    return key


async def drive(base: str, key: str, calls: int, size: int, concurrency: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    counter = iter(range(calls))

    async def worker(client: httpx.AsyncClient) -> None:
        for n in counter:
            items = [
                {
                    "url": f"https://shop.example.com/item/{n}-{i}?sku={i}&spm=a2g0o.detail",
                    "utm_source": "facebook",
                    "utm_medium": "social",
                    "utm_campaign": "双11 大促",
                    "tags": ["bench", f"batch-{n % 10}"],
                }
                for i in range(size)
            ]
            t0 = time.perf_counter()
            r = await client.post(
                f"{base}/api/v1/links/bulk", json={"items": items}, headers=headers
            )
            latencies.append(time.perf_counter() - t0)
            body = r.json()
            if r.status_code != 200 or body["created"] != size:
                raise SystemExit(f"bulk call failed: {r.status_code} {str(body)[:300]}")

    async with httpx.AsyncClient(timeout=120) as client:
        # one warm-up call, not measured
        await client.post(
            f"{base}/api/v1/links/bulk",
            json={"items": [{"url": "https://shop.example.com/warm"}]},
            headers=headers,
        )
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    total = calls * size
    lat = sorted(latencies)
    print(
        f"  {total} links in {elapsed:.2f} s = {total / elapsed:,.0f} links/s;"
        f" per call p50 {statistics.median(lat) * 1000:.0f} ms,"
        f" max {lat[-1] * 1000:.0f} ms (concurrency {concurrency})"
    )


def run_backend(name: str, env: dict[str, str], args: argparse.Namespace) -> None:
    key = asyncio.run(prepare(env))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)], env={**os.environ, **env}
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/api/v1/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        print(f"{name}:")
        asyncio.run(drive(base, key, args.calls, args.size, args.concurrency))
    finally:
        proc.terminate()
        proc.wait(10)


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "sqlite"):
            env = {"HOPLINK_DATA_DIR": tmp, "HOPLINK_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
            run_backend("SQLite", env, args)
        if args.only in (None, "postgresql"):
            db = f"hoplink_bench_{secrets.token_hex(4)}"
            asyncio.run(pg_admin(f'CREATE DATABASE "{db}"'))
            try:
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
                run_backend(
                    "PostgreSQL", {"HOPLINK_DATA_DIR": tmp, "HOPLINK_DATABASE_URL": url}, args
                )
            finally:
                asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
