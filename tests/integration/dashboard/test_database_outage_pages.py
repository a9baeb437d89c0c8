"""The dashboard during a database outage: a friendly 503 page (English and Chinese, the
style of the other error pages) with Retry-After, never a bare 500; the same pages work
once the database is back. Real outages: PostgreSQL behind a proxy that resets every
connection (tests/chaos.py), and a SQLite file another process holds a write lock on past
the busy timeout.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
from dashboard_harness import running_dashboard
from sqlalchemy.engine import make_url

from chaos import ChaosProxy
from hoplink.workspaces.models import Role

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
FAST = {"database_connect_timeout": 0.5, "sqlite_busy_timeout": 0.2}


def _assert_friendly_503(r: httpx.Response, *, chinese: bool = False) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["retry-after"] == "5"
    if chinese:
        assert "暂时无法使用" in r.text and "数据库" in r.text
        assert "Temporarily unavailable" not in r.text
    else:
        assert "Temporarily unavailable" in r.text
        assert "cannot reach its database" in r.text and "try again" in r.text
    assert 'href="/app/"' in r.text  # the way back, as on every error page
    assert "Traceback" not in r.text and "OperationalError" not in r.text


async def test_postgresql_down_gives_the_friendly_503_page(
    pg_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = make_url(pg_database)
    async with ChaosProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        async with running_dashboard(url, tmp_path / "data", **FAST) as dash:
            b, ws = await dash.signed_in(Role.OWNER)
            links = f"/app/w/{ws.slug}/links"
            assert (await b.get(links)).status_code == 200
            await proxy.cut("reset")
            with caplog.at_level(logging.ERROR, logger="hoplink"):
                _assert_friendly_503(await b.get(links))
                _assert_friendly_503(await b.get(links, headers=ZH), chinese=True)
                _assert_friendly_503(await b.get(f"/app/w/{ws.slug}/analytics?range=7d"))
                # Signing in needs the database too: the same page, not a wrong password.
                other = dash.browser(("127.0.0.2", 50000))
                signin = await other.post(
                    "/app/signin", {"email": "owner-0@example.com", "password": "x" * 12}
                )
                _assert_friendly_503(signin)
            assert any("database unavailable" in r.getMessage() for r in caplog.records)
            assert not any("Exception in ASGI" in r.getMessage() for r in caplog.records)
            await proxy.restore()
            assert (await b.get(links)).status_code == 200


async def test_sqlite_locked_past_the_busy_timeout_gives_the_friendly_503_page(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "hoplink.db"
    shutil.copy(sqlite_template, path)
    async with running_dashboard(f"sqlite:///{path}", tmp_path / "data", **FAST) as dash:
        b, ws = await dash.signed_in(Role.OWNER)
        create = f"/app/w/{ws.slug}/links"
        form = {"url": "https://shop.example.com/item/1"}
        await b.get(create)
        # Another process writes (a restore, an import); in a thread, as the app's own
        # writes need this event loop to finish and let go.
        other = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
        try:
            _assert_friendly_503(await b.post(create, form, headers=ZH), chinese=True)
            _assert_friendly_503(await b.post(create, form))
        finally:
            await asyncio.to_thread(other.execute, "ROLLBACK")
            other.close()
        made = await b.post(create, form)
        assert made.status_code in (200, 303), made.text
        listed = await b.get(create)
        assert listed.text.count("shop.example.com/item/1") >= 1
