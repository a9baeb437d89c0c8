"""Tier limits for docs/scaling.md: click-worker throughput per database, Redis XADD rate.

(1) One ``Worker`` drains a backlog of N clicks, as deployed: on SQLite (a fresh file) from
    a click journal (embedded mode), on PostgreSQL (a fresh ``hoplink_bench_<rand>``
    database on HOPLINK_TEST_PG_URL, dropped afterwards) from a Redis stream under a key
    prefix of its own (production mode). The clicks are written to the journal / stream
    first, then the worker runs (``Worker.run``: read, enrich, one transaction, ack) until
    all are consumed. ``--mix simple`` (the first version of this script): clicks over
    1,000 links and 20,000 visitors, five user agents. ``--mix realistic`` (default): 10,000
    links (Zipf-like: a few hot links take most clicks, as in a flash sale), 2,000 distinct
    user agents, 30 % of clicks from repeat visitors, 8 % bots (crawler agents and HEAD
    requests), a handful of referrers, languages and countries.
    Prints clicks/s, the worker process's CPU per click (SQLite's own work included: it
    runs in aiosqlite's thread; PostgreSQL's is not: it is printed apart, the CPU of the
    server's backends connected to the bench database, read from /proc), the number of
    batches and the batch time p50/p99. clicks/s is the drain rate of one worker: the web
    tier's redirects/s is the arrival rate to beat.
(2) XADD of click-sized entries (the JSON the edge sends, ~450 bytes) to a stream under a
    key prefix of its own on HOPLINK_TEST_REDIS_URL (deleted afterwards), one at a time and
    pipelined 64 per round trip, from one client process.

    .venv/bin/python bench/worker.py [--clicks 100000] [--batch 500]
        [--only sqlite|postgresql|redis] [--repeat 3] [--mix realistic|simple] [--dump FILE]
    .venv/bin/python bench/worker.py --only postgresql --workers 1,2 [--repeat 3]

``--workers 1,2`` (PostgreSQL): the scale-out check. The backlog is drained by N worker
*processes* (each a ``Worker`` consuming the stream as its own consumer of the group, as N
``hoplink worker`` do), started together; the time until every click is in the database
gives clicks/s, for each N in turn (alternating when repeated), and the ratio to one.
Several workers upsert the same rollup rows (one workspace's hours, its breakdowns): if
they serialised on those rows or deadlocked, the ratio would show it (a deadlock is also
logged by the worker as a retried batch, counted in "retries").

``--dump FILE`` writes, per table the worker fills (raw clicks, the eight rollups, the
seen-visitor sets), a SHA-256 of its rows in key order, ids replaced by stable names (link
→ its destination's number): the byte-identity check. The clicks are deterministic (seeded,
timestamps from the current UTC day), so a dump made by this script on another commit
(run it with that commit's interpreter: ``/work/main/.venv/bin/python bench/worker.py``)
on the same day must be equal, table by table, for the write design to be unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import multiprocessing
import os
import random
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import func, select

from hoplink.clicks.models import Click, ClickSource
from hoplink.domains import ensure_default_domain
from hoplink.ingest.journal import ClickJournal
from hoplink.ingest.redis_stream import ClickStream, RedisClickSource
from hoplink.ingest.worker import Worker
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.observability import metrics
from hoplink.storage import migrate
from hoplink.storage import tables as t
from hoplink.storage.database import Database
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import create_workspace

PG_ADMIN = os.environ.get("HOPLINK_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HOPLINK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.36.105;]",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
]


async def _links(db: Database, n: int) -> tuple[str, list[str]]:
    async with db.transaction() as tx:
        dom = await ensure_default_domain(tx, "hop.bench")
        ws = await create_workspace(tx, name="Bench", status=WorkspaceStatus.VERIFIED)
        specs = [LinkSpec(url=f"https://shop.example.com/item/{i}") for i in range(n)]
        made = []
        for i in range(0, n, 1000):  # the service's bulk limit
            made += await service.create_links(
                tx,
                workspace=ws,
                domain=dom,
                specs=specs[i : i + 1000],
                actor="bench",
                rules=LinkRules(),
            )
    return ws.id, [link.id for link in made if not isinstance(link, Exception)]


def _clicks(ws_id: str, link_ids: list[str], n: int) -> list[Click]:
    rnd = random.Random(7)
    start = time.time() - 3600
    return [
        Click(
            click_id=secrets.token_hex(16),
            ts=start + i * 3600 / n,
            link_id=rnd.choice(link_ids),
            workspace_id=ws_id,
            domain="hop.bench",
            method="GET",
            user_agent=rnd.choice(AGENTS),
            referrer=rnd.choice(["", "https://m.facebook.com/", "https://www.tiktok.com/"]),
            accept_language="en-US,en;q=0.9",
            country=rnd.choice(["US", "DE", "CN", "BR", None]),
            visitor_hash=f"{rnd.randrange(20_000):064x}",
        )
        for i in range(n)
    ]


BOT_AGENTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "python-requests/2.31.0",
    "curl/8.4.0",
]
REFERRERS = [
    "",
    "",
    "https://m.facebook.com/",
    "https://www.tiktok.com/",
    "https://t.co/x",
    "https://www.instagram.com/",
    "https://l.messenger.com/",
    "android-app://x",
]
LANGUAGES = [
    "en-US,en;q=0.9",
    "de-DE,de;q=0.9,en;q=0.8",
    "zh-CN,zh;q=0.9",
    "pt-BR,pt;q=0.9",
    "es-ES,es;q=0.9",
    "fr-FR,fr;q=0.9",
    "ja-JP",
    "",
]
COUNTRIES = ["US", "US", "DE", "CN", "BR", "GB", "FR", "ES", "JP", "MX", None]


def _realistic_agents(rnd: random.Random, n: int) -> list[str]:
    """``n`` distinct human agents: the common templates with varied versions/models."""
    out: set[str] = set()
    while len(out) < n:
        kind = rnd.randrange(4)
        if kind == 0:
            v = f"{rnd.randint(14, 17)}_{rnd.randint(0, 7)}"
            out.add(
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {v} like Mac OS X) AppleWebKit/605.1.15"
                f" (KHTML, like Gecko) Version/{v.split('_')[0]}.0 Mobile/15E148 Safari/604.1"
            )
        elif kind == 1:
            out.add(
                f"Mozilla/5.0 (Linux; Android {rnd.randint(10, 14)}; SM-A{rnd.randint(100, 999)}"
                f"B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{rnd.randint(100, 125)}.0."
                f"{rnd.randint(1000, 6000)}.{rnd.randint(10, 200)} Mobile Safari/537.36"
            )
        elif kind == 2:
            out.add(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
                f" Gecko) Chrome/{rnd.randint(100, 125)}.0.{rnd.randint(1000, 6000)}.0"
                " Safari/537.36"
            )
        else:
            out.add(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
                f" (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/{rnd.randint(400, 470)}.0.0."
                f"{rnd.randint(10, 60)}.{rnd.randint(10, 200)};]"
            )
    return sorted(out)


def _realistic_clicks(ws_id: str, link_ids: list[str], n: int) -> list[Click]:
    """Deterministic: ids from the seed, timestamps in an hour of yesterday (UTC), so two
    runs on one day write the same rows."""
    rnd = random.Random(17)
    start = (int(time.time()) // 86_400 - 1) * 86_400 + 10 * 3600  # yesterday 10:00 UTC
    agents = _realistic_agents(rnd, 2000 - len(BOT_AGENTS)) + BOT_AGENTS
    humans = agents[: -len(BOT_AGENTS)]
    # Zipf-like popularity: link i has weight 1/(i+1).
    weights = [1 / (i + 1) for i in range(len(link_ids))]
    links = rnd.choices(link_ids, weights=weights, k=n)
    returning: list[tuple[str, str, str | None]] = []
    out = []
    for i in range(n):
        bot = rnd.random() < 0.08
        if bot:
            vh, ua, country = f"{rnd.getrandbits(256):064x}", rnd.choice(BOT_AGENTS), "US"
        elif returning and rnd.random() < 0.30:
            vh, ua, country = rnd.choice(returning)
        else:
            vh, ua, country = (
                f"{rnd.getrandbits(256):064x}",
                rnd.choice(humans),
                rnd.choice(COUNTRIES),
            )
            if len(returning) < 50_000:
                returning.append((vh, ua, country))
        out.append(
            Click(
                click_id=f"{rnd.getrandbits(128):032x}",
                ts=start + i * 3600 / n,
                link_id=links[i],
                workspace_id=ws_id,
                domain="hop.bench",
                method="HEAD" if bot and rnd.random() < 0.25 else "GET",
                user_agent=ua,
                referrer=rnd.choice(REFERRERS),
                accept_language=rnd.choice(LANGUAGES),
                country=country,
                visitor_hash=vh,
            )
        )
    return out


DUMPED = [
    t.clicks,
    t.rollup_link_hours,
    t.rollup_link_days,
    t.rollup_workspace_hours,
    t.rollup_workspace_days,
    t.rollup_link_dim_hours,
    t.rollup_link_dim_days,
    t.rollup_workspace_dim_hours,
    t.rollup_workspace_dim_days,
    t.visitor_seen,
]


async def _dump(db: Database, ws_id: str) -> dict[str, str]:
    """SHA-256 per table of its rows in key order, link ids named by their destination's
    number and the workspace id by a constant (both are random per run)."""
    names: dict[Any, str] = {ws_id: "WS"}
    async with db.transaction(write=False) as tx:
        for link_id, url in await tx.conn.execute(select(t.links.c.id, t.links.c.destination_url)):
            names[link_id] = "L" + url.rsplit("/", 1)[1]
        digests = {}
        for table in DUMPED:
            cols = list(table.c)
            rows = []
            for row in await tx.conn.execute(select(*cols)):
                rows.append(tuple(names.get(v, v) if isinstance(v, str) else str(v) for v in row))
            rows.sort(key=repr)
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()[:16] + (
                f" ({len(rows)} rows)"
            )
    return digests


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _pg_backends_cpu(db: Database) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to this (bench-only)
    database: the server's share of the worker's work, read from /proc (the server runs on
    this machine). Other sessions' backends (other databases) are not counted."""
    async with db.transaction(write=False) as tx:
        pids = (
            await tx.conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            )
        ).scalars()
        return {int(pid): _proc_cpu(int(pid)) for pid in pids}


def _backends_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the backends used between two readings (new ones: all of theirs)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


async def _fill_journal(directory: Path, clicks: list[Click]) -> ClickJournal:
    journal = ClickJournal(directory)
    for click in clicks:
        journal.put(click)
    await journal.close()
    return ClickJournal(directory, write=False)


async def _fill_stream(redis: Redis, key: str, clicks: list[Click]) -> RedisClickSource:
    for i in range(0, len(clicks), 1000):
        pipe = redis.pipeline(transaction=False)
        for click in clicks[i : i + 1000]:
            pipe.xadd(key, {"c": click.to_json()})
        await pipe.execute()
    return RedisClickSource(ClickStream(redis=redis, key=key, group="bench"))


async def worker_rate(
    url: str,
    *,
    clicks: int,
    batch: int,
    tmp: Path,
    mix: str = "realistic",
    dump: Path | None = None,
) -> dict[str, float]:
    db = Database.from_url(url)
    redis: Redis | None = None
    journal: ClickJournal | None = None
    key = f"hlbench:{secrets.token_hex(4)}:clicks"
    try:
        await migrate.upgrade(db.engine)
        if mix == "simple":
            ws_id, link_ids = await _links(db, 1000)
            todo = _clicks(ws_id, link_ids, clicks)
        else:
            ws_id, link_ids = await _links(db, 10_000)
            todo = _realistic_clicks(ws_id, link_ids, clicks)
        source: ClickSource
        if db.is_sqlite:
            source = journal = await _fill_journal(tmp / "journal", todo)
        else:
            redis = Redis.from_url(REDIS_URL)
            source = await _fill_stream(redis, key, todo)
        del todo
        worker = Worker(db=db, source=source, batch_size=batch, purge_interval=1e9)
        times: list[float] = []
        observe = metrics.WORKER_BATCH_SECONDS.observe
        metrics.WORKER_BATCH_SECONDS.observe = times.append  # type: ignore[method-assign]
        # As the serving process and `hoplink worker` do after start-up.
        gc.collect()
        gc.freeze()
        try:
            backends = {} if db.is_sqlite else await _pg_backends_cpu(db)
            began, cpu = time.perf_counter(), time.process_time()
            await worker.start()
            while worker.counters.counts["received"] < clicks:  # noqa: ASYNC110 - a counter
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - began
            cpu = time.process_time() - cpu
            await worker.stop()
            server = 0.0 if db.is_sqlite else _backends_spent(backends, await _pg_backends_cpu(db))
        finally:
            metrics.WORKER_BATCH_SECONDS.observe = observe  # type: ignore[method-assign]
            gc.unfreeze()
        times.sort()
        if dump is not None:
            digests = await _dump(db, ws_id)
            text = json.dumps(digests, indent=1, sort_keys=True) + "\n"
            dump.write_text(text)  # noqa: ASYNC240 - once, after the measurement
            for name, digest in digests.items():
                print(f"  {name:<28} {digest}")
        figures = {
            "clicks/s": clicks / elapsed,
            "worker CPU µs/click": cpu / clicks * 1e6,  # this process (with aiosqlite's thread)
        }
        if not db.is_sqlite:
            figures["PostgreSQL CPU µs/click"] = server / clicks * 1e6
        return figures | {
            "batches": len(times),
            "batch p50 ms": statistics.median(times) * 1000,
            "batch p99 ms": times[int(len(times) * 0.99)] * 1000,
        }
    finally:
        if journal is not None:
            await journal.close()
        if redis is not None:
            await redis.delete(key)
            await redis.aclose()
        await db.dispose()


def _worker_process(
    url: str, key: str, consumer: str, batch: int, go: Any, done: Any, out: Any
) -> None:
    """One worker process of ``--workers``: consume the stream until ``done`` is set."""

    async def run() -> dict[str, float]:
        db = Database.from_url(url)
        redis = Redis.from_url(REDIS_URL)
        try:
            source = RedisClickSource(
                ClickStream(redis=redis, key=key, group="bench"), consumer=consumer
            )
            worker = Worker(db=db, source=source, batch_size=batch, purge_interval=1e9)
            gc.collect()
            gc.freeze()
            while not go.is_set():  # noqa: ASYNC110 - a multiprocessing event
                await asyncio.sleep(0.005)
            cpu = time.process_time()
            await worker.start()
            while not done.is_set():  # noqa: ASYNC110 - a multiprocessing event
                await asyncio.sleep(0.05)
            await worker.stop()
            counts = worker.counters.counts
            return {
                "cpu": time.process_time() - cpu,
                "written": counts["written"],
                "retries": counts.get("retries", 0),
            }
        finally:
            await redis.aclose()
            await db.dispose()

    out.put(asyncio.run(run()))


async def _count_clicks(db: Database) -> int:
    async with db.transaction(write=False) as tx:
        return int((await tx.conn.execute(select(func.count()).select_from(t.clicks))).scalar_one())


def workers_rate(url: str, *, clicks: int, batch: int, workers: int) -> dict[str, float]:
    """Drain a backlog of ``clicks`` with ``workers`` worker processes (see ``--workers``)."""
    key = f"hlbench:{secrets.token_hex(4)}:clicks"

    async def fill() -> None:
        db = Database.from_url(url)
        redis = Redis.from_url(REDIS_URL)
        try:
            await migrate.upgrade(db.engine)
            ws_id, link_ids = await _links(db, 10_000)
            await _fill_stream(redis, key, _realistic_clicks(ws_id, link_ids, clicks))
        finally:
            await redis.aclose()
            await db.dispose()

    async def wait_written() -> tuple[float, float]:
        """Seconds until every click is written, and the backends' CPU seconds meanwhile."""
        db = Database.from_url(url)
        try:
            backends = await _pg_backends_cpu(db)
            began = time.perf_counter()
            go.set()
            while await _count_clicks(db) < clicks:  # noqa: ASYNC110 - another process writes
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - began
            return elapsed, _backends_spent(backends, await _pg_backends_cpu(db))
        finally:
            await db.dispose()

    async def forget() -> None:
        redis = Redis.from_url(REDIS_URL)
        await redis.delete(key)
        await redis.aclose()

    asyncio.run(fill())
    ctx = multiprocessing.get_context("spawn")
    go, done, out = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker_process, args=(url, key, f"w{i}", batch, go, done, out))
        for i in range(workers)
    ]
    try:
        for proc in procs:
            proc.start()
        time.sleep(3.0)  # the processes import and connect
        elapsed, server = asyncio.run(wait_written())
        done.set()
        results = [out.get(timeout=120) for _ in procs]
    finally:
        done.set()
        for proc in procs:
            proc.join(timeout=60)
        asyncio.run(forget())
    return {
        "clicks/s": clicks / elapsed,
        "worker CPU µs/click": sum(r["cpu"] for r in results) / clicks * 1e6,
        "PostgreSQL CPU µs/click": server / clicks * 1e6,
        "cores busy": (sum(r["cpu"] for r in results) + server) / elapsed,
        "retries": sum(r["retries"] for r in results),
        "min share %": min(r["written"] for r in results) / clicks * 100,
    }


def _pg_workers(args: argparse.Namespace) -> None:
    """``--workers``: each count in turn, ``--repeat`` rounds; the median ratio to the first."""
    counts = [int(n) for n in args.workers.split(",")]
    rates: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(args.repeat):
        for n in counts:
            name = f"hoplink_bench_{secrets.token_hex(4)}"
            asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
            try:
                base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
                figures = workers_rate(
                    f"{base}/{name}", clicks=args.clicks, batch=args.batch, workers=n
                )
            finally:
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            rates[n].append(figures["clicks/s"])
            _print(f"  {n} worker(s)", figures)
    one = statistics.median(rates[counts[0]])
    for n in counts:
        median = statistics.median(rates[n])
        print(f"{n} worker(s): median {median:,.0f} clicks/s, {median / one:.2f}x {counts[0]}")


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def xadd_rate(n: int) -> dict[str, float]:
    sample = _clicks("ws_" + "x" * 20, ["lnk_" + "y" * 20], 1)[0].to_json()
    key = f"hlbench:{secrets.token_hex(4)}:clicks"
    client: Redis = Redis.from_url(REDIS_URL)
    try:
        t0 = time.perf_counter()
        for _ in range(n // 10):
            await client.xadd(key, {"c": sample})
        single = (n // 10) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(n // 64):
            pipe = client.pipeline(transaction=False)
            for _ in range(64):
                pipe.xadd(key, {"c": sample})
            await pipe.execute()
        piped = (n // 64 * 64) / (time.perf_counter() - t0)
        return {"entry bytes": len(sample), "XADD/s one by one": single, "XADD/s piped 64": piped}
    finally:
        await client.delete(key)
        await client.aclose()


def _print(name: str, figures: dict[str, Any]) -> None:
    shown = ", ".join(f"{k} {v:,.0f}" for k, v in figures.items())
    print(f"{name:<12} {shown}", flush=True)


def _sqlite_rate(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        return asyncio.run(
            worker_rate(
                url,
                clicks=args.clicks,
                batch=args.batch,
                tmp=Path(tmp),
                mix=args.mix,
                dump=_dump_path(args, "sqlite"),
            )
        )


def _dump_path(args: argparse.Namespace, backend: str) -> Path | None:
    return None if args.dump is None else Path(f"{args.dump}.{backend}.json")


def _pg_rate(args: argparse.Namespace) -> dict[str, float]:
    name = f"hoplink_bench_{secrets.token_hex(4)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        with tempfile.TemporaryDirectory() as tmp:
            return asyncio.run(
                worker_rate(
                    f"{base}/{name}",
                    clicks=args.clicks,
                    batch=args.batch,
                    tmp=Path(tmp),
                    mix=args.mix,
                    dump=_dump_path(args, "postgresql"),
                )
            )
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _median_run(name: str, run: Any, args: argparse.Namespace) -> None:
    """Run ``--repeat`` times (the machine is shared) and print each run and the median."""
    runs = []
    for _ in range(args.repeat):
        runs.append(run(args))
        if args.repeat > 1:
            _print(f"  {name}", runs[-1])
    median = sorted(runs, key=lambda r: r["clicks/s"])[len(runs) // 2]
    _print(name, median)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--only", choices=["sqlite", "postgresql", "redis"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per database; the median")
    parser.add_argument("--mix", choices=["realistic", "simple"], default="realistic")
    parser.add_argument("--dump", help="write per-table digests to DUMP.<backend>.json")
    parser.add_argument("--workers", help="PostgreSQL: worker processes to compare, e.g. 1,2")
    args = parser.parse_args()

    if args.workers:
        _pg_workers(args)
        return
    if args.only in (None, "sqlite"):
        _median_run("SQLite", _sqlite_rate, args)
    if args.only in (None, "postgresql"):
        _median_run("PostgreSQL", _pg_rate, args)
    if args.only in (None, "redis"):
        _print("Redis", asyncio.run(xadd_rate(args.clicks)))


if __name__ == "__main__":
    main()
