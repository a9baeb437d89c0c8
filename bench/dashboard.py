"""Dashboard server time: the links page and the workspace analytics page at 100,000 links
and rollups worth 10 M clicks (30 days, one workspace). Target: p95 < 200 ms per page.

On SQLite (a temporary data dir) and on PostgreSQL (a fresh database
``hoplink_bench_<rand>`` it creates and drops on 127.0.0.1:5432): links are created through
``create_links`` in chunks of 1,000 (stamped 120 to 60 days ago, so each link's all-time
total in the list spans its whole history), rollup rows are written directly as the worker
would have (``bench/stats.py``'s mix and loaders), an owner signs in with httpx (sign-in
form, CSRF token), and hoplink runs under uvicorn in a subprocess (no embedded worker).

Pages: the links list (first page, newest first), the list searched for "summer" (one link
in eight) at page 50, and the workspace analytics page over its default range (7 days) and
30 days. Each is fetched 3 times to warm up, then ``--requests`` times; the figure is the
wall time of the HTTP request on loopback, with the size of the response.

The per-link dimension tables (``rollup_link_dim_*``) are left empty unless ``--link-dims``:
neither page reads them, and they would hold ~50 M rows, most of a run's time.

    .venv/bin/python bench/dashboard.py [--only sqlite|postgresql] [--links 100000]
        [--clicks 10000000] [--days 30] [--requests 30] [--link-dims]
        [--keep | --reuse DIR | --drop DIR]   (keep the data to measure it again)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy import text
from stats import (
    CHANNELS,
    MIX,
    PG_ADMIN,
    SERVER,
    Generator,
    Loader,
    PgLoader,
    SqliteLoader,
    free_port,
    percentile,
    split,
    wait_for,
)

from hoplink.accounts.users import add_member, create_user
from hoplink.config import load_settings
from hoplink.domains import ensure_default_domain
from hoplink.links import campaigns, service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage import migrate
from hoplink.storage.database import Database, create_engine
from hoplink.workspaces.models import Role, WorkspaceStatus
from hoplink.workspaces.service import create_workspace

TARGET_MS = 200
CHUNK = 1000
EMAIL = "owner@bench.example.com"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
COLLECTIONS = [
    "Summer sale",
    "Winter drop",
    "Spring look",
    "Autumn edit",
    "Flash deal",
    "New arrival",
    "Best seller",
    "Clearance",
]
PRODUCTS = ["dress", "sneakers", "phone case", "lamp", "backpack", "watch", "mug", "jacket"]
SEARCH = "summer"  # matches one title in eight: 12,500 links, 250 pages of 50


def proportional(n: int, mix: list[tuple[str, float]]) -> list[tuple[str, int]]:
    """Split n over a mix by largest remainder (workspace totals: no sampling noise)."""
    total = sum(w for _, w in mix)
    exact = [(v, n * w / total) for v, w in mix]
    out = {v: int(x) for v, x in exact}
    left = n - sum(out.values())
    for v, _ in sorted(exact, key=lambda p: p[1] - int(p[1]), reverse=True)[:left]:
        out[v] += 1
    return [(v, c) for v, c in out.items() if c]


class SparseGenerator(Generator):
    """``stats.Generator`` for many links with few clicks each: a link's clicks are drawn
    onto hours in one go (weighted by the daily rhythm) instead of one draw per hour, and
    the workspace breakdowns are split from the workspace hours."""

    def __init__(self, *, link_dims: bool, **kw: Any) -> None:
        super().__init__(**kw)
        self.link_dims = link_dims
        self.hour_range = range(self.first_hour, self.first_hour + self.hours)
        self.cum = list(accumulate(self.rhythm[h % 24] for h in self.hour_range))

    def link(self, i: int) -> dict[str, list[tuple[Any, ...]]]:
        link, ws, rng = self.links[i], self.ws, self.rng
        expected = self.per_link[i]
        n_link = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        per_hour = Counter(rng.choices(self.hour_range, cum_weights=self.cum, k=n_link))
        hours: list[tuple[Any, ...]] = []
        days: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        dims_h: list[tuple[Any, ...]] = []
        dims_d: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for h in sorted(per_hour):
            n = per_hour[h]
            bots, human = self.count_hour(link, h, n, hours, days)
            if not self.link_dims:
                continue
            for dim, mix in MIX.items():
                for value, pv in split(n, mix, rng):
                    hp = 0 if value == "bot" else round(pv * human / n)
                    uv = round(hp * 0.6)
                    dims_h.append((link, h, dim, value, ws, pv, hp, uv))
                    acc = dims_d[(h // 24, dim, value)]
                    acc[0] += pv
                    acc[1] += hp
                    acc[2] += uv
            if bots:
                dims_h.append((link, h, "bot", "Facebook preview", ws, bots, 0, 0))
                dims_d[(h // 24, "bot", "Facebook preview")][0] += bots
        return {
            "rollup_link_hours": hours,
            "rollup_link_days": [(link, d, ws, *v) for d, v in sorted(days.items())],
            "rollup_link_dim_hours": dims_h,
            "rollup_link_dim_days": [
                (link, d, dim, value, ws, *v) for (d, dim, value), v in sorted(dims_d.items())
            ],
        }

    def workspace(self) -> dict[str, list[tuple[Any, ...]]]:
        self.ws_dims.clear()
        for h, (n, human, _uvd, _uvh) in self.ws_hours.items():
            for dim, mix in MIX.items():
                for value, pv in proportional(n, mix):
                    hp = 0 if value == "bot" else round(pv * human / n)
                    self.ws_dims[(h, dim, value)] = [pv, hp, round(hp * 0.6)]
            if n > human:
                self.ws_dims[(h, "bot", "Facebook preview")] = [n - human, 0, 0]
        return super().workspace()


class Buffered:
    """Batches rows per table: one COPY per 50,000 rows rather than one per link."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        buf = self.rows[table]
        buf += rows
        self.counts[table] += len(rows)
        if len(buf) >= 50_000:
            await self.loader.write(table, buf)
            buf.clear()

    async def finish(self) -> None:
        for table, buf in self.rows.items():
            if buf:
                await self.loader.write(table, buf)
        await self.loader.finish()


class SecondaryIndexes:
    """Indexes other than the primary key, dropped for a bulk load and made again after
    (one sort instead of millions of random inserts), from their own stored DDL."""

    def __init__(self, url: str, ddl: list[str]) -> None:
        self.url, self.ddl = url, ddl

    @classmethod
    async def drop(cls, url: str, tables: list[str]) -> SecondaryIndexes:
        if url.startswith("sqlite"):
            db = sqlite3.connect(url.removeprefix("sqlite:///"))
            found = [
                (name, sql)
                for name, table, sql in db.execute(
                    "SELECT name, tbl_name, sql FROM sqlite_master"
                    " WHERE type = 'index' AND sql IS NOT NULL"
                )
                if table in tables
            ]
            for name, _ in found:
                db.execute(f'DROP INDEX "{name}"')
            db.commit()
            db.close()
        else:
            conn = await asyncpg.connect(url.replace("postgresql://", "postgres://"))
            found = await conn.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_index x"
                " ON x.indexrelid = (quote_ident(i.indexname))::regclass"
                " WHERE i.tablename = ANY($1::text[]) AND NOT x.indisprimary",
                tables,
            )
            for name, _ in found:
                await conn.execute(f'DROP INDEX "{name}"')
            await conn.close()
        return cls(url, [sql for _, sql in found])

    async def create(self) -> None:
        if self.url.startswith("sqlite"):
            db = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            for sql in self.ddl:
                db.execute(sql)
            db.commit()
            db.close()
        else:
            conn = await asyncpg.connect(self.url.replace("postgresql://", "postgres://"))
            for sql in self.ddl:
                await conn.execute(sql)
            await conn.close()


# --- preparing the data ---------------------------------------------------------------------


async def create_data(
    url: str, data_dir: Path, password: str, args: argparse.Namespace
) -> tuple[str, dict[str, tuple[str | None, str | None]]]:
    """Schema, workspace, owner, links; returns (workspace slug, each link id's channel and
    campaign id)."""
    settings = load_settings(database_url=url, data_dir=data_dir)
    engine = create_engine(settings.database_url_async)
    await migrate.upgrade(engine)
    db = Database(engine)
    rng = random.Random(1)
    started = time.perf_counter()
    async with db.transaction() as tx:
        ws = await create_workspace(
            tx, name="Bench Store", timezone=args.timezone, status=WorkspaceStatus.VERIFIED
        )
        user = await create_user(tx, email=EMAIL, password=password)
        await add_member(tx, user=user, workspace=ws, role=Role.OWNER)
        domain = await ensure_default_domain(tx, settings.domain)
        camps = [
            (await campaigns.create_campaign(tx, workspace_id=ws.id, name=f"Campaign {i}")).id
            for i in range(50)
        ]
    # Links were made over time: chunk k is stamped 120 → 60 days ago (oldest first).
    now = datetime.now(UTC).replace(microsecond=0)
    chunks = -(-args.links // CHUNK)
    link_ids: dict[str, tuple[str | None, str | None]] = {}
    for k, start in enumerate(range(0, args.links, CHUNK)):
        stamp = now - timedelta(days=120) + timedelta(days=60) * k / max(1, chunks - 1)
        specs = [
            LinkSpec(
                url=f"https://shop.example.com/item/{i}?sku={rng.randrange(10**6)}",
                title=f"{rng.choice(COLLECTIONS)} {rng.choice(PRODUCTS)} #{i}",
                channel=rng.choice(CHANNELS),
                campaign_id=rng.choice(camps) if rng.random() < 0.7 else None,
                tags=[f"tag{rng.randrange(40)}" for _ in range(rng.randrange(3))],
            )
            for i in range(start, min(args.links, start + CHUNK))
        ]
        with patch.object(service, "utcnow", lambda stamp=stamp: stamp):
            async with db.transaction() as tx:
                made = await service.create_links(
                    tx, workspace=ws, domain=domain, specs=specs, actor="bench", rules=LinkRules()
                )
                if not db.is_sqlite and k % 10 == 9:
                    # What autovacuum does as a table grows (it is off on the test server):
                    # plans made for an empty links table would scan it for every code.
                    await tx.conn.execute(text("ANALYZE links, link_tags, tags"))
        link_ids |= {
            link.id: (link.channel, link.campaign_id)
            for link in made
            if not isinstance(link, Exception)
        }
    await engine.dispose()
    assert len(link_ids) == args.links, len(link_ids)
    print(f"  created {len(link_ids):,} links in {time.perf_counter() - started:.0f} s")
    return ws.slug, link_ids


async def load_rollups(
    url: str, ws_id: str, links: dict[str, tuple[str | None, str | None]], args: argparse.Namespace
) -> None:
    today = datetime.now(ZoneInfo(args.timezone)).date()
    first_local = datetime.combine(today - timedelta(days=args.days - 1), datetime.min.time())
    first_hour = int(first_local.replace(tzinfo=ZoneInfo(args.timezone)).timestamp() // 3600)
    # Up to the current hour (the default 7-day range ends now, not at midnight).
    hours = min(args.days * 24, int(time.time() // 3600) + 1 - first_hour)
    gen = SparseGenerator(
        ws=ws_id,
        links=sorted(links),  # rows then arrive in primary-key order: appended, not inserted
        first_hour=first_hour,
        hours=hours,
        clicks=args.clicks,
        link_dims=args.link_dims,
        groups=links,  # channel and campaign rows of the workspace breakdowns
    )
    started = time.perf_counter()
    indexes = await SecondaryIndexes.drop(url, ["rollup_link_hours", "rollup_link_days"])
    inner: Loader
    if url.startswith("sqlite"):
        inner = SqliteLoader(Path(url.removeprefix("sqlite:///")))
    else:
        inner = PgLoader(await asyncpg.connect(url.replace("postgresql://", "postgres://")))
    loader = Buffered(inner)
    for i in range(len(links)):
        for table, rows in gen.link(i).items():
            await loader.write(table, rows)
    for table, rows in gen.workspace().items():
        await loader.write(table, rows)
    await loader.finish()
    await indexes.create()
    print(
        f"  loaded rollups of {gen.total:,} clicks in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{t.removeprefix('rollup_')} {n:,}" for t, n in loader.counts.items())
    )


async def workspace_id(url: str, data_dir: Path, slug: str) -> str:
    settings = load_settings(database_url=url, data_dir=data_dir)
    engine = create_engine(settings.database_url_async)
    try:
        async with Database(engine).transaction(write=False) as tx:
            ws = await tx.workspaces.find(slug)
            assert ws is not None
            return ws.id
    finally:
        await engine.dispose()


# --- measuring ------------------------------------------------------------------------------


async def sign_in(http: httpx.AsyncClient, password: str) -> None:
    page = await http.get("/app/signin")
    match = TOKEN.search(page.text)
    assert match, "no CSRF token on the sign-in page"
    r = await http.post(
        "/app/signin",
        data={"email": EMAIL, "password": password, "csrf_token": match.group(1)},
    )
    assert r.status_code == 303, (r.status_code, r.text[:300])


def pages(slug: str, links: int) -> dict[str, tuple[str, dict[str, str], str]]:
    """name → (path, query, a marker the page must contain)."""
    base = f"/app/w/{slug}"
    page = str(min(50, max(1, links // len(COLLECTIONS) // 50)))  # 50 at 100,000 links
    return {
        "links": (f"{base}/links", {}, "#"),
        f"links q={SEARCH} p{page}": (f"{base}/links", {"q": SEARCH, "page": page}, "Summer sale"),
        "analytics 7d (default)": (f"{base}/analytics", {}, "<svg"),
        "analytics 30d": (f"{base}/analytics", {"range": "30d"}, "<svg"),
    }


Results = tuple[dict[str, list[float]], dict[str, int]]


async def measure(port: int, slug: str, password: str, args: argparse.Namespace) -> Results:
    """Per page: the measured times (ms) and the size of the last response (bytes)."""
    out: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        await sign_in(http, password)
        for name, (path, params, marker) in pages(slug, args.links).items():
            times: list[float] = []
            for i in range(args.requests + 3):
                t0 = time.perf_counter()
                r = await http.get(path, params=params)
                elapsed = (time.perf_counter() - t0) * 1000
                assert r.status_code == 200, (name, r.status_code, r.text[:500])
                assert marker in r.text, (name, "missing", marker)
                if i >= 3:  # warm-ups: caches, connections, template compilation
                    times.append(elapsed)
            out[name] = times
            sizes[name] = len(r.content)
            median = statistics.median(times)
            print(f"  {name}: {len(r.content) / 1024:.0f} KiB, median {median:.0f} ms")
    return out, sizes


async def run_backend(backend: str, args: argparse.Namespace) -> Results:
    admin = PG_ADMIN.replace("postgresql://", "postgres://")
    kept = Path(args.reuse) / "bench.json" if args.reuse else None
    if kept is not None:  # the data of an earlier --keep run
        meta = json.loads(kept.read_text())
        tmp, url, slug, password = Path(args.reuse), meta["url"], meta["slug"], meta["password"]
        args.links = meta.get("links", args.links)
        pg_name = url.rsplit("/", 1)[1]
    else:
        tmp = Path(tempfile.mkdtemp(prefix="hoplink-bench-"))
        pg_name = f"hoplink_bench_{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)  # the bench owner's, for this run only
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
        if kept is None:
            slug, links = await create_data(url, tmp, password, args)
            await load_rollups(url, await workspace_id(url, tmp, slug), links, args)
            if args.keep:
                meta = {"url": url, "slug": slug, "password": password, "links": args.links}
                (tmp / "bench.json").write_text(json.dumps(meta))
                print(f"  kept: --reuse {tmp} (drop it with --drop {tmp})")
        else:
            await upgrade(url, tmp)
        port = free_port()
        env = {
            **os.environ,
            "HOPLINK_DATABASE_URL": url,
            "HOPLINK_DATA_DIR": str(tmp),
            "HOPLINK_LOG_LEVEL": "warning",
            "HOPLINK_EMBEDDED_WORKER": "false",
        }
        code = SERVER.format(port=port)
        proc = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-c", code], env=env)
        await asyncio.to_thread(wait_for, port, proc)
        if args.pause:
            print(f"  server pid {proc.pid} on port {port}; press Enter to measure", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        return await measure(port, slug, password, args)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if not (args.keep or args.reuse):
            await drop(backend, pg_name, tmp)


async def drop(backend: str, pg_name: str, tmp: Path) -> None:
    if backend != "sqlite":
        conn = await asyncpg.connect(PG_ADMIN.replace("postgresql://", "postgres://"))
        await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        await conn.close()
    await asyncio.to_thread(shutil.rmtree, tmp, True)


async def upgrade(url: str, data_dir: Path) -> None:
    """A kept database gets the migrations added since (e.g. a new index)."""
    engine = create_engine(load_settings(database_url=url, data_dir=data_dir).database_url_async)
    await migrate.upgrade(engine)
    await engine.dispose()


def report(backend: str, results: dict[str, list[float]], sizes: dict[str, int]) -> Iterator[str]:
    for name, times in results.items():
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        verdict = "ok" if p95 < TARGET_MS else "OVER TARGET"
        yield (
            f"{backend:<10} {name:<24} n={len(times):<3} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
            f"  max {max(times):6.1f} ms  {sizes[name] / 1024:5.0f} KiB"
            f"  ({verdict}: p95 < {TARGET_MS} ms)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--clicks", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--timezone", default="Asia/Shanghai")
    parser.add_argument(
        "--link-dims", action="store_true", help="also fill rollup_link_dim_* (slow)"
    )
    parser.add_argument(
        "--pause", action="store_true", help="wait for Enter before measuring (to attach py-spy)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data for --reuse")
    parser.add_argument("--reuse", metavar="DIR", help="measure the data an earlier --keep left")
    parser.add_argument("--drop", metavar="DIR", help="delete the data an earlier --keep left")
    args = parser.parse_args()
    if args.drop:
        url = json.loads((Path(args.drop) / "bench.json").read_text())["url"]
        backend = "sqlite" if url.startswith("sqlite") else "postgresql"
        await drop(backend, url.rsplit("/", 1)[1], Path(args.drop))
        return
    if args.reuse:
        url = json.loads((Path(args.reuse) / "bench.json").read_text())["url"]
        args.only = "sqlite" if url.startswith("sqlite") else "postgresql"
    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    lines: list[str] = []
    started = time.perf_counter()
    for backend in backends:
        lines += report(backend, *await run_backend(backend, args))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"\nDashboard pages, {args.links:,} links, rollups of {args.clicks:,} clicks over"
        f" {args.days} days, zone {args.timezone}, {os.cpu_count()} CPUs ({stamp},"
        f" run {time.perf_counter() - started:.0f} s):"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
