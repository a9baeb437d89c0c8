"""Stats API latency on rollups worth 10 M clicks (1,000 links, 30 days, one workspace).

Rollup rows are generated directly (not raw clicks), as the worker would have written
them, on SQLite (a temporary data dir) and on PostgreSQL (a fresh database
``hoplink_bench_<rand>`` it creates and drops on 127.0.0.1:5432). Then hoplink is started
under uvicorn in a subprocess and the 30-day hourly series + all breakdowns are fetched
for the workspace and for single links, printing p50/p95 per backend (target p95 ≤ 100 ms).

    .venv/bin/python bench/stats.py [--backend sqlite|postgresql|both] [--clicks 10000000]
        [--links 1000] [--days 30] [--requests 50] [--timezone Asia/Shanghai]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from hoplink.accounts.apikeys import create_api_key
from hoplink.accounts.models import Scope
from hoplink.analytics.models import NONE_VALUE
from hoplink.config import load_settings
from hoplink.domains import ensure_default_domain
from hoplink.links import campaigns, service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage import migrate
from hoplink.storage.database import Database, create_engine
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import create_workspace

PG_ADMIN = os.environ.get("HOPLINK_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
SERVER = (
    "import uvicorn; from hoplink.app import create_app; from hoplink.config import load_settings;"
    "uvicorn.run(create_app(load_settings()), host='127.0.0.1', port={port},"
    " log_level='warning', access_log=False)"
)
CHANNELS = ["facebook", "tiktok", "instagram", "google", "email", "kol"]
# (value, weight) per dimension: the mix each link-hour's clicks are split by.
MIX: dict[str, list[tuple[str, float]]] = {
    "country": [
        (c, w)
        for c, w in zip(
            ["US", "GB", "DE", "FR", "BR", "MX", "ES", "IT", "JP", "KR", "AU", "CA", "PL", "NL"],
            [30, 10, 8, 7, 7, 6, 5, 5, 4, 4, 4, 4, 3, 3],
            strict=True,
        )
    ],
    "device": [("mobile", 86), ("desktop", 8), ("tablet", 3), ("bot", 3)],
    "os": [("iOS", 45), ("Android", 42), ("Windows", 7), ("Mac OS X", 4), ("Other", 2)],
    "browser": [
        ("Facebook", 30),
        ("TikTok", 22),
        ("Instagram", 14),
        ("Mobile Safari", 12),
        ("Chrome Mobile", 12),
        ("Chrome", 6),
        ("Edge", 2),
        ("Other", 2),
    ],
    "referrer": [
        ("(direct)", 40),
        ("m.facebook.com", 20),
        ("l.facebook.com", 10),
        ("www.tiktok.com", 15),
        ("l.instagram.com", 10),
        ("www.google.com", 5),
    ],
    "language": [("en", 55), ("es", 12), ("de", 8), ("fr", 7), ("pt", 7), ("ja", 5), ("ko", 6)],
}
BOT_SHARE = 0.03


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def split(n: int, mix: list[tuple[str, float]], rng: random.Random) -> list[tuple[str, int]]:
    """Split n clicks over a mix: a multinomial draw, cheap enough for 720k link-hours."""
    if n <= 0:
        return []
    values = [v for v, _ in mix]
    weights = [w for _, w in mix]
    counts: dict[str, int] = defaultdict(int)
    for v in rng.choices(values, weights, k=n):
        counts[v] += 1
    return list(counts.items())


# --- synthetic rollups ----------------------------------------------------------------------


class Generator:
    """Rollup rows for one workspace, streamed per link; workspace tables summed on the way."""

    def __init__(
        self,
        *,
        ws: str,
        links: list[str],
        first_hour: int,
        hours: int,
        clicks: int,
        groups: Mapping[str, tuple[str | None, str | None]] | None = None,
    ):
        self.ws, self.links, self.first_hour, self.hours = ws, links, first_hour, hours
        self.groups = groups or {}  # link id → (channel, campaign id)
        rng = random.Random(7)
        popularity = [1 / (rank + 1) ** 0.8 for rank in range(len(links))]
        scale = clicks / sum(popularity)
        self.per_link = [p * scale for p in popularity]
        rng.shuffle(self.per_link)
        # Daily rhythm: quiet at night (UTC+8 shoppers), busy in the evening.
        rhythm = [0.3 + 0.7 * (1 + math.sin((h - 8) / 24 * 2 * math.pi)) / 2 for h in range(24)]
        self.rhythm = [r / sum(rhythm) * 24 for r in rhythm]
        self.rng = rng
        self.ws_hours: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.ws_dims: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.ws_groups: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.total = 0

    def add_link_groups(self, link: str, h: int, pv: int, human: int, uv_day: int) -> None:
        """The link's channel and campaign as workspace dimensions, as the worker writes."""
        channel, campaign = self.groups.get(link, (None, None))
        for dim, value in (("channel", channel), ("campaign", campaign)):
            acc = self.ws_groups[(h, dim, value or NONE_VALUE)]
            acc[0] += pv
            acc[1] += human
            acc[2] += uv_day

    def count_hour(
        self,
        link: str,
        h: int,
        n: int,
        hours: list[tuple[Any, ...]],
        days: dict[int, list[int]],
    ) -> tuple[int, int]:
        """Record one link-hour of ``n`` clicks in the link's hour and day rows and the
        workspace totals; returns (bots, humans) for the breakdowns."""
        rng = self.rng
        bots = (
            sum(1 for _ in range(n) if rng.random() < BOT_SHARE) if n < 50 else round(n * BOT_SHARE)
        )
        human = n - bots
        uv_hour = max(1, round(human * 0.85)) if human else 0
        uv_day = round(uv_hour * 0.7)
        hours.append((link, h, self.ws, n, human, uv_day, uv_hour))
        self.total += n
        d = days[h // 24]
        d[0] += n
        d[1] += human
        d[2] += uv_day
        w = self.ws_hours[h]
        w[0] += n
        w[1] += human
        w[2] += uv_day
        w[3] += uv_hour
        self.add_link_groups(link, h, n, human, uv_day)
        return bots, human

    def link(self, i: int) -> dict[str, list[tuple[Any, ...]]]:
        link, ws, rng = self.links[i], self.ws, self.rng
        per_hour = self.per_link[i] / self.hours
        hours: list[tuple[Any, ...]] = []
        days: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        dims_h: list[tuple[Any, ...]] = []
        dims_d: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for h in range(self.first_hour, self.first_hour + self.hours):
            expected = per_hour * self.rhythm[h % 24]
            n = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
            if n == 0:
                continue
            bots, human = self.count_hour(link, h, n, hours, days)
            for dim, mix in MIX.items():
                for value, pv in split(n, mix, rng):
                    hp = 0 if value == "bot" else round(pv * human / n)
                    uv = round(hp * 0.6)
                    dims_h.append((link, h, dim, value, ws, pv, hp, uv))
                    for acc in (dims_d[(h // 24, dim, value)], self.ws_dims[(h, dim, value)]):
                        acc[0] += pv
                        acc[1] += hp
                        acc[2] += uv
            if bots:
                dims_h.append((link, h, "bot", "Facebook preview", ws, bots, 0, 0))
                for acc in (
                    dims_d[(h // 24, "bot", "Facebook preview")],
                    self.ws_dims[(h, "bot", "Facebook preview")],
                ):
                    acc[0] += bots
        return {
            "rollup_link_hours": hours,
            "rollup_link_days": [(link, d, ws, *v) for d, v in sorted(days.items())],
            "rollup_link_dim_hours": sorted(dims_h),
            "rollup_link_dim_days": [
                (link, d, dim, value, ws, *v) for (d, dim, value), v in sorted(dims_d.items())
            ],
        }

    def workspace(self) -> dict[str, list[tuple[Any, ...]]]:
        ws = self.ws
        days: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        dim_days: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for h, (pv, hp, uvd, _uvh) in self.ws_hours.items():
            d = days[h // 24]
            d[0] += pv
            d[1] += hp
            d[2] += uvd
        ws_dims = {**self.ws_dims, **self.ws_groups}
        for (h, dim, value), v in ws_dims.items():
            acc = dim_days[(h // 24, dim, value)]
            for k in range(3):
                acc[k] += v[k]
        return {
            "rollup_workspace_hours": [(ws, h, *v) for h, v in sorted(self.ws_hours.items())],
            "rollup_workspace_days": [(ws, d, *v) for d, v in sorted(days.items())],
            "rollup_workspace_dim_hours": [
                (ws, h, dim, value, *v) for (h, dim, value), v in sorted(ws_dims.items())
            ],
            "rollup_workspace_dim_days": [
                (ws, d, dim, value, *v) for (d, dim, value), v in sorted(dim_days.items())
            ],
        }


COLUMNS = {
    "rollup_link_hours": ("link_id", "hour", "workspace_id", "pv", "human_pv", "uv_day", "uv_hour"),
    "rollup_link_days": ("link_id", "day", "workspace_id", "pv", "human_pv", "uv_day"),
    "rollup_link_dim_hours": (
        "link_id",
        "hour",
        "dim",
        "value",
        "workspace_id",
        "pv",
        "human_pv",
        "uv_day",
    ),
    "rollup_link_dim_days": (
        "link_id",
        "day",
        "dim",
        "value",
        "workspace_id",
        "pv",
        "human_pv",
        "uv_day",
    ),
    "rollup_workspace_hours": ("workspace_id", "hour", "pv", "human_pv", "uv_day", "uv_hour"),
    "rollup_workspace_days": ("workspace_id", "day", "pv", "human_pv", "uv_day"),
    "rollup_workspace_dim_hours": (
        "workspace_id",
        "hour",
        "dim",
        "value",
        "pv",
        "human_pv",
        "uv_day",
    ),
    "rollup_workspace_dim_days": (
        "workspace_id",
        "day",
        "dim",
        "value",
        "pv",
        "human_pv",
        "uv_day",
    ),
}


class Loader:
    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None: ...

    async def finish(self) -> None: ...


class SqliteLoader(Loader):
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("BEGIN")

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        cols = COLUMNS[table]
        marks = ", ".join("?" * len(cols))
        self.db.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)  # noqa: S608

    async def finish(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()


class PgLoader(Loader):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        await self.conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))

    async def finish(self) -> None:
        # What autovacuum does after a bulk load on a live server (visibility map, stats).
        await self.conn.execute("VACUUM ANALYZE")
        await self.conn.close()


# --- the run --------------------------------------------------------------------------------


async def prepare(url: str, data_dir: Path, args: argparse.Namespace) -> tuple[str, list[str], int]:
    """Schema, workspace, links and a key; returns (key, link ids by popularity, first hour)."""
    settings = load_settings(database_url=url, data_dir=data_dir)
    engine = create_engine(settings.database_url_async)
    await migrate.upgrade(engine)
    db = Database(engine)
    rng = random.Random(1)
    async with db.transaction() as tx:
        ws = await create_workspace(
            tx, name="Bench Store", timezone=args.timezone, status=WorkspaceStatus.VERIFIED
        )
        domain = await ensure_default_domain(tx, settings.domain)
        camps = [
            await campaigns.create_campaign(tx, workspace_id=ws.id, name=f"Campaign {i}")
            for i in range(20)
        ]
        link_ids: list[str] = []
        groups: dict[str, tuple[str | None, str | None]] = {}
        for start in range(0, args.links, 500):
            specs = [
                LinkSpec(
                    url=f"https://shop.example.com/item/{i}",
                    channel=rng.choice(CHANNELS),
                    campaign_id=rng.choice(camps).id if rng.random() < 0.7 else None,
                    tags=[f"tag{rng.randrange(10)}"],
                )
                for i in range(start, min(args.links, start + 500))
            ]
            made = await service.create_links(
                tx, workspace=ws, domain=domain, specs=specs, actor="bench", rules=LinkRules()
            )
            for link in made:
                if not isinstance(link, Exception):
                    link_ids.append(link.id)
                    groups[link.id] = (link.channel, link.campaign_id)
        _, key = await create_api_key(
            tx, workspace=ws, name="bench", scopes=frozenset({Scope.STATS_READ}), created_by=None
        )
    await engine.dispose()

    today = datetime.now(ZoneInfo(args.timezone)).date()
    first_local = datetime.combine(today - timedelta(days=args.days - 1), datetime.min.time())
    first_hour = int(first_local.replace(tzinfo=ZoneInfo(args.timezone)).timestamp() // 3600)
    gen = Generator(
        ws=ws.id,
        links=link_ids,
        first_hour=first_hour,
        hours=args.days * 24,
        clicks=args.clicks,
        groups=groups,
    )
    loader: Loader
    if url.startswith("sqlite"):
        loader = SqliteLoader(Path(url.removeprefix("sqlite:///")))
    else:
        loader = PgLoader(await asyncpg.connect(url.replace("postgresql://", "postgres://")))
    counts: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for i in range(len(link_ids)):
        for table, rows in gen.link(i).items():
            await loader.write(table, rows)
            counts[table] += len(rows)
    for table, rows in gen.workspace().items():
        await loader.write(table, rows)
        counts[table] += len(rows)
    await loader.finish()
    print(
        f"  loaded rollups of {gen.total:,} clicks in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{t.removeprefix('rollup_')} {n:,}" for t, n in counts.items())
    )
    ranked = [lid for _, lid in sorted(zip(gen.per_link, link_ids, strict=True), reverse=True)]
    return key, ranked, first_hour


def wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    port: int, key: str, links: list[str], args: argparse.Namespace
) -> dict[str, list[float]]:
    tz = ZoneInfo(args.timezone)
    today = datetime.now(tz).date()
    params = {
        "from": (today - timedelta(days=args.days - 1)).isoformat(),
        "to": today.isoformat(),
        "granularity": "hour",
    }
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(3)
    out: dict[str, list[float]] = {"workspace": [], "link": []}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for name in out:
            for i in range(args.requests + 5):
                url = (
                    "/api/v1/stats/workspace"
                    if name == "workspace"
                    else f"/api/v1/stats/link/{rng.choice(links[:100])}"
                )
                t0 = time.perf_counter()
                r = await http.get(url, params=params, headers=headers)
                elapsed = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                body = r.json()
                assert len(body["series"]) == args.days * 24, len(body["series"])
                if i >= 5:  # the first few warm caches and connections
                    out[name].append(elapsed)
            if name == "workspace":
                print(
                    f"  workspace totals: pv {body['totals']['pv']:,},"
                    f" human {body['totals']['human_pv']:,}, uv {body['totals']['uv']:,}"
                )
    return out


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, list[float]]:
    tmp = Path(tempfile.mkdtemp(prefix="hoplink-bench-"))
    pg_name = f"hoplink_bench_{secrets.token_hex(4)}"
    admin = PG_ADMIN.replace("postgresql://", "postgres://")
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'hoplink.db'}"
    else:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{pg_name}"')
        await conn.close()
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{pg_name}"
    print(f"{backend}:")
    proc: subprocess.Popen[bytes] | None = None
    try:
        key, links, _ = await prepare(url, tmp, args)
        port = free_port()
        env = {
            **os.environ,
            "HOPLINK_DATABASE_URL": url,
            "HOPLINK_DATA_DIR": str(tmp),
            "HOPLINK_LOG_LEVEL": "warning",
        }
        code = SERVER.format(port=port)
        proc = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-c", code], env=env)
        await asyncio.to_thread(wait_for, port, proc)
        return await measure(port, key, links, args)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if backend != "sqlite":
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()
        await asyncio.to_thread(shutil.rmtree, tmp, True)


def report(backend: str, results: dict[str, list[float]]) -> Iterator[str]:
    for name, times in results.items():
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        verdict = "ok" if p95 <= 100 else "OVER TARGET"
        yield (
            f"{backend:<10} {name:<9} n={len(times):<3} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
            f"  max {max(times):6.1f} ms  ({verdict}: p95 <= 100 ms)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clicks", type=int, default=10_000_000)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--timezone", default="Asia/Shanghai")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    lines: list[str] = []
    for backend in backends:
        lines += report(backend, await run_backend(backend, args))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"\n30-day hourly series + all breakdowns, {args.clicks:,} clicks, {args.links} links,"
        f" zone {args.timezone} ({stamp}):"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
