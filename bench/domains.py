"""Host routing across many custom short domains (issue 16): the redirect answers by Host
from the in-memory map of domains, with no I/O per request.

N verified custom domains (one workspace each would be the same: the map is per host), a
link on each; after one warm-up request per link, R requests spread over random domains
(links, "/" root redirects and robots.txt) are sent straight to the ASGI app (no network
client, so the figure is hoplink's own cost), and every SQL statement the engine runs
meanwhile is counted. Embedded mode (SQLite), the journal writing clicks as in production.

    .venv/bin/python bench/domains.py [--domains 5000] [--requests 30000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import factories
from hoplink.app import HoplinkApp
from hoplink.config import load_settings
from hoplink.events import ShortDomainChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.service import LinkSpec, create_link
from hoplink.links.spec import LinkRules
from hoplink.storage import tables


async def call(app: HoplinkApp, host: str, path: str) -> int:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(b"host", host.encode()), (b"user-agent", b"Mozilla/5.0 (iPhone)")],
        "client": ("1.0.16.20", 50000),
        "scheme": "http",
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def main(domains: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp), default_domain="hop.test", embedded_worker=False
        )
        app = HoplinkApp(settings, services=())
        await app.start()
        assert app.runtime is not None
        db = app.runtime.db
        hosts = [f"s{i}.brand.example" for i in range(domains)]
        started = time.perf_counter()
        async with db.transaction() as tx:
            ws = await factories.workspace(tx, "Big Brand")
            now = utcnow()
            await tx.conn.execute(
                tables.domains.insert(),
                [
                    {
                        "id": new_id("dom"),
                        "hostname": h,
                        "workspace_id": ws.id,
                        "is_default": False,
                        "status": "verified",
                        "root_url": f"https://shop.example.com/{h}",
                        "created_at": now,
                    }
                    for h in hosts
                ],
            )
            tx.record(ShortDomainChanged(None))
            codes: dict[str, str] = {}
            for h in hosts:
                domain = await tx.short_domains.by_hostname(h)
                assert domain is not None
                link = await create_link(
                    tx,
                    workspace=ws,
                    domain=domain,
                    spec=LinkSpec(url=f"https://shop.example.com/item?d={h}"),
                    actor="bench",
                    rules=LinkRules(),
                )
                codes[h] = link.code
        print(
            f"arranged {domains} domains with a link each in {time.perf_counter() - started:.1f} s"
        )
        for h in hosts:  # warm: the map once, each link once
            assert await call(app, h, f"/{codes[h]}") == 302
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        rng = random.Random(16)
        plan = []
        for _ in range(requests):
            h = rng.choice(hosts)
            plan.append((h, rng.choice((f"/{codes[h]}", f"/{codes[h]}", "/", "/robots.txt"))))
        started = time.perf_counter()
        for h, path in plan:
            assert await call(app, h, path) in (200, 302)
        elapsed = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", count)
        print(
            f"{requests} requests over {domains} domains (links 50 %, root 25 %, robots 25 %):"
            f" {requests / elapsed:,.0f} requests/s, {elapsed / requests * 1e6:.0f} µs each,"
            f" SQL statements during them: {statements}"
        )
        await app.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=30000)
    args = parser.parse_args()
    asyncio.run(main(args.domains, args.requests))
