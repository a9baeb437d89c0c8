"""Destination health checker cost: CPU per check, against a local fake marketplace.

A fake marketplace runs in a process of its own (so its CPU is not counted) on a random
loopback address, port 80, playing shopee.sg (the shipped presets apply: markers are looked
for, so live pages are read): 70 % live product pages (~100 KB, with an ETag), 10 % sold
out, 10 % gone (404), 10 % delisted (302 to the search page). N links are created on a
fresh SQLite file (its work runs in aiosqlite's thread: counted) and one ``HealthChecker``
— the one ``hoplink worker`` runs, with its real claim / fetch / record path — checks them
all, twice:

    round 1  first checks: robots.txt, HEAD, then GET of every page (the worst case: a
             marketplace that sends no validators is checked like this every time)
    round 2  the next interval: conditional HEADs; unchanged pages answer 304 and are not
             read again

For each round it prints checks/s, the process's CPU per check, and what that means for the
target, 100,000 links per 6 hours on one worker: CPU per check x 100,000 / 21,600 s as a
share of one core (≤ 5 % wanted). Politeness delays are off (they cost wall time, not CPU).

    .venv/bin/python bench/health.py [--links 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from hoplink.domains import ensure_default_domain
from hoplink.ids import utcnow
from hoplink.linkhealth.checker import HealthChecker
from hoplink.linkhealth.markers import load_presets
from hoplink.linkhealth.probe import Prober
from hoplink.linkhealth.service import HealthOnCommit
from hoplink.links.service import LinkSpec, create_links
from hoplink.links.spec import LinkRules
from hoplink.net.addresses import IPAddress
from hoplink.net.fetch import FetchLimits, SafeFetcher
from hoplink.storage import migrate
from hoplink.storage.database import Database
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import create_workspace

HOST = "shopee.sg"
PAGE = "<html><head><title>Phone case</title></head><body>" + "x" * 100_000 + "</body></html>"


def kind_of(n: int) -> str:
    """70 % live, then sold out, gone, delisted (10 % each), by the product number."""
    return {7: "soldout", 8: "gone", 9: "delisted"}.get(n % 10, "live")


async def serve(address: str) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            inm = next(
                (
                    h.split(":", 1)[1].strip()
                    for h in head
                    if h.lower().startswith("if-none-match:")
                ),
                None,
            )
            status, body, extra = 200, PAGE, ""
            if target == "/robots.txt":
                body = "User-agent: *\nDisallow: /cart/\n"
            elif target.startswith("/p/"):
                n = int(target[3:])
                kind = kind_of(n)
                etag = f'"p{n}"'
                if kind == "gone":
                    status, body = 404, "not found"
                elif kind == "delisted":
                    status, body, extra = 302, "", "Location: /search?keyword=case\r\n"
                else:
                    if kind == "soldout":
                        body = PAGE.replace("<body>", "<body>Sold out")
                    extra = f"ETag: {etag}\r\n"
                    if inm == etag:
                        status, body = 304, ""
            data = body.encode()
            writer.write(
                (
                    f"HTTP/1.1 {status} X\r\nContent-Type: text/html; charset=utf-8\r\n"
                    f"Content-Length: {len(data)}\r\nConnection: close\r\n{extra}\r\n"
                ).encode()
                + (data if method != "HEAD" else b"")
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, address, 80, backlog=1024, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


async def bench(address: str, links: int, concurrency: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="hoplink-bench-health-"))
    db = Database.from_url(f"sqlite+aiosqlite:///{work / 'bench.db'}")
    try:
        await migrate.upgrade(db.engine)
        db.listeners.before_commit(HealthOnCommit())
        async with db.transaction() as tx:
            domain = await ensure_default_domain(tx, "hop.test")
            ws = await create_workspace(tx, name="Bench", status=WorkspaceStatus.VERIFIED)
        for start in range(0, links, 1000):
            async with db.transaction() as tx:
                specs = [
                    LinkSpec(url=f"http://{HOST}/p/{n}")
                    for n in range(start, min(links, start + 1000))
                ]
                await create_links(
                    tx,
                    workspace=ws,
                    domain=domain,
                    specs=specs,
                    actor=None,
                    rules=LinkRules(code_length=8),
                )

        async def resolve(host: str, port: int) -> list[IPAddress]:
            return [ipaddress.ip_address(address)]

        limits = FetchLimits(
            connect_timeout=5, total_timeout=10, max_bytes=512 * 1024, max_redirects=5,
            allow_networks=(ipaddress.ip_network(f"{address}/32"),),
        )  # fmt: skip
        prober = Prober(
            SafeFetcher(limits, resolver=resolve), presets=load_presets(),
            per_host=concurrency, host_delay=0.0,
        )  # fmt: skip
        checker = HealthChecker(
            db=db, prober=prober, batch=concurrency * 4, concurrency=concurrency
        )
        print(f"{links} links on {HOST} ({address}:80), SQLite, concurrency {concurrency}")
        for round_ in (1, 2):
            if round_ == 2:  # the next interval: every link due again
                later = utcnow() + timedelta(hours=7)
                checker.clock = lambda later=later: later  # type: ignore[misc]
            before_checked, before_requests = checker.checked, prober.requests
            wall, cpu = time.perf_counter(), time.process_time()
            while await checker.check_due():
                pass
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            checked = checker.checked - before_checked
            per_check = cpu / checked
            share = per_check * 100_000 / (6 * 3600)
            print(
                f"round {round_}: {checked} checks, {prober.requests - before_requests} requests,"
                f" {checked / wall:,.0f} checks/s, CPU {per_check * 1000:.2f} ms/check"
                f" -> 100k links / 6 h = {share * 100:.2f} % of one core"
            )
        async with db.transaction(write=False) as tx:
            counts = await tx.health(ws.id).counts()
        print("states:", dict(sorted(counts.items())))
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--links", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    address = f"127.{random.randint(10, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", address], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        asyncio.run(bench(address, args.links, args.concurrency))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    os.environ.setdefault("HOPLINK_LOG_LEVEL", "warning")
    main()
