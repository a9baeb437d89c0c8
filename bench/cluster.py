"""Production mode vs embedded mode under the same load, with every 302 accounted for.

(a) production: PostgreSQL (a fresh database this script creates and drops) + Redis (a key
    prefix of its own on HOPLINK_TEST_REDIS_URL), ``hoplink serve --workers 2`` and one
    ``hoplink worker`` process, all as separate processes, exactly as deployed;
(b) embedded: ``hoplink serve`` on a SQLite file with its click worker (a child process
    since issue 17).

Each gets the same links and a sequential warm-up over every code; once its clicks are
counted, a steady open-loop load (``--steady-rate`` requests/s, below what the worker
absorbs), then wrk with 64 connections on random codes (a mobile browser's headers), as
fast as the web tier answers. During both a prober follows a link of its own every 0.25 s
and times how long until its click is in the database (the worker commits raw click and
rollups in one transaction, so that is when the stats API shows it): the end-to-end
click → stats lag, at a steady rate and at saturation (where it is the backlog's age).
After the load the script waits for the backlog to drain and checks that the clicks
counted equal the 302s received (wrk gives up on at most one request per connection when a
run ends; those may be counted too) and that the rollups' page views equal the raw clicks.

Production mode then measures a deploy (``--cold-duration`` s, 0 to skip): the web processes
are stopped and started again, and wrk drives random codes at once, as fast as they answer,
for the first minute; then the same again on the now warm processes, for the ratio. The
in-process caches start empty; ``--cold shared`` keeps the Redis link cache (a deploy while
links are in use: its TTL is minutes), ``--cold empty`` deletes it too (a deploy after a
quiet spell, or a Redis restart), ``both`` (the default) does one of each. Each process's
cache hits and misses are read from /metrics.

    .venv/bin/python bench/cluster.py [--links 10000] [--duration 20] [--connections 64]

Needs wrk (apt-get install -y wrk), PostgreSQL (HOPLINK_TEST_PG_URL) and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from redirect import FINAL_URL, HOST, USER_AGENT, Run, lua_script, wrk

PG_ADMIN = os.environ.get("HOPLINK_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HOPLINK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HOPLINK = str(Path(sys.executable).with_name("hoplink"))
PROBE_CODE = "lagprobe"
PROBE_EVERY = 0.25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgres://").replace(
        "postgresql://", "postgres://"
    )


# --- data ---------------------------------------------------------------------------------


async def store_links(url: str, count: int) -> tuple[list[str], str]:
    """Migrate the database at ``url`` and insert ``count`` links plus the lag probe's link on
    HOST; returns the codes and the probe's link id."""
    from hoplink.ids import new_id, random_base62, utcnow
    from hoplink.storage import migrate
    from hoplink.storage import tables as t
    from hoplink.storage.database import Database
    from hoplink.workspaces.models import WorkspaceStatus
    from hoplink.workspaces.service import create_workspace

    db = Database.from_url(url)
    await migrate.upgrade(db.engine)
    now = utcnow()
    domain_id = new_id("dom")
    async with db.transaction() as tx:
        ws = await create_workspace(tx, name="Bench Store", status=WorkspaceStatus.VERIFIED)
        await tx.conn.execute(
            t.domains.insert().values(
                id=domain_id, hostname=HOST, workspace_id=None, is_default=True, created_at=now
            )
        )
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(random_base62(7))
    ordered = sorted(codes)
    probe_id = new_id("lnk")
    for start in range(0, count + 1, 10_000):
        batch = [(new_id("lnk"), c, FINAL_URL.format(n=start + i)) for i, c in enumerate(
            ordered[start : start + 10_000]
        )]  # fmt: skip
        if start == 0:
            batch.append((probe_id, PROBE_CODE, FINAL_URL.format(n=9_999_999)))
        rows = [
            {
                "id": link_id, "workspace_id": ws.id, "domain_id": domain_id, "code": code,
                "destination_url": dest, "final_url": dest, "archived": False,
                "forward_query": False, "created_at": now, "updated_at": now,
            }
            for link_id, code, dest in batch
        ]  # fmt: skip
        if rows:
            async with db.transaction() as tx:
                await tx.conn.execute(t.links.insert(), rows)
    await db.dispose()
    return ordered, probe_id


@dataclass
class Counts:
    clicks: int
    distinct: int
    pv: int
    probe: int


class Store:
    """Reads what the worker wrote: raw clicks, distinct ids, rollup page views."""

    def __init__(self, url: str) -> None:
        self.url = url

    def counts(self, probe_id: str) -> Counts:
        sql_all = "SELECT count(*), count(DISTINCT click_id) FROM clicks"
        sql_pv = "SELECT coalesce(sum(pv), 0) FROM rollup_link_days"
        sql_probe = f"SELECT count(*) FROM clicks WHERE link_id = '{probe_id}'"  # noqa: S608
        if self.url.startswith("sqlite"):
            path = self.url.split(":///", 1)[1]
            with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
                clicks, distinct = conn.execute(sql_all).fetchone()
                (pv,) = conn.execute(sql_pv).fetchone()
                (probe,) = conn.execute(sql_probe).fetchone()
        else:

            async def read() -> tuple[int, int, int, int]:
                conn = await asyncpg.connect(pg(self.url))
                try:
                    a, b = await conn.fetchrow(sql_all)
                    return a, b, await conn.fetchval(sql_pv), await conn.fetchval(sql_probe)
                finally:
                    await conn.close()

            clicks, distinct, pv, probe = asyncio.run(read())
        return Counts(int(clicks), int(distinct), int(pv), int(probe))


# --- processes ----------------------------------------------------------------------------


@contextmanager
def process(args: list[str], env: dict[str, str], name: str) -> Iterator[subprocess.Popen[bytes]]:
    log = open(Path(env["HOPLINK_DATA_DIR"]) / f"{name}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([HOPLINK, *args], env={**os.environ, **env}, stdout=log, stderr=log)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def wait_listening(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 240
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the web server exited with {proc.returncode}; see its log")
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit("the web server did not start") from None
            time.sleep(0.2)


METRICS_TOKEN = secrets.token_urlsafe(16)
_CACHE_COUNTERS = re.compile(
    r"^(process_start_time_seconds|hoplink_redirect_cache_(?:hits|misses)"
    r"|hoplink_redis_link_cache_(?:hits|misses)|hoplink_click_sink_(?:added|pipelines))"
    r"(?:_total)? (\S+)$",
    re.M,
)


def cache_counts(url: str, processes: int, *, wait: float = 0.0) -> dict[str, dict[str, float]]:
    """Each web process's lookups so far, by its start time (new connections until each
    answered once, for up to ``wait`` s): in-process cache hits and misses, and the Redis
    link cache's (a miss there is a database load)."""
    seen: dict[str, dict[str, float]] = {}
    deadline = time.monotonic() + wait
    tries = 0
    while len(seen) < processes and (tries < 200 or time.monotonic() < deadline):
        tries += 1
        text = httpx.get(
            f"{url}/metrics",
            headers={"host": HOST, "authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        ).text
        found = {name: float(value) for name, value in _CACHE_COUNTERS.findall(text)}
        seen[str(found.pop("process_start_time_seconds", 0.0))] = found
        if tries >= 200:
            time.sleep(0.1)
    return seen


def counted_since(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, float]:
    """The lookups between two readings, summed over the processes (plus how many)."""
    totals: dict[str, float] = {"processes": float(len(after))}
    for process_id, found in after.items():
        earlier = before.get(process_id, {})
        for name, value in found.items():
            totals[name] = totals.get(name, 0.0) + value - earlier.get(name, 0.0)
    return totals


@dataclass
class ColdRun:
    """The first ``duration`` seconds after the web processes were started again."""

    name: str
    run: Run
    lookups: dict[str, float]  # cache counters over the run (cache_counts)
    started_in: float  # seconds from the start command until /healthz answered

    def misses(self) -> tuple[float, float]:
        """(in-process cache misses, Redis link cache misses: database loads)."""
        return (
            self.lookups.get("hoplink_redirect_cache_misses", 0.0),
            self.lookups.get("hoplink_redis_link_cache_misses", 0.0),
        )


# --- where the CPU goes -----------------------------------------------------------------------


def cpu_by_role(web: int, worker: int | None) -> dict[str, float]:
    """CPU seconds used so far by each role: the web server (with its worker processes),
    the click worker, Redis, PostgreSQL (from /proc) and the load generator."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid], names[pid] = int(fields[1]), name
        times[pid] = (int(fields[11]) + int(fields[12])) / tick

    def tree(root: int) -> float:
        total, todo = 0.0, [root]
        while todo:
            pid = todo.pop()
            total += times.get(pid, 0.0)
            todo.extend(p for p, parent in parents.items() if parent == pid)
        return total

    roles = {"web": tree(web)}
    if worker is not None:
        roles["worker"] = tree(worker)
    for role, prefix in (("redis", "redis-server"), ("postgres", "postgres")):
        roles[role] = sum(t for pid, t in times.items() if names[pid].startswith(prefix))
    # wrk has exited by the second reading: it is counted among this script's children.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    roles["wrk"] = children.ru_utime + children.ru_stime
    return roles


# --- the lag prober -------------------------------------------------------------------------


class ProbeCounter:
    """Counts the probe link's clicks over one connection kept open (polled every 10 ms)."""

    def __init__(self, url: str, probe_id: str) -> None:
        self.url, self.probe_id = url, probe_id
        self.sql = f"SELECT count(*) FROM clicks WHERE link_id = '{probe_id}'"  # noqa: S608
        self.sqlite: sqlite3.Connection | None = None
        self.pg: asyncpg.Connection | None = None

    async def open(self) -> None:
        if self.url.startswith("sqlite"):
            self.sqlite = sqlite3.connect(self.url.split(":///", 1)[1], timeout=30)
        else:
            self.pg = await asyncpg.connect(pg(self.url))

    async def count(self) -> int:
        if self.sqlite is not None:
            return int(self.sqlite.execute(self.sql).fetchone()[0])
        assert self.pg is not None
        return int(await self.pg.fetchval(self.sql))

    async def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()


@dataclass
class Prober:
    url: str
    db_url: str
    probe_id: str
    lags: list[float] = field(default_factory=list)
    sent: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        asyncio.run(self.main())

    async def main(self) -> None:
        counter = ProbeCounter(self.db_url, self.probe_id)
        await counter.open()
        headers = {"host": HOST, "user-agent": USER_AGENT}
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                while not self.stop.is_set():
                    before = await counter.count()
                    started = time.monotonic()
                    answer = await http.get(f"{self.url}/{PROBE_CODE}", headers=headers)
                    if answer.status_code == 302:
                        self.sent += 1
                        while await counter.count() <= before:
                            if time.monotonic() - started > 30:
                                break
                            await asyncio.sleep(0.01)
                        self.lags.append(time.monotonic() - started)
                    await asyncio.sleep(PROBE_EVERY)
        finally:
            await counter.close()


# --- steady load below saturation ----------------------------------------------------------


async def steady(url: str, codes: list[str], rate: float, duration: float) -> tuple[int, int]:
    """Open-loop load at ``rate`` requests/s over 16 keep-alive connections (raw HTTP/1.1, so
    the generator costs little CPU); returns (302s, other answers)."""
    host, port = url.removeprefix("http://").split(":")
    per_connection = rate / 16
    found = [0, 0]

    async def connection(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        started = time.monotonic()
        sent = 0
        try:
            while (now := time.monotonic()) - started < duration:
                due = started + sent / per_connection
                if due > now:
                    await asyncio.sleep(due - now)
                code = codes[(index * 7919 + sent) % len(codes)]
                writer.write(
                    f"GET /{code} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: {USER_AGENT}\r\n"
                    "Accept-Language: en-US\r\n\r\n".encode()
                )
                sent += 1
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                found[0 if head.startswith(b"HTTP/1.1 302") else 1] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(i) for i in range(16)))
    return found[0], found[1]


# --- one mode -------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    run: Run
    served: int
    lags: list[float]  # click -> stats under saturating load (the backlog's age)
    steady_lags: list[float]  # ... at the steady rate
    steady_other: int  # answers other than 302 during the steady phase
    drained_in: float
    counts: Counts
    tolerance: int
    cpu: dict[str, float]  # CPU seconds per role during the saturating run
    duration: float
    colds: list[ColdRun]  # after a restart of the web processes, and warm (production)
    sink: list[dict[str, float]]  # web counters over the steady phase, then saturation

    def ok(self) -> bool:
        extra = self.counts.clicks - self.served
        return (
            self.run.non_3xx == 0
            and self.steady_other == 0
            and self.counts.distinct == self.counts.clicks
            and self.counts.pv == self.counts.clicks
            and 0 <= extra <= self.tolerance
        )


def drain(store: Store, probe_id: str, served: int) -> float:
    """Wait until ``served`` clicks are counted (or nothing moves for 30 s); seconds taken."""
    started = time.monotonic()
    last, still = -1, time.monotonic()
    while True:
        clicks = store.counts(probe_id).clicks
        if clicks >= served:
            break
        if clicks != last:
            last, still = clicks, time.monotonic()
        elif time.monotonic() - still > 30:
            break
        time.sleep(0.1)
    return time.monotonic() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def measure(
    name: str,
    serve: list[str],
    env: dict[str, str],
    db_url: str,
    probe_id: str,
    codes: list[str],
    args: argparse.Namespace,
    worker: list[str] | None,
    *,
    cold: bool = False,
) -> Result:
    work = Path(env["HOPLINK_DATA_DIR"])
    store = Store(db_url)
    port = free_port()
    env = {**env, "HOPLINK_PORT": str(port)}
    url = f"http://127.0.0.1:{port}"
    random_lua = lua_script(work / "random.lua", codes)
    warm_lua = lua_script(work / "warm.lua", codes, sequential=True)
    served = runs = 0
    with contextlib.ExitStack() as stack:
        worker_proc = None
        if worker is not None:
            worker_proc = stack.enter_context(process(worker, env, "worker"))
        web_stack = stack.enter_context(contextlib.ExitStack())
        web = web_stack.enter_context(process(serve, env, "web"))
        wait_listening(url, web)
        while served < 2 * len(codes):
            warm = wrk(url, warm_lua, duration=3, connections=args.connections)
            served, runs = served + warm.requests - warm.non_3xx, runs + 1
        drain(store, probe_id, served)  # the warm-up's clicks, so the steady phase starts idle
        # Freshness below saturation: a steady rate the worker keeps up with.
        sink = [cache_counts(url, args.web_processes, wait=10)] if cold else []
        steady_prober = Prober(url, db_url, probe_id)
        thread = threading.Thread(target=steady_prober.run, daemon=True)
        thread.start()
        ok302, other = asyncio.run(steady(url, codes, args.steady_rate, args.steady_duration))
        steady_prober.stop.set()
        thread.join()
        served += ok302 + steady_prober.sent
        if cold:
            sink.append(cache_counts(url, args.web_processes, wait=10))
        # Saturation: as many redirects as the web tier answers.
        prober = Prober(url, db_url, probe_id)
        thread = threading.Thread(target=prober.run, daemon=True)
        thread.start()
        worker_pid = worker_proc.pid if worker_proc is not None else None
        cpu_before = cpu_by_role(web.pid, worker_pid)
        run = wrk(url, random_lua, duration=args.duration, connections=args.connections)
        cpu_after = cpu_by_role(web.pid, worker_pid)
        prober.stop.set()
        thread.join()
        cpu = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}
        if cold:
            sink.append(cache_counts(url, args.web_processes, wait=10))
        served += run.requests - run.non_3xx + prober.sent
        runs += 1
        drained_in = drain(store, probe_id, served)
        colds: list[ColdRun] = []
        if cold:
            for kind in ("shared", "empty") if args.cold == "both" else (args.cold,):
                # A deploy: the web processes stop, then start with empty caches.
                web_stack.close()
                if kind == "empty":
                    asyncio.run(redis_cleanup(env["HOPLINK_REDIS_KEY_PREFIX"] + "{lc}:"))
                started = time.monotonic()
                web = web_stack.enter_context(process(serve, env, f"web-{kind}"))
                wait_listening(url, web)
                # Every web process answers (they start one by one on a busy machine).
                cache_counts(url, args.web_processes, wait=60)
                started_in = time.monotonic() - started
                label = "Redis link cache kept" if kind == "shared" else "Redis link cache emptied"
                colds.append(first_minute(f"cold, {label}", url, random_lua, args, started_in))
                served += colds[-1].run.requests - colds[-1].run.non_3xx
                runs += 1
                if not any(c.name.startswith("warm") for c in colds):
                    before = cache_counts(url, args.web_processes, wait=10)
                    colds.append(
                        first_minute("warm, the same processes", url, random_lua, args, 0.0, before)
                    )
                    served += colds[-1].run.requests - colds[-1].run.non_3xx
                    runs += 1
            drain(store, probe_id, served)
    counts = store.counts(probe_id)  # after SIGTERM: the embedded worker drains on stop
    return Result(
        name,
        run,
        served,
        prober.lags,
        steady_prober.lags,
        other,
        drained_in,
        counts,
        runs * args.connections,
        cpu,
        args.duration,
        colds,
        [counted_since(a, b) for a, b in itertools.pairwise(sink)],
    )


def first_minute(
    name: str,
    url: str,
    script: Path,
    args: argparse.Namespace,
    started_in: float,
    before: dict[str, dict[str, float]] | None = None,
) -> ColdRun:
    """wrk at once for ``--cold-duration`` s; the caches' counters over it."""
    run = wrk(url, script, duration=args.cold_duration, connections=args.connections)
    after = cache_counts(url, args.web_processes, wait=10)
    return ColdRun(name, run, counted_since(before or {}, after), started_in)


def report(result: Result) -> None:
    r = result
    print(f"  {r.name}")
    print(
        f"    {r.run.rps:>9,.0f} redirects/s   p50 {r.run.p50_ms:6.2f} ms"
        f"   p99 {r.run.p99_ms:6.2f} ms   ({r.run.requests:,} responses,"
        f" {r.run.non_3xx} not 2xx/3xx, {r.run.socket_errors} socket errors)"
    )
    for label, lags in (("at the steady rate", r.steady_lags), ("at saturation", r.lags)):
        if lags:
            print(
                f"    click -> stats lag {label}: p50 {statistics.median(lags) * 1000:.0f} ms"
                f"   p99 {pct(lags, 0.99) * 1000:.0f} ms   max {max(lags) * 1000:.0f} ms"
                f"   ({len(lags)} probes)"
            )
    per_request = ", ".join(
        f"{role} {seconds / max(1, r.run.requests) * 1e6:.0f}" for role, seconds in r.cpu.items()
    )
    busy = sum(r.cpu.values()) / r.duration
    print(f"    CPU µs per redirect at saturation: {per_request} ({busy:.2f} of 2 cores busy)")
    for label, counters in zip(("steady rate", "saturation"), r.sink, strict=False):
        added = counters.get("hoplink_click_sink_added", 0.0)
        trips = counters.get("hoplink_click_sink_pipelines", 0.0)
        print(
            f"    clicks per XADD round-trip at the {label}: {added / max(1.0, trips):.1f}"
            f" ({added:,.0f} clicks, {trips:,.0f} round-trips, {counters['processes']:.0f}"
            " processes read)"
        )
    print(f"    backlog drained {r.drained_in:.1f} s after the load stopped")
    c = r.counts
    print(
        f"    302s received {r.served:,}; clicks counted {c.clicks:,} ({c.distinct:,} distinct"
        f" ids), rollup page views {c.pv:,}; counted but abandoned by wrk:"
        f" {c.clicks - r.served} (at most {r.tolerance})"
    )
    print("    every 302 counted once: yes" if r.ok() else "    CHECK FAILED")
    warm = next((c for c in r.colds if c.name.startswith("warm")), None)
    for c in r.colds:
        local, shared = c.misses()
        lookups = c.lookups.get("hoplink_redirect_cache_hits", 0.0) + local
        print(
            f"    {c.name} ({c.run.requests / max(1.0, c.run.rps):.0f} s"
            + (
                f", every process answering {c.started_in:.1f} s after the start"
                if c.started_in
                else ""
            )
            + f"): {c.run.rps:,.0f} redirects/s   p50 {c.run.p50_ms:.2f} ms"
            f"   p99 {c.run.p99_ms:.2f} ms; in-process cache misses {local:,.0f}"
            f" ({local / max(1.0, lookups):.2%} of lookups), database loads (Redis link"
            f" cache misses) {shared:,.0f}; {c.run.non_3xx} not 2xx/3xx"
            f" ({c.lookups['processes']:.0f} processes read)"
        )
        if warm is not None and c is not warm:
            print(
                f"      cost against warm: {warm.run.rps / max(1.0, c.run.rps):.2f}x the time"
                f" per redirect, {c.run.p99_ms / max(0.001, warm.run.p99_ms):.2f}x the p99"
            )


# --- main -----------------------------------------------------------------------------------


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(pg(PG_ADMIN))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def redis_cleanup(prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def production(args: argparse.Namespace, tmp: Path) -> Result:
    name = f"hoplink_bench_cluster_{secrets.token_hex(4)}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    db_url = f"{base}/{name}"
    prefix = f"hlbench:{secrets.token_hex(4)}:"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        codes, probe_id = asyncio.run(
            store_links(db_url.replace("postgresql://", "postgresql+asyncpg://"), args.links)
        )
        data = tmp / "production"
        data.mkdir()
        env = {
            "HOPLINK_DATABASE_URL": db_url,
            "HOPLINK_REDIS_URL": REDIS_URL,
            "HOPLINK_REDIS_KEY_PREFIX": prefix,
            "HOPLINK_DATA_DIR": str(data),
            "HOPLINK_DEFAULT_DOMAIN": HOST,
            "HOPLINK_SECRET_KEY": secrets.token_urlsafe(32),
            "HOPLINK_EMBEDDED_WORKER": "false",
            "HOPLINK_LOG_LEVEL": "warning",
            "HOPLINK_METRICS_TOKEN": METRICS_TOKEN,
        }
        return measure(
            f"(a) production: PostgreSQL + Redis, {args.web_processes} web processes + 1 worker",
            ["serve", "--workers", str(args.web_processes)],
            env,
            db_url,
            probe_id,
            codes,
            args,
            worker=["worker"],
            cold=args.cold_duration > 0 and args.cold != "none",
        )
    finally:
        asyncio.run(redis_cleanup(prefix))
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def embedded(args: argparse.Namespace, tmp: Path) -> Result:
    data = tmp / "embedded"
    data.mkdir()
    db_url = f"sqlite:///{data / 'hoplink.db'}"
    codes, probe_id = asyncio.run(
        store_links(db_url.replace("sqlite://", "sqlite+aiosqlite://"), args.links)
    )
    env = {
        "HOPLINK_DATABASE_URL": db_url,
        "HOPLINK_DATA_DIR": str(data),
        "HOPLINK_DEFAULT_DOMAIN": HOST,
        "HOPLINK_SECRET_KEY": secrets.token_urlsafe(32),
        "HOPLINK_LOG_LEVEL": "warning",
    }
    return measure(
        "(b) embedded: SQLite, `hoplink serve` (web process + its child worker process)",
        ["serve"],
        env,
        db_url,
        probe_id,
        codes,
        args,
        worker=None,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=20, help="seconds of measured load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--steady-rate", type=float, default=1000, help="requests/s")
    parser.add_argument("--steady-duration", type=float, default=10, help="seconds")
    parser.add_argument("--only", choices=["production", "embedded"])
    parser.add_argument(
        "--cold-duration", type=float, default=60, help="seconds after a restart (0: skip)"
    )
    parser.add_argument(
        "--cold",
        choices=["both", "shared", "empty", "none"],
        default="both",
        help="restart keeping the Redis link cache (shared), emptying it (empty), or both",
    )
    parser.add_argument("--keep", type=Path, help="directory to keep data and process logs in")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `apt-get install -y wrk` and try again.", file=sys.stderr)
        return 2
    print(
        f"{args.links:,} links, {args.connections} connections, {args.duration:g} s of random"
        f" codes after a warm-up over every code; {os.cpu_count()} CPUs shared by everything"
    )
    results = []
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = str(args.keep)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hoplink-cluster-"))
        if args.only in (None, "production"):
            results.append(production(args, Path(tmp)))
            report(results[-1])
        if args.only in (None, "embedded"):
            results.append(embedded(args, Path(tmp)))
            report(results[-1])
    return 0 if all(r.ok() for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
