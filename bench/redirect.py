"""Redirect throughput and latency: hoplink vs a raw-ASGI dict-lookup 302, same server.

Both run as one uvicorn process (uvloop + httptools, access log off) pinned to CPU 0;
wrk, pinned to CPU 1, drives each in turn (alternating rounds, medians reported) with the
same Lua script (random codes out of N, a mobile browser's headers) on 64 connections.
hoplink runs with click capture on (embedded SQLite in a temporary data dir); after the
runs the server is stopped with SIGTERM and the journal is read back: every 302 wrk
received must be in it.

    .venv/bin/python bench/redirect.py [--links 10000] [--duration 10] [--rounds 3]
    .venv/bin/python bench/redirect.py --worker   # the embedded worker consumes meanwhile
    .venv/bin/python bench/redirect.py --memory [--stored 1000000] [--hot 100000]
    .venv/bin/python bench/redirect.py --rules   # links with 10 routing rules vs plain ones
    .venv/bin/python bench/redirect.py --rules --cpu [--requests 20000]   # in process

``--rules`` serves two sets of links from the same hoplink process: plain ones, and ones with
ten routing rules (conditions on in-app browser, OS, device, country, language, query
parameters and time) and a two-variant A/B test each; no rule matches the visitor
(Facebook's in-app browser on an iPhone), so every rule is evaluated and the A/B test
answers. The two are driven alternately and the cost per redirect is compared (target: at
most 10 % more).
    .venv/bin/python bench/redirect.py --query 'fbclid=IwAR...'  # what visitors append

``--query`` appends a query string to every request (both servers), e.g. an ad platform's
click id, which hoplink parses at the edge and journals with the click.

``--in-process`` drives both apps as ASGI callables in this process, without sockets or
wrk (alternating rounds of ``--requests`` each; the journal is written as in ``serve``):
the CPU cost of the redirect path alone, a figure that survives a machine too loaded for
wrk's runs to mean much.

``--memory`` stores 1 M links, requests 100 k distinct ones (filling the cache) and
reports the web process's RSS. Needs ``wrk`` (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

HOST = "hop.bench"
FINAL_URL = (
    "https://shop.example.com/item/1005006{n:07d}.html?spm=a2g0o.productlist.main.1"
    "&sku_id=12000036{n:07d}&aff_seller=S{n}&utm_source=facebook&utm_medium=social"
    "&utm_campaign=spring-sale"
)
# Facebook's in-app browser on an iPhone: the most common visitor of a shared link.
USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.40.97]"
)
LUA = """
local codes = {%(codes)s}
local sequential = %(sequential)s
local i = 0
wrk.headers["Host"] = "%(host)s"
wrk.headers["User-Agent"] = "%(user_agent)s"
wrk.headers["Accept-Language"] = "en-US,en;q=0.9"
wrk.headers["Referer"] = "https://m.facebook.com/"
request = function()
  local code
  if sequential then
    i = i + 1
    code = codes[(i - 1) %% #codes + 1]
  else
    code = codes[math.random(#codes)]
  end
  return wrk.format("GET", "/" .. code .. "%(query)s")
end
"""


# --- the baseline: the least a Python ASGI redirect can do --------------------------------

_BASELINE: dict[str, bytes] = {}


async def baseline_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                links = orjson.loads(Path(os.environ["BENCH_LINKS"]).read_bytes())  # noqa: ASYNC240 - once, at start-up
                _BASELINE.update({code: url.encode() for code, url in links.items()})
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    location = _BASELINE.get(scope["path"][1:])
    if location is None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
    else:
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [(b"location", location), (b"content-length", b"0")],
            }
        )
    await send({"type": "http.response.body", "body": b""})


# --- servers ---------------------------------------------------------------------------------


def _pinned(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() else []


@contextmanager
def server(app: str, env: dict[str, str], *, factory: bool) -> Iterator[tuple[str, int]]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    command = [
        *_pinned(0), sys.executable, "-m", "uvicorn", app, "--fd", str(sock.fileno()),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-proxy-headers",
        "--log-level", "warning", "--app-dir", str(Path(__file__).parent),
        *(["--factory"] if factory else []),
    ]  # fmt: skip
    proc = subprocess.Popen(command, env={**os.environ, **env}, pass_fds=[sock.fileno()])
    sock.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{app} exited with {proc.returncode}")
            try:
                httpx.get(f"{url}/-ready", headers={"host": HOST}, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{app} did not start") from None
                time.sleep(0.1)
        yield url, proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


# --- wrk -------------------------------------------------------------------------------------


@dataclass
class Run:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_3xx: int
    socket_errors: int

    def __str__(self) -> str:
        return (
            f"{self.rps:>9,.0f} req/s   p50 {self.p50_ms:6.2f} ms   p99 {self.p99_ms:6.2f} ms"
            f"   ({self.requests:,} responses, {self.non_3xx} not 2xx/3xx,"
            f" {self.socket_errors} socket errors)"
        )


def median_run(runs: list[Run]) -> Run:
    return Run(
        requests=sum(r.requests for r in runs),
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        non_3xx=sum(r.non_3xx for r in runs),
        socket_errors=sum(r.socket_errors for r in runs),
    )


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, script: Path, *, duration: float, connections: int) -> Run:
    command = [
        *_pinned(1), "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
        "--timeout", "5s", "-s", str(script), url,
    ]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    percentile = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", out, re.M))  # "1.67s " in seconds
    if "99" not in percentile:
        raise RuntimeError(f"wrk printed no latency distribution (overloaded machine?):\n{out}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_3xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Run(
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        # No distribution when no request completed (a server still starting up).
        p50_ms=_ms(percentile["50"]) if "50" in percentile else float("nan"),
        p99_ms=_ms(percentile["99"]) if "99" in percentile else float("nan"),
        non_3xx=int(non_3xx.group(1)) if non_3xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def lua_script(path: Path, codes: list[str], *, sequential: bool = False, query: str = "") -> Path:
    quoted = ",".join(f'"{c}"' for c in codes)
    suffix = f"?{query}" if query else ""
    values = {"codes": quoted, "host": HOST, "user_agent": USER_AGENT, "query": suffix}
    path.write_text(LUA % {**values, "sequential": str(sequential).lower()})
    return path


# --- data --------------------------------------------------------------------------------------


def bench_routing() -> str:
    """Ten rules no rule of which matches the benchmark's visitor (Facebook in-app on an
    iPhone, en-US), so each redirect evaluates all ten, then the A/B test splits."""
    from hoplink.links.routing import app_presets, validate_rule

    web = "https://shop.example.com/item/{n}"
    raw: list[dict[str, Any]] = [
        {"conditions": [{"type": "in_app", "values": ["tiktok", "instagram"]}]},
        {"conditions": [{"type": "country", "values": ["DE", "AT", "CH"]}]},
        {"conditions": [{"type": "language", "values": ["zh", "ja", "ko"]}]},
        {"conditions": [{"type": "query", "name": "src", "equals": "tiktok"}]},
        {"conditions": [{"type": "device", "values": ["desktop"]}]},
        {"match": "all", "conditions": [{"type": "os", "values": ["android"]},
                                        {"type": "in_app", "values": ["facebook"]}]},
        {"conditions": [{"type": "time", "start": "2020-01-01T00:00:00Z",
                         "end": "2020-02-01T00:00:00Z"}]},
        {"match": "any", "conditions": [{"type": "query", "name": "promo"},
                                        {"type": "country", "values": ["US", "GB"]}]},
        {"conditions": [{"type": "in_app", "values": ["wechat", "line"]}]},
        {"match": "all", "conditions": [{"type": "in_app", "values": ["facebook"]},
                                        {"type": "os", "values": ["ios"]},
                                        {"type": "device", "values": ["tablet"]}],
         "action": {"type": "app", "preset": "amazon", "url": "https://www.amazon.com/dp/B1"}},
    ]  # fmt: skip
    rules = [
        validate_rule(
            {"action": {"type": "url", "url": web.format(n=i)}, **r},
            default_url=web.format(n=0),
            check=lambda _url, _field: None,
            presets=app_presets(),
        )
        for i, r in enumerate(raw)
    ]
    # And an A/B test, which answers the visitors no rule claimed: the benchmark's visitor.
    ab = {
        "id": "abt_bench",
        "started_at": "2026-12-01T00:00:00+00:00",
        "variants": [
            {"id": "var_benchcontrol0000", "url": None, "weight": 50},
            {"id": "var_benchvariantB000", "url": web.format(n=99), "weight": 50},
        ],
    }
    return orjson.dumps({"rules": [r.to_json() for r in rules], "ab": ab}).decode()


async def store_links(work: Path, count: int, *, routed: int = 0) -> dict[str, str]:
    """Migrate a SQLite file and insert ``count`` links on HOST (fast path: core inserts);
    the last ``routed`` of them with ``bench_routing()``'s ten rules."""
    from hoplink.ids import new_id, random_base62, utcnow
    from hoplink.storage import migrate
    from hoplink.storage import tables as t
    from hoplink.storage.database import Database
    from hoplink.workspaces.models import WorkspaceStatus
    from hoplink.workspaces.service import create_workspace

    db = Database.from_url(f"sqlite+aiosqlite:///{work / 'hoplink.db'}")
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
    links: dict[str, str] = {}
    while len(links) < count:
        links[random_base62(7)] = FINAL_URL.format(n=len(links))
    items = list(links.items())
    routing = bench_routing() if routed else None
    for start in range(0, count, 20_000):
        rows = [
            {
                "id": new_id("lnk"), "workspace_id": ws.id, "domain_id": domain_id, "code": code,
                "destination_url": url, "final_url": url, "archived": False,
                "forward_query": False, "created_at": now, "updated_at": now,
                "routing": routing if start + i >= count - routed else None,
            }
            for i, (code, url) in enumerate(items[start : start + 20_000])
        ]  # fmt: skip
        async with db.transaction() as tx:
            await tx.conn.execute(t.links.insert(), rows)
    await db.dispose()
    return links


def hoplink_env(work: Path, *, worker: bool = False) -> dict[str, str]:
    return {
        "HOPLINK_DATABASE_URL": f"sqlite:///{work / 'hoplink.db'}",
        "HOPLINK_DATA_DIR": str(work / "data"),
        "HOPLINK_DEFAULT_DOMAIN": HOST,
        "HOPLINK_SECRET_KEY": secrets.token_urlsafe(32),
        # Without the worker the journal keeps every click, and they are counted there;
        # with it (--worker) they are counted in the database after it has drained.
        "HOPLINK_EMBEDDED_WORKER": str(worker).lower(),
    }


def stored_clicks(work: Path) -> tuple[int, int]:
    """(rows, distinct click ids) in the clicks table the worker writes."""
    with contextlib.closing(sqlite3.connect(work / "hoplink.db")) as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT click_id) FROM clicks"
        ).fetchone()
    return int(rows), int(distinct)


async def journaled(data_dir: Path) -> tuple[int, int]:
    """(records, distinct click ids) in the journal, read by a fresh consumer."""
    from hoplink.ingest.journal import ClickJournal

    journal = ClickJournal(data_dir / "journal", write=False)
    ids: set[str] = set()
    records = 0
    while clicks := (await journal.read(50_000, timeout=0))[0]:
        records += len(clicks)
        ids.update(c.click_id for c in clicks)
    await journal.close()
    return records, len(ids)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kb = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    return kb / 1024


# --- modes -----------------------------------------------------------------------------------


def throughput(args: argparse.Namespace, work: Path) -> int:
    links = asyncio.run(store_links(work, args.links))
    (work / "links.json").write_bytes(orjson.dumps(links))
    script = lua_script(work / "random.lua", list(links), query=args.query)
    # Warm-up requests every code once (sequentially), so the measured run is steady state.
    warm_script = lua_script(work / "warm.lua", list(links), sequential=True)
    warm = max(2.0, args.duration / 5)
    print(
        f"{args.links:,} links, {args.connections} connections, {args.rounds} alternating"
        f" rounds of {args.duration:g} s per server; medians"
    )
    baseline_env = {"BENCH_LINKS": str(work / "links.json")}
    env = hoplink_env(work, worker=args.worker)
    a_runs: list[Run] = []
    b_runs: list[Run] = []
    with (
        server("redirect:baseline_app", baseline_env, factory=False) as (a_url, _),
        server("hoplink.app:create_app_from_env", env, factory=True) as (b_url, _),
    ):
        wrk(a_url, warm_script, duration=warm, connections=args.connections)
        served = runs = 0
        while served < 2 * args.links:
            warmup = wrk(b_url, warm_script, duration=warm, connections=args.connections)
            served, runs = served + warmup.requests - warmup.non_3xx, runs + 1
        # Alternate the two, so a noisy neighbour on the machine hits both alike.
        for _ in range(args.rounds):
            a_runs.append(wrk(a_url, script, duration=args.duration, connections=args.connections))
            b_runs.append(wrk(b_url, script, duration=args.duration, connections=args.connections))
        served += sum(r.requests - r.non_3xx for r in b_runs)
        runs += len(b_runs)
        stopping = time.monotonic()  # leaving the block: SIGTERM, drain, exit
    drained_in = time.monotonic() - stopping
    base, run = median_run(a_runs), median_run(b_runs)
    what = "click capture + embedded worker" if args.worker else "click capture"
    print(f"(a) raw ASGI dict lookup  {base}")
    print(f"(b) hoplink + {what}  {run}")
    print(
        "    rounds (req/s a/b): "
        + ", ".join(f"{a.rps:,.0f}/{b.rps:,.0f}" for a, b in zip(a_runs, b_runs, strict=True))
    )

    met = {True: "met", False: "MISSED"}
    if args.worker:
        in_db, distinct = stored_clicks(work)
        backlog, distinct_backlog = asyncio.run(journaled(work / "data"))
        records, distinct = in_db + backlog, distinct + distinct_backlog
        print(
            f"worker: {in_db:,} clicks in the database, {backlog:,} still in the journal after"
            f" SIGTERM; stopped in {drained_in:.1f} s (backlog drains: {met[backlog == 0]})"
        )
    else:
        records, distinct = asyncio.run(journaled(work / "data"))
    ratio = run.rps / base.rps
    in_flight = records - served
    print(
        f"ratio b/a {ratio:.2f} (target >= 0.5: {met[ratio >= 0.5]});"
        f" hoplink p99 {run.p99_ms:.2f} ms (target <= 10: {met[run.p99_ms <= 10]})"
    )
    print(
        f"302s received by wrk {served:,}; clicks counted {records:,}"
        f" ({distinct:,} distinct ids); journaled but not counted by wrk (in flight when"
        f" a run ended): {in_flight}"
    )
    # wrk abandons up to one request per connection when a run ends.
    ok = distinct == records and 0 <= in_flight <= runs * args.connections
    ok = ok and all(r.non_3xx == 0 for r in (*a_runs, *b_runs))
    print("clicks lost: 0" if ok else "CHECK FAILED: clicks lost, duplicated or not 302")
    return 0 if ok else 1


def memory(args: argparse.Namespace, work: Path) -> int:
    print(f"storing {args.stored:,} links ...", flush=True)
    started = time.monotonic()
    links = asyncio.run(store_links(work, args.stored))
    print(f"stored in {time.monotonic() - started:.0f} s")
    hot = list(links)[: args.hot]
    script = lua_script(work / "hot.lua", hot, sequential=True)
    with server("hoplink.app:create_app_from_env", hoplink_env(work), factory=True) as (url, pid):
        idle = rss_mb(pid)
        total = 0
        # Sequential codes: every hot code is requested (and cached) at least once.
        while total < 2 * args.hot:
            total += wrk(url, script, duration=5, connections=args.connections).requests
        loaded = rss_mb(pid)
    print(f"web process RSS: {idle:.0f} MB idle with {args.stored:,} links stored;")
    print(f"{loaded:.0f} MB after {total:,} requests over {args.hot:,} hot links (target <= 250)")
    return 0 if loaded <= 250 else 1


def rules(args: argparse.Namespace, work: Path) -> int:
    """Plain links vs links with ten rules, on the same server, alternating."""
    links = list(asyncio.run(store_links(work, 2 * args.links, routed=args.links)))
    plain, routed = links[: args.links], links[args.links :]
    scripts = {
        "plain": lua_script(work / "plain.lua", plain),
        "rules": lua_script(work / "rules.lua", routed),
    }
    warm = [lua_script(work / f"warm-{n}.lua", c, sequential=True) for n, c in
            (("plain", plain), ("rules", routed))]  # fmt: skip
    print(
        f"{args.links:,} plain + {args.links:,} links with 10 rules and an A/B test,"
        f" {args.connections} connections, {args.rounds} alternating rounds of"
        f" {args.duration:g} s; medians"
    )
    runs: dict[str, list[Run]] = {"plain": [], "rules": []}
    with server("hoplink.app:create_app_from_env", hoplink_env(work), factory=True) as (url, _):
        for script in warm:
            wrk(url, script, duration=max(2.0, args.duration / 5), connections=args.connections)
        for _ in range(args.rounds):
            for name, script in scripts.items():
                runs[name].append(
                    wrk(url, script, duration=args.duration, connections=args.connections)
                )
    plain_run, rules_run = median_run(runs["plain"]), median_run(runs["rules"])
    print(f"(a) plain links          {plain_run}")
    print(f"(b) 10 rules + A/B test  {rules_run}")
    print(
        "    rounds (req/s a/b): "
        + ", ".join(
            f"{a.rps:,.0f}/{b.rps:,.0f}" for a, b in zip(runs["plain"], runs["rules"], strict=True)
        )
    )
    cost = plain_run.rps / rules_run.rps  # time per redirect, b relative to a
    ok = cost <= 1.10 and all(r.non_3xx == 0 for r in (*runs["plain"], *runs["rules"]))
    print(
        f"cost per redirect b/a {cost:.3f} (target <= 1.10: {'met' if cost <= 1.10 else 'MISSED'})"
    )
    return 0 if ok else 1


def in_process(args: argparse.Namespace, work: Path) -> int:
    links = asyncio.run(store_links(work, args.links))
    return asyncio.run(_in_process(args, work, links))


async def _in_process(args: argparse.Namespace, work: Path, links: dict[str, str]) -> int:
    from hoplink.app import HoplinkApp
    from hoplink.config import load_settings

    env = hoplink_env(work)
    settings = load_settings(
        database_url=env["HOPLINK_DATABASE_URL"],
        data_dir=Path(env["HOPLINK_DATA_DIR"]),
        default_domain=HOST,
        secret_key=env["HOPLINK_SECRET_KEY"],
        embedded_worker=False,
    )
    app = HoplinkApp(settings, services=())
    await app.start()
    _BASELINE.update({code: url.encode() for code, url in links.items()})
    codes = list(links)
    query = args.query.encode()
    headers = [
        (b"host", HOST.encode()),
        (b"user-agent", USER_AGENT.encode()),
        (b"accept-language", b"en-US,en;q=0.9"),
        (b"referer", b"https://m.facebook.com/"),
    ]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def drive(target: Any, picks: list[str]) -> float:
        # CPU time of this process, not wall time: on a shared machine the other tenants'
        # load changes wall time far more than anything the redirect path does.
        started = time.process_time()
        for code in picks:
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "GET", "scheme": "http", "path": f"/{code}",
                "raw_path": f"/{code}".encode(), "query_string": query, "root_path": "",
                "headers": headers, "client": ("198.51.100.7", 50000),
                "server": ("127.0.0.1", 8080),
            }  # fmt: skip
            await target(scope, receive, send)
        return len(picks) / (time.process_time() - started)

    rng = __import__("random").Random(3)
    try:
        await drive(app, codes)  # every code once: the cache is warm
        a_rps: list[float] = []
        b_rps: list[float] = []
        for _ in range(args.rounds):
            picks = [rng.choice(codes) for _ in range(args.requests)]
            a_rps.append(await drive(baseline_app, picks))
            b_rps.append(await drive(app, picks))
    finally:
        cache = app.runtime.redirect_cache if app.runtime is not None else None
        await app.stop()
    if cache is not None:
        print(f"redirect cache: {cache.hits:,} hits, {cache.misses:,} misses")
    base, run = statistics.median(a_rps), statistics.median(b_rps)
    print(
        f"in-process, {args.links:,} links, {args.rounds} alternating rounds of"
        f" {args.requests:,} requests, query {args.query or '(none)'!r}; medians"
    )
    print(f"(a) raw ASGI dict lookup  {base:,.0f} req per CPU second")
    print(f"(b) hoplink + click capture  {run:,.0f} req per CPU second")
    print(
        "    rounds (a/b): "
        + ", ".join(f"{a:,.0f}/{b:,.0f}" for a, b in zip(a_rps, b_rps, strict=True))
    )
    print(f"ratio b/a {run / base:.3f}")
    ok = set(statuses) == {302}
    print("all 302" if ok else f"CHECK FAILED: statuses {sorted(set(statuses))}")
    return 0 if ok else 1


async def _cpu_per_redirect(app: Any, codes: list[str], n: int) -> float:
    """CPU seconds per redirect of ``n`` requests for ``codes`` through the ASGI app (no
    HTTP server: CPU time only counts this process, so a busy machine does not skew it)."""
    headers = [
        (b"host", HOST.encode()),
        (b"user-agent", USER_AGENT.encode()),
        (b"accept-language", b"en-US,en;q=0.9"),
        (b"referer", b"https://m.facebook.com/"),
    ]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for i in range(n):
        code = codes[i % len(codes)]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": f"/{code}", "raw_path": f"/{code}".encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080),
        }  # fmt: skip
        await app(scope, receive, send)
    spent = time.process_time() - started
    if set(statuses) != {302}:
        raise RuntimeError(f"not all 302: {set(statuses)}")
    return spent / n


def rules_cpu(args: argparse.Namespace, work: Path) -> int:
    """``--rules --cpu``: the same comparison in process, by CPU time per redirect."""
    links = list(asyncio.run(store_links(work, 2 * args.links, routed=args.links)))
    plain, routed = links[: args.links], links[args.links :]
    for name, value in hoplink_env(work).items():
        os.environ[name] = value

    async def measure() -> tuple[list[float], list[float]]:
        from hoplink.app import create_app_from_env

        app = create_app_from_env()
        await app.start()
        try:
            for codes in (plain, routed):  # warm: every link cached, every agent parsed
                await _cpu_per_redirect(app, codes, 2 * len(codes))
            a: list[float] = []
            b: list[float] = []
            for _ in range(args.rounds):
                a.append(await _cpu_per_redirect(app, plain, args.requests))
                b.append(await _cpu_per_redirect(app, routed, args.requests))
            return a, b
        finally:
            await app.stop()

    a, b = asyncio.run(measure())
    pa, pb = statistics.median(a), statistics.median(b)
    print(
        f"in process, {args.links:,} plain + {args.links:,} links with 10 rules and an A/B"
        f" test, {args.rounds} alternating rounds of {args.requests:,} redirects; medians"
    )
    print(f"(a) plain links          {pa * 1e6:6.1f} us CPU per redirect")
    print(f"(b) 10 rules + A/B test  {pb * 1e6:6.1f} us CPU per redirect")
    print(
        "    rounds (us a/b): "
        + ", ".join(f"{x * 1e6:.1f}/{y * 1e6:.1f}" for x, y in zip(a, b, strict=True))
    )
    cost = pb / pa
    print(
        f"cost per redirect b/a {cost:.3f} (target <= 1.10: {'met' if cost <= 1.10 else 'MISSED'})"
    )
    step = _routing_step_cpu()
    print(
        f"the routing step alone (facts, 10 rules, A/B pick, recording the rule): {step * 1e6:.2f}"
        " us CPU per redirect"
    )
    cookie = _routing_step_cpu(ab_cookie=True)
    print(
        f"  with the A/B cookie on (HOPLINK_AB_COOKIE_DAYS; a browser cookie header carrying"
        f" hl_ab): {cookie * 1e6:.2f} us"
    )
    return 0 if cost <= 1.10 else 1


def _routing_step_cpu(n: int = 200_000, *, ab_cookie: bool = False) -> float:
    """CPU per call of what a routed link adds to a redirect, measured alone."""
    from hoplink.clicks.models import Click
    from hoplink.links.plan import compile_plan
    from hoplink.redirect.rules import route
    from hoplink.storage.redirects import Target

    routing = bench_routing()
    plan = compile_plan(routing, final_url="https://shop.example.com/item/0")
    assert plan is not None
    target = Target("lnk_b", "ws_b", "https://shop.example.com/item/0", False, False,
                    "verified", routing=routing, plan=plan)  # fmt: skip
    headers = []
    if ab_cookie:  # a typical cookie header of a shop's short domain, naming variant B
        cookie = b"_ga=GA1.2.1234567890.1700000000; lang=en; hl_ab=var_benchvariantB000"
        headers = [(b"cookie", cookie)]
    scope: dict[str, Any] = {"headers": headers, "query_string": b""}
    clicks = [
        Click(f"{i:032x}", 0.0, "lnk_b", "ws_b", HOST, "GET", USER_AGENT, "",
              "en-US,en;q=0.9", "JP", f"{i * 7919:032x}")
        for i in range(1000)
    ]  # fmt: skip
    now = time.time()
    started = time.process_time()
    for i in range(n):
        click = clicks[i % 1000]
        routed = route(plan, target, scope, click, now, ab_cookie=ab_cookie)
        click.answered_by(routed.rule, routed.variant)
    return (time.process_time() - started) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--worker", action="store_true", help="run the embedded worker too")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--rules", action="store_true", help="10 routing rules vs plain links")
    parser.add_argument("--cpu", action="store_true", help="with --rules: in process, CPU time")
    parser.add_argument("--query", default="", help="query string appended to every request")
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--hot", type=int, default=100_000)
    parser.add_argument("--in-process", action="store_true", help="no sockets, no wrk")
    parser.add_argument("--requests", type=int, default=20_000, help="per in-process round")
    args = parser.parse_args()
    if args.rules and args.cpu:
        with tempfile.TemporaryDirectory(prefix="hoplink-bench-") as tmp:
            return rules_cpu(args, Path(tmp))
    if args.in_process:
        with tempfile.TemporaryDirectory(prefix="hoplink-bench-") as tmp:
            return in_process(args, Path(tmp))
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `apt-get install -y wrk` and try again.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hoplink-bench-") as tmp:
        if args.rules:
            return rules(args, Path(tmp))
        return memory(args, Path(tmp)) if args.memory else throughput(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
