"""Forwarding cost (issue 11): the click worker's CPU per click without and with clicks
forwarded to an ad platform, side by side.

A local receiver (a uvicorn process of its own, so its CPU is not counted) accepts every
request as Meta / TikTok / GA4 would. Two fresh SQLite databases get the same links and
the same N clicks (default 100,000: 30 % with an fbclid, 20 % with a ttclid, 8 % bots):

(a) baseline: ``Worker.process`` in batches of ``--batch`` with no integration;
(b) forwarding: the same, with integrations of ``--platforms`` wanting every click and the
    forwarding hook attached (the worker's part: an append per human click); then the
    forwarding loop (flush to the queue, batch, POST, journal) drains everything.

Prints, per run, the process CPU per click of the worker phase ((a) and (b) worker), of
the forwarding loop ((b) loop: in the same process as deployed, but not on the worker's
path: its own task and queue), the ratios, and events/s and requests of the loop.

    .venv/bin/python bench/forwarding.py [--clicks 100000] [--batch 500]
        [--platforms meta] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hoplink.clicks.models import Click
from hoplink.domains import ensure_default_domain
from hoplink.forwarding import service as forwarding
from hoplink.forwarding.delivery import ForwardDelivery
from hoplink.forwarding.models import Kind
from hoplink.forwarding.outbox import ForwardClicks
from hoplink.forwarding.platforms import Endpoints
from hoplink.ingest.worker import Worker
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.net.fetch import FetchLimits, SafeFetcher
from hoplink.storage import migrate
from hoplink.storage.database import Database
from hoplink.webhooks.secrets import SecretBox
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import create_workspace

RECEIVER = """
import sys, uvicorn
BODY = b'{"code":0,"message":"OK","events_received":1}'
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": BODY})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.36.105;]",
]
BOT = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
ACCOUNTS = {
    Kind.META: ("1234567890", "EAAbenchToken1234567890abcd"),
    Kind.TIKTOK: ("CBENCHPIXEL12345", "benchTiktokToken1234567890"),
    Kind.GA4: ("G-BENCH1234", "benchGa4Secret"),
}
BOX = SecretBox("bench-secret-key-" + "k" * 32)


async def _fresh(path: Path, links: int) -> tuple[Database, str, list[Any]]:
    db = Database.from_url(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(db.engine)
    async with db.transaction() as tx:
        dom = await ensure_default_domain(tx, "hop.bench")
        ws = await create_workspace(tx, name="Bench", status=WorkspaceStatus.VERIFIED)
        made = []
        for i in range(links):
            made.append(
                await service.create_link(
                    tx,
                    workspace=ws,
                    domain=dom,
                    spec=LinkSpec(
                        url=f"https://shop.example.com/item/{i}",
                        utm={"utm_source": "facebook", "utm_campaign": f"c{i % 7}"},
                    ),
                    actor="bench",
                    rules=LinkRules(),
                )
            )
    return db, ws.id, made


def _clicks(links: list[Any], n: int) -> list[Click]:
    rng = random.Random(7)
    now = time.time() - 3600
    out = []
    for i in range(n):
        link = links[rng.randrange(len(links))]
        roll = rng.random()
        ids = (
            {"fbclid": f"IwAR{rng.getrandbits(64):x}"}
            if roll < 0.3
            else {"ttclid": f"E.C.P.{rng.getrandbits(64):x}"}
            if roll < 0.5
            else None
        )
        out.append(
            Click(
                click_id=secrets.token_hex(16),
                ts=now + i * 0.01,
                link_id=link.id,
                workspace_id=link.workspace_id,
                domain="hop.bench",
                method="GET",
                user_agent=BOT if rng.random() < 0.08 else rng.choice(AGENTS),
                referrer="https://m.facebook.com/",
                accept_language="en-US",
                country="US",
                visitor_hash=f"v{rng.randrange(n // 5)}",
                ad_click_ids=ids,
            )
        )
    return out


async def _work(worker: Worker, clicks: list[Click], batch: int) -> float:
    started = time.process_time()
    for i in range(0, len(clicks), batch):
        await worker.process(clicks[i : i + batch])
    return time.process_time() - started


async def run(args: argparse.Namespace, port: int) -> None:
    kinds = [Kind(k) for k in args.platforms.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        db_a, _, links_a = await _fresh(Path(tmp) / "a.db", args.links)
        db_b, ws_b, links_b = await _fresh(Path(tmp) / "b.db", args.links)
        async with db_b.transaction() as tx:
            for kind in kinds:
                account, credential = ACCOUNTS[kind]
                await forwarding.create_destination(
                    tx, workspace_id=ws_b, kind=kind, name=kind.value, account_id=account,
                    credential=credential, events=("click",), box=BOX,
                )  # fmt: skip
        clicks_a = _clicks(links_a, args.clicks)
        by_id = {link.id: i for i, link in enumerate(links_a)}
        clicks_b = [
            Click(
                click_id=c.click_id, ts=c.ts, link_id=links_b[by_id[c.link_id]].id,
                workspace_id=ws_b, domain=c.domain, method=c.method, user_agent=c.user_agent,
                referrer=c.referrer, accept_language=c.accept_language, country=c.country,
                visitor_hash=c.visitor_hash, ad_click_ids=c.ad_click_ids,
            )
            for c in clicks_a
        ]  # fmt: skip
        base = await _work(Worker(db=db_a, source=None), clicks_a, args.batch)  # type: ignore[arg-type]
        gather = ForwardClicks(db=db_b, interval=2.0, buffer=10 * args.clicks)  # as deployed
        worker_b = Worker(db=db_b, source=None)  # type: ignore[arg-type]
        worker_b.after_write = gather.after_write
        with_hook = await _work(worker_b, clicks_b, args.batch)
        url = f"http://127.0.0.1:{port}"
        delivery = ForwardDelivery(
            db=db_b,
            fetcher=SafeFetcher(FetchLimits.build(allow_private=["127.0.0.1"], total_timeout=30)),
            box=BOX,
            endpoints=Endpoints(ga4=url, meta=url, tiktok=url),
            clicks=gather,
        )
        started, wall = time.process_time(), time.perf_counter()
        await gather.flush()
        while await delivery.deliver_due():
            pass
        loop_cpu, loop_wall = time.process_time() - started, time.perf_counter() - wall
        async with db_b.transaction() as tx:
            sent = await tx.forward_queue.count("sent")
            left = await tx.forward_queue.count("pending") + await tx.forward_queue.count("dead")
        n = args.clicks
        print(f"clicks {n:,}, batch {args.batch}, platforms {args.platforms}")
        print(f"  (a) worker, no forwarding     {base / n * 1e6:8.1f} µs CPU/click")
        print(
            f"  (b) worker, forwarding hook   {with_hook / n * 1e6:8.1f} µs CPU/click"
            f"   ratio b/a {with_hook / base:.3f}"
        )
        print(
            f"  (b) forwarding loop           {loop_cpu / n * 1e6:8.1f} µs CPU/click"
            f"   (worker + loop)/a {(with_hook + loop_cpu) / base:.3f}"
        )
        print(
            f"  loop: {sent:,} events sent in {delivery.counters.requests:,} requests,"
            f" {sent / loop_wall:,.0f} events/s, {left} not sent"
        )
        await db_a.dispose()
        await db_b.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument("--platforms", default="meta")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    try:
        time.sleep(1.5)
        for _ in range(args.repeat):
            asyncio.run(run(args, port))
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main()
