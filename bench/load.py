"""The default install under load: saturation against the raw-ASGI baseline, and the
open-loop rate curve, with every 302 accounted for in the stats.

The default install is started exactly as a new user starts it: ``scripts/serve --port P
--data-dir D`` (embedded SQLite, the click worker as ``hoplink serve`` runs it by default),
on a data directory holding ``--links`` links on the default domain. Beside it the raw-ASGI
dict-lookup 302 (bench/redirect.py's baseline) runs on the same server (uvicorn, uvloop +
httptools, pinned to CPU 0).

(1) Saturation, ``--rounds`` alternating rounds: ``wrk -t1 -c64`` (pinned to CPU 1) over
    random codes with a mobile browser's headers for ``--duration`` s against hoplink, then
    — once hoplink's click backlog has drained (the time is reported) — against the
    baseline. Prints req/s, p50/p99 of each, the ratio, and the drain time.
(2) The rate curve: an open-loop generator (``paced``: two processes, each with its own
    keep-alive connections and a fixed schedule; a response's latency counts from when its
    request was *due*, so a stalled server is not hidden by a generator that waits) at each
    of ``--rates`` for ``--rate-duration`` s. Meanwhile a prober follows a link of its own
    every 0.25 s and times how long until its click is in the database (raw click and
    rollups commit together: that is when the stats show it). Prints p50/p99 latency, the
    click → stats lag (p50/p99/max) and the drain time after each rate.
(3) The count check, after SIGTERM (the worker drains on stop): raw clicks == distinct click
    ids == rollup page views, and clicks - 302s received is between 0 and the requests wrk
    may abandon in flight when a round ends (one per connection per round).

    .venv/bin/python bench/load.py [--links 10000] [--rounds 3] [--duration 10]
        [--rates 1000,2000,4000,8000,12000] [--rate-duration 20] [--no-curve] [--root DIR]

``--root DIR`` runs another checkout's ``scripts/serve`` (its own .venv), for a before
figure from the same script: ``--root /work/main``. Nothing is pinned to a CPU: the default
install is two processes (web server and click worker) and may use both cores, as it does
for a user; the baseline is one process and uses one.

Needs wrk (apt-get install -y wrk). Loopback only; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
import redirect
from cluster import (
    Prober,
    Store,
    drain,
    free_port,
    pct,
    store_links,
    wait_listening,
)
from redirect import FINAL_URL, HOST, USER_AGENT, Run, lua_script, server, wrk

# No CPU pinning (redirect.py pins its one-process servers to CPU 0 and wrk to CPU 1).
redirect._pinned = lambda cpu: []

ROOT = Path(__file__).resolve().parent.parent
GENERATOR_PROCESSES = 2
METRICS_TOKEN = secrets.token_urlsafe(16)
CONNECTIONS_PER_PROCESS = 32


# --- the default install -----------------------------------------------------------------------


@contextmanager
def default_install(data: Path, port: int, root: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``scripts/serve --port P --data-dir D`` of the checkout at ``root``, as a user runs
    it; SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPLINK_")}
    # The links are on the bench host name; the log stays quiet. Nothing else is set.
    env |= {"HOPLINK_DEFAULT_DOMAIN": HOST, "HOPLINK_LOG_LEVEL": "warning"}
    # /metrics answers only with a token (it records either way): the cache's hits/misses.
    env["HOPLINK_METRICS_TOKEN"] = METRICS_TOKEN
    # The checkout's own code: a shared .venv's editable install points at one checkout
    # only, and a PYTHONPATH this script was started with names this one.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(root / "src"), *filter(None, [os.environ.get("LOAD_EXTRA_PYTHONPATH")])]
    )
    log = open(data.parent / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(root / "scripts" / "serve"), "--port", str(port), "--data-dir", str(data)],
        env=env,
        stdout=log,
        stderr=log,
        cwd=root,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


# --- the open-loop generator -------------------------------------------------------------------


async def _paced(
    url: str, codes: list[str], rate: float, duration: float, connections: int, seed: int
) -> tuple[int, int, list[float]]:
    host, port = url.removeprefix("http://").split(":")
    per_connection = rate / connections
    found = [0, 0]
    latencies: list[float] = []
    started = time.monotonic() + 0.2

    async def connection(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        sent = 0
        try:
            while True:
                # Connections are staggered over the first interval: an even stream.
                due = started + (sent + index / connections) / per_connection
                if due - started >= duration:
                    break
                now = time.monotonic()
                if due > now:
                    await asyncio.sleep(due - now)
                code = codes[(seed * 104_729 + index * 7919 + sent * 31) % len(codes)]
                writer.write(
                    f"GET /{code} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: {USER_AGENT}\r\n"
                    "Accept-Language: en-US,en;q=0.9\r\nReferer: https://m.facebook.com/\r\n"
                    "\r\n".encode()
                )
                sent += 1
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"(?i)content-length: (\d+)", head)
                if match:
                    await reader.readexactly(int(match.group(1)))
                latencies.append(time.monotonic() - due)
                found[0 if head.startswith(b"HTTP/1.1 302") else 1] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(i) for i in range(connections)))
    return found[0], found[1], latencies


def _paced_process(args: tuple[str, list[str], float, float, int, int]) -> tuple[int, int, bytes]:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    ok, other, latencies = asyncio.run(_paced(*args))
    return ok, other, orjson.dumps(latencies)


def paced(url: str, codes: list[str], rate: float, duration: float) -> tuple[int, int, list[float]]:
    """``rate`` requests/s for ``duration`` s from GENERATOR_PROCESSES processes; returns
    (302s, other answers, latencies in seconds from each request's due time)."""
    share = rate / GENERATOR_PROCESSES
    jobs = [
        (url, codes, share, duration, CONNECTIONS_PER_PROCESS, i)
        for i in range(GENERATOR_PROCESSES)
    ]
    with multiprocessing.get_context("spawn").Pool(GENERATOR_PROCESSES) as pool:
        results = pool.map(_paced_process, jobs)
    latencies: list[float] = []
    for _, _, data in results:
        latencies += orjson.loads(data)
    return sum(r[0] for r in results), sum(r[1] for r in results), latencies


def _cache_counts(url: str) -> tuple[int, int]:
    """The redirect cache's (hits, misses) so far, from hoplink's /metrics."""
    text = httpx.get(
        f"{url}/metrics",
        headers={"host": HOST, "authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    ).text
    found = dict(re.findall(r"^hoplink_redirect_cache_(hits|misses)(?:_total)? (\S+)$", text, re.M))
    return int(float(found.get("hits", "nan"))), int(float(found.get("misses", "nan")))


def _cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> tuple[float, float]:
    """(CPU seconds of ``pid``, of its child processes still running): the web process and
    the click worker of ``hoplink serve``."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _cpu(pid), sum(_cpu(int(child)) for child in children)


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


# --- the run -----------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rates", default="1000,2000,4000,8000,12000")
    parser.add_argument("--rate-duration", type=float, default=20)
    parser.add_argument("--no-curve", action="store_true", help="saturation rounds only")
    parser.add_argument(
        "--curve-baseline",
        action="store_true",
        help="also run each open-loop rate against the raw-ASGI baseline (the generator's"
        " and the machine's own tail, for comparison)",
    )
    parser.add_argument(
        "--root", default=str(ROOT), help="the checkout whose scripts/serve runs (a before figure)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hoplink-load-") as tmp:
        work = Path(tmp)
        data = work / "data"
        data.mkdir(mode=0o700)
        db_url = f"sqlite:///{data / 'hoplink.db'}"
        codes, probe_id = asyncio.run(
            store_links(db_url.replace("sqlite://", "sqlite+aiosqlite://"), args.links)
        )
        links = {code: FINAL_URL.format(n=i) for i, code in enumerate(codes)}
        (work / "links.json").write_bytes(orjson.dumps(links))
        random_lua = lua_script(work / "random.lua", codes)
        warm_lua = lua_script(work / "warm.lua", codes, sequential=True)
        store = Store(db_url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        served = tolerance = 0
        baseline_env = {"BENCH_LINKS": str(work / "links.json")}
        with (
            default_install(data, port, Path(args.root)) as hoplink,
            server("redirect:baseline_app", baseline_env, factory=False) as (base_url, base_pid),
        ):
            wait_listening(url, hoplink)
            # Warm-up: every code once or twice (the redirect cache), then an idle start.
            while served < 2 * len(codes):
                warm = wrk(url, warm_lua, duration=3, connections=args.connections)
                served += warm.requests - warm.non_3xx
                tolerance += args.connections
            drain(store, probe_id, served)

            print(f"load average {_load()}", flush=True)
            print(
                f"(1) saturation: wrk -t1 -c{args.connections} -d{args.duration:.0f}s,"
                f" {args.links:,} links, {args.rounds} alternating rounds",
                flush=True,
            )
            h_runs: list[Run] = []
            b_runs: list[Run] = []
            drains: list[float] = []
            cpus: list[tuple[float, float, float]] = []  # µs per 302: web, worker, baseline
            for i in range(args.rounds):
                web, worker = _tree_cpu(hoplink.pid)
                run = wrk(url, random_lua, duration=args.duration, connections=args.connections)
                web = _tree_cpu(hoplink.pid)[0] - web
                served += run.requests - run.non_3xx
                tolerance += args.connections
                drains.append(drain(store, probe_id, served))
                worker = _tree_cpu(hoplink.pid)[1] - worker
                base_cpu = _cpu(base_pid)
                base = wrk(
                    base_url, random_lua, duration=args.duration, connections=args.connections
                )
                base_cpu = _cpu(base_pid) - base_cpu
                h_runs.append(run)
                b_runs.append(base)
                cpus.append(
                    (
                        web / run.requests * 1e6,
                        worker / run.requests * 1e6,
                        base_cpu / base.requests * 1e6,
                    )
                )
                print(f"  round {i + 1}: hoplink {run}; drained in {drains[-1]:.1f} s")
                print(f"           baseline {base}   ratio {run.rps / base.rps:.2f}")
                print(
                    f"           CPU per 302: web {cpus[-1][0]:.1f} µs, worker {cpus[-1][1]:.1f} µs"
                    f" (round and drain), baseline {cpus[-1][2]:.1f} µs  (load {_load()})",
                    flush=True,
                )
            ratios = [h.rps / b.rps for h, b in zip(h_runs, b_runs, strict=True)]
            if h_runs:
                print(
                    f"  median: hoplink {statistics.median(r.rps for r in h_runs):,.0f} req/s"
                    f" (p50 {statistics.median(r.p50_ms for r in h_runs):.2f} ms,"
                    f" p99 {statistics.median(r.p99_ms for r in h_runs):.2f} ms),"
                    f" baseline {statistics.median(r.rps for r in b_runs):,.0f} req/s"
                    f" (p99 {statistics.median(r.p99_ms for r in b_runs):.2f} ms);"
                    f" ratio {statistics.median(ratios):.2f};"
                    f" drain {statistics.median(drains):.1f} s",
                    flush=True,
                )
                web_us, worker_us, base_us = (statistics.median(c) for c in zip(*cpus, strict=True))
                print(
                    f"  median CPU per 302: web {web_us:.1f} µs, worker {worker_us:.1f} µs,"
                    f" baseline {base_us:.1f} µs",
                    flush=True,
                )

            if not args.no_curve:
                print(
                    f"(2) open-loop rate curve, {args.rate_duration:.0f} s per rate"
                    f" ({GENERATOR_PROCESSES}x{CONNECTIONS_PER_PROCESS} connections)",
                    flush=True,
                )
                for rate in (float(r) for r in args.rates.split(",")):
                    prober = Prober(url, db_url, probe_id)
                    thread = threading.Thread(target=prober.run, daemon=True)
                    thread.start()
                    hits, misses = _cache_counts(url)
                    began = time.monotonic()
                    ok, other, lat = paced(url, codes, rate, args.rate_duration)
                    took = time.monotonic() - began - 0.2  # the generator's own start-up
                    prober.stop.set()
                    thread.join()
                    served += ok + prober.sent
                    now_hits, now_misses = _cache_counts(url)
                    hits, misses = now_hits - hits, now_misses - misses
                    drained = drain(store, probe_id, served)
                    lags = prober.lags or [float("nan")]
                    print(
                        f"  {rate:>7,.0f}/s: answered {ok / took:>7,.0f}/s"
                        f" ({other} not 302)  p50 {_ms(pct(lat, 0.5))}  p99 {_ms(pct(lat, 0.99))}"
                        f"  p99.9 {_ms(pct(lat, 0.999))}"
                        f"  cache misses {misses / max(1, hits + misses):.2%}"
                        f"  click->stats p50 {_ms(statistics.median(lags))}"
                        f" p99 {_ms(pct(lags, 0.99))} max {_ms(max(lags))}"
                        f"  drained {drained:.1f} s after  (load {_load()})",
                        flush=True,
                    )
                    if args.curve_baseline:
                        ok, other, lat = paced(base_url, codes, rate, args.rate_duration)
                        print(
                            f"  {'baseline':>9}: answered {ok / args.rate_duration:>7,.0f}/s"
                            f" ({other} not 302)  p50 {_ms(pct(lat, 0.5))}"
                            f"  p99 {_ms(pct(lat, 0.99))}  p99.9 {_ms(pct(lat, 0.999))}",
                            flush=True,
                        )
        # After SIGTERM: the worker drained what the journal held.
        counts = store.counts(probe_id)
        extra = counts.clicks - served
        ok = counts.distinct == counts.clicks == counts.pv and 0 <= extra <= tolerance
        print(
            f"(3) 302s received {served:,}; clicks in the stats {counts.clicks:,}"
            f" ({counts.distinct:,} distinct ids, rollup page views {counts.pv:,});"
            f" in flight when a round ended: {extra} (at most {tolerance})"
        )
        print("  every 302 counted exactly once: yes" if ok else "  CHECK FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
