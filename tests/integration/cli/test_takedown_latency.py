"""Issue 15, finding 8: a takedown made by another process reaches a running embedded
server within a second, not when its cache entry expires.

A real ``hoplink serve`` (embedded mode: no Redis) on the test database, with a 60 s
redirect cache; the changes are made from this process — the ``hoplink`` CLI for a
suspension, the services on a database connection of their own for a ban, an archive and
an edit (what another web process does). Each must show on the server's redirects within
the bound below; without the change feed each would take up to the 60 s TTL.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cli_harness import DOMAIN, Cli

from hoplink.links.service import update_link
from hoplink.links.spec import LinkEdit
from hoplink.moderation import service as moderation
from hoplink.storage.database import Database
from hoplink.storage.tx import Tx
from processes import SECRET, free_port, hoplink, wait_http

PRODUCT = "https://shop.example.com/item/1"
EDITED = "https://shop.example.com/item/2"
BOUND = 2.0  # seconds; the feed polls every 0.5 s (measured times are printed)


@contextmanager
def _server(cli: Cli, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        **cli.env,
        "HOPLINK_PORT": str(port),
        "HOPLINK_SECRET_KEY": SECRET,
        "HOPLINK_REDIRECT_CACHE_TTL": "60",
        "HOPLINK_REDIRECT_NEGATIVE_TTL": "60",
    }
    env.pop("HOPLINK_REDIS_URL", None)
    base = f"http://127.0.0.1:{port}"
    with hoplink(["serve"], env, tmp_path / "serve.log") as proc:
        wait_http(base, 90, proc, path="/healthz")  # start-up is slow on a busy machine
        yield base


def _get(base: str, code: str) -> httpx.Response:
    return httpx.get(f"{base}/{code}", headers={"Host": DOMAIN}, timeout=5)


def _until(base: str, code: str, check: Callable[[httpx.Response], bool]) -> float:
    """Seconds until the server's answer for ``code`` passes ``check`` (fails past 10 s)."""
    start = time.monotonic()
    while time.monotonic() - start < 10:
        if check(_get(base, code)):
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{code}: not seen in 10 s")


def _link(cli: Cli, ws: str) -> tuple[str, str]:
    made = cli.ok("link", "create", PRODUCT, "-w", ws).stdout
    code = re.search(r"/([A-Za-z0-9]{7})\b", made)
    assert code

    async def link_id(tx: Tx) -> str:
        domain = await tx.short_domains.by_hostname(DOMAIN)
        workspace = await tx.workspaces.find(ws)
        assert domain is not None and workspace is not None
        found = await tx.links(workspace.id).by_code(domain.id, code.group(1))
        assert found is not None
        return found.id

    return code.group(1), cli.query(link_id)


def _in_tx(cli: Cli, work: Callable[[Tx], Awaitable[object]]) -> None:
    """``work`` in a write transaction of a database engine of its own (another process's
    view of the database), committed at the end."""

    async def run() -> None:
        db = Database.from_url(cli.settings.database_url_async)
        try:
            async with db.transaction() as tx:
                await work(tx)
        finally:
            await db.dispose()

    asyncio.run(run())


def _redirects_to(url: str) -> Callable[[httpx.Response], bool]:
    # (the Location also carries the click id, issue 10)
    return lambda r: r.status_code == 302 and r.headers["location"].split("?", 1)[0] == url


def test_suspend_ban_archive_and_edit_reach_the_server_within_a_second(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    codes = {name: _link(cli, "acme") for name in ("suspend", "ban", "archive", "edit")}
    timings: dict[str, float] = {}
    with _server(cli, tmp_path) as base:
        for code, _ in codes.values():  # cached now, for 60 s
            assert _redirects_to(PRODUCT)(_get(base, code))

        cli.ok("workspace", "suspend", "acme", "--reason", "phishing")
        timings["suspend"] = _until(base, codes["suspend"][0], lambda r: r.status_code != 302)
        cli.ok("workspace", "reinstate", "acme", "--reason", "cleaned up")
        timings["reinstate"] = _until(base, codes["suspend"][0], _redirects_to(PRODUCT))

        async def ban(tx: Tx) -> None:
            await moderation.ban_link(tx, link_id=codes["ban"][1], reason="phishing", actor="test")

        _in_tx(cli, ban)
        timings["ban"] = _until(base, codes["ban"][0], lambda r: r.status_code == 410)

        def edit(link_id: str, change: LinkEdit) -> Callable[[Tx], Awaitable[None]]:
            async def work(tx: Tx) -> None:
                workspace = await tx.workspaces.find("acme")
                assert workspace is not None
                await update_link(
                    tx, workspace=workspace, link_id=link_id, edit=change, actor="test"
                )

            return work

        # Archiving keeps a link live (issue 14); turning it off is the takedown.
        _in_tx(cli, edit(codes["archive"][1], LinkEdit(disabled=True)))
        timings["disable"] = _until(base, codes["archive"][0], lambda r: r.status_code != 302)
        _in_tx(cli, edit(codes["edit"][1], LinkEdit(url=EDITED)))
        timings["edit"] = _until(base, codes["edit"][0], _redirects_to(EDITED))
    print("takedown latency (s):", {k: round(v, 3) for k, v in timings.items()})
    assert all(v < BOUND for v in timings.values()), timings
