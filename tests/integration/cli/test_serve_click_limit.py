"""The default installation (``hoplink serve``: SQLite, no Redis, the click worker as a child
process) stops a link at its click limit within about a second, not after the redirect
cache TTL: the child's count reaches the web process through the change feed
(``redirect_changes``, polled every 0.5 s). The cache TTL here is 60 s, so a web process that
learnt of the limit only from its TTL would fail the bound by far."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from pathlib import Path

import httpx
from cli_harness import DOMAIN, Cli, cli_env

from hoplink.links.service import update_link
from hoplink.links.spec import LinkEdit
from hoplink.storage.database import Database
from processes import free_port, hoplink

CODE = "drop-3"
LIMIT = 3
PRODUCT = "https://shop.example.com/p/1"
EXPIRED = "https://shop.example.com/sold-out"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Version/17.4 Mobile Safari"
# The worker's flush interval (0.2 s), its batch commit, the feed's poll (0.5 s) and the
# query: about 1 s on a quiet machine; the allowance is for a machine running many suites.
BOUND = 3.0


def _limit(cli: Cli, link_id: str) -> None:
    async def run() -> None:
        db = Database.from_url(cli.settings.database_url_async)
        try:
            async with db.transaction() as tx:
                workspace = await tx.workspaces.find("acme")
                assert workspace is not None
                change = LinkEdit(max_clicks=LIMIT, expiry_url=EXPIRED)
                await update_link(
                    tx, workspace=workspace, link_id=link_id, edit=change, actor="test"
                )
        finally:
            await db.dispose()

    asyncio.run(run())


def _clicks(data: Path) -> int:
    with contextlib.closing(sqlite3.connect(data / "hoplink.db", timeout=30)) as conn:
        return int(conn.execute("SELECT count(*) FROM clicks").fetchone()[0])


def _get(port: int, code: str = CODE) -> str:
    r = httpx.get(
        f"http://127.0.0.1:{port}/{code}",
        headers={"host": DOMAIN, "user-agent": BROWSER},
        timeout=10,
    )
    assert r.status_code == 302, r.status_code
    return r.headers["location"].split("?", 1)[0]


def test_an_exhausted_link_stops_within_a_second_with_the_child_worker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli = Cli(cli_env(f"sqlite:///{data / 'hoplink.db'}", data))
    cli.ok("db", "upgrade")
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    cli.ok("link", "create", PRODUCT, "--workspace", "acme", "--code", CODE)
    cli.ok("link", "create", PRODUCT, "--workspace", "acme", "--code", "warm-up")

    async def link_id(tx: object) -> str:
        from hoplink.storage.tx import Tx

        assert isinstance(tx, Tx)
        domain = await tx.short_domains.by_hostname(DOMAIN)
        workspace = await tx.workspaces.find("acme")
        assert domain is not None and workspace is not None
        found = await tx.links(workspace.id).by_code(domain.id, CODE)
        assert found is not None
        return found.id

    _limit(cli, cli.query(link_id))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPLINK_")}
    env |= cli.env | {
        "PYTHONUNBUFFERED": "1",
        "HOPLINK_PORT": str(port),
        "HOPLINK_REDIRECT_CACHE_TTL": "60",
    }
    with hoplink(["serve"], env, tmp_path / "serve.log") as proc:
        proc.wait_for("hoplink is running at", timeout=90)
        # The child worker is up and has written a batch (its start-up is not measured).
        _get(port, "warm-up")
        deadline = time.monotonic() + 90
        while _clicks(data) == 0:
            assert time.monotonic() < deadline, "the worker child wrote nothing"
            time.sleep(0.1)
        for _ in range(LIMIT):  # the link is now cached for 60 s
            assert _get(port) == PRODUCT
        last = time.monotonic()
        served_after = 0
        while (where := _get(port)) == PRODUCT:
            served_after += 1
            assert time.monotonic() - last < 30, "the limit never reached the web process"
            time.sleep(0.05)
        took = time.monotonic() - last
        assert where == EXPIRED
        print(f"limit reached the edge in {took:.2f} s; {served_after} clicks over the limit")
        assert took < BOUND, took
        for _ in range(3):  # and it stays expired
            assert _get(port) == EXPIRED
