"""A database outage answers 503 unavailable with Retry-After — never a 500 — on /api and
on the Shlink-compatible /rest/v3, each in its own error shape; the error is logged,
nothing is half-written, and the same requests succeed once the database is back.

Real outages, no mocks: PostgreSQL behind a proxy of our own (tests/chaos.py) whose
connections are reset, whose port is closed, or that goes silent (the connect timeout
runs out); a pool whose every connection is taken (the pool timeout runs out); a SQLite
file another process holds a write lock on past the busy timeout, or whose directory has
gone. A programming error stays a 500 (``storage/outage.py`` draws the line).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection

from api_client import Api, assert_problem, running_api
from chaos import ChaosProxy

# Outages are noticed in well under a second; the defaults (2 s connect, 30 s pool, 10 s
# SQLite busy) only make them slower.
FAST: dict[str, Any] = {
    "database_connect_timeout": 0.5,
    "database_pool_timeout": 0.3,
    "sqlite_busy_timeout": 0.2,
}
REST = "/rest/v3"
URL = "https://shop.example.com/item/1"


@asynccontextmanager
async def _pool_taken(api: Api) -> AsyncIterator[None]:
    """Every connection of the app's pool checked out (long requests, a stuck job)."""
    held: list[AsyncConnection] = []
    try:
        while True:
            try:
                held.append(await api.db.engine.connect())
            except PoolTimeout:
                break
        yield
    finally:
        for conn in held:
            await conn.close()


@asynccontextmanager
async def _sqlite_locked(path: Path) -> AsyncIterator[None]:
    """Another process's write transaction (a restore, a long import) holds the lock."""
    # In a thread: the app's own writes need this event loop to finish and let go.
    other = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
    try:
        yield
    finally:
        await asyncio.to_thread(other.execute, "ROLLBACK")
        other.close()


@asynccontextmanager
async def _sqlite_gone(api: Api, directory: Path) -> AsyncIterator[None]:
    """The database's directory is unmounted (moved away). Idle pooled connections would
    keep the old file open; they are let go, as a restart or a recycled connection does,
    so the next request opens the path anew."""
    away = directory.with_name(directory.name + "-away")
    # Moved first, then the pool let go: a background task of the app (the change-feed
    # poller, the domain re-checker) that opened a connection in between would otherwise
    # keep the moved file open in the new pool.
    await asyncio.to_thread(directory.rename, away)
    await api.db.engine.dispose()
    try:
        yield
    finally:
        await asyncio.to_thread(away.rename, directory)


def _assert_unavailable(r: httpx.Response) -> None:
    body = assert_problem(r, 503, "unavailable")
    assert body["type"] == "https://hoplink.dev/problems/unavailable"
    assert body["title"] == "Service unavailable"
    assert "database" in body["detail"] and "try again" in body["detail"]
    assert r.headers["retry-after"] == "5"


def _assert_shlink_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body == {
        "type": "https://hoplink.dev/problems/unavailable",
        "title": "Service unavailable",
        "detail": "the database is unavailable right now; try again in a few seconds",
        "status": 503,
    }
    assert r.headers["retry-after"] == "5"


async def _through(
    api: Api, outage: Any, caplog: pytest.LogCaptureFixture, *, reads_fail: bool = True
) -> None:
    """Before, during and after ``outage``: what /api and /rest/v3 answer."""
    _ws, headers = await api.tenant("Outage Shop")
    shlink = {"X-Api-Key": headers["Authorization"].removeprefix("Bearer ")}
    first = await api.http.post("/api/v1/links", json={"url": URL}, headers=headers)
    assert first.status_code == 201, first.text
    link_id = first.json()["id"]
    assert (await api.http.get("/api/v1/links", headers=headers)).status_code == 200

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="hoplink"):
        async with outage:
            r = await api.http.post("/api/v1/links", json={"url": URL + "?d=1"}, headers=headers)
            _assert_unavailable(r)
            body = {"longUrl": URL + "?d=2"}
            _assert_shlink_unavailable(
                await api.http.post(f"{REST}/short-urls", json=body, headers=shlink)
            )
            if reads_fail:
                for path in (
                    "/api/v1/links",
                    f"/api/v1/links/{link_id}",
                    "/api/v1/stats/workspace",
                ):
                    _assert_unavailable(await api.http.get(path, headers=headers))
                _assert_shlink_unavailable(await api.http.get(f"{REST}/short-urls", headers=shlink))
    logged = [r for r in caplog.records if r.name == "hoplink.storage"]
    assert logged and all(r.levelno == logging.ERROR for r in logged)
    assert all("database unavailable, answered 503" in r.getMessage() for r in logged)
    assert not [r for r in caplog.records if "unhandled error" in r.getMessage()]

    # Back: nothing of the refused writes was half-done, and the same calls work.
    listed = await api.http.get("/api/v1/links", headers=headers)
    assert listed.status_code == 200
    assert [item["url"] for item in listed.json()["items"]] == [URL]
    again = await api.http.post("/api/v1/links", json={"url": URL + "?d=1"}, headers=headers)
    assert again.status_code == 201, again.text
    shlink_list = await api.http.get(f"{REST}/short-urls", headers=shlink)
    assert shlink_list.status_code == 200


# -- PostgreSQL --------------------------------------------------------------------------


@asynccontextmanager
async def _pg_app(pg_database: str, tmp_path: Path) -> AsyncIterator[tuple[Api, ChaosProxy]]:
    target = make_url(pg_database)
    host, port = target.host or "127.0.0.1", target.port or 5432
    async with AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(ChaosProxy(host, port))
        url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        api = await stack.enter_async_context(running_api(url, tmp_path / "data", **FAST))
        yield api, proxy


@asynccontextmanager
async def _cut(proxy: ChaosProxy, mode: str) -> AsyncIterator[None]:
    await proxy.cut("blackhole" if mode == "blackhole" else "reset")
    try:
        yield
    finally:
        await proxy.restore()


@asynccontextmanager
async def _port_closed(proxy: ChaosProxy) -> AsyncIterator[None]:
    """Nothing listens on the database's port any more: connection refused."""
    port = proxy.port
    await proxy.close()
    try:
        yield
    finally:
        proxy.listen_port = port
        await proxy.start()


@pytest.mark.parametrize("kind", ["reset", "closed_port", "blackhole", "pool_taken"])
async def test_postgresql_outage_answers_503(
    pg_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    async with _pg_app(pg_database, tmp_path) as (api, proxy):
        outage = {
            "reset": lambda: _cut(proxy, "reset"),
            "blackhole": lambda: _cut(proxy, "blackhole"),
            "closed_port": lambda: _port_closed(proxy),
            "pool_taken": lambda: _pool_taken(api),
        }[kind]()
        await _through(api, outage, caplog)


# -- SQLite ------------------------------------------------------------------------------


@asynccontextmanager
async def _sqlite_app(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[tuple[Api, Path]]:
    path = tmp_path / "db" / "hoplink.db"
    path.parent.mkdir()
    shutil.copy(sqlite_template, path)
    async with running_api(f"sqlite:///{path}", tmp_path / "data", **FAST) as api:
        yield api, path


@pytest.mark.parametrize("kind", ["locked", "gone", "pool_taken"])
async def test_sqlite_outage_answers_503(
    sqlite_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    async with _sqlite_app(sqlite_template, tmp_path) as (api, path):
        outage = {
            "locked": lambda: _sqlite_locked(path),
            "gone": lambda: _sqlite_gone(api, path.parent),
            "pool_taken": lambda: _pool_taken(api),
        }[kind]()
        # WAL: another process's write lock blocks writers only; reads go on.
        await _through(api, outage, caplog, reads_fail=kind != "locked")


async def test_a_database_error_that_is_a_bug_stays_a_500(
    sqlite_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing table is a broken install, not an outage: 500 internal, logged as such."""
    async with _sqlite_app(sqlite_template, tmp_path) as (api, path):
        _ws, headers = await api.tenant("Broken Shop")
        body = {"url": URL, "tags": ["summer"]}
        assert (await api.http.post("/api/v1/links", json=body, headers=headers)).is_success
        other = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        await asyncio.to_thread(other.execute, "DROP TABLE link_tags")
        other.close()
        transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://hop.test") as http:
            with caplog.at_level(logging.ERROR, logger="hoplink"):
                r = await http.get("/api/v1/links", headers=headers)
        assert_problem(r, 500, "internal")
        assert any("unhandled error" in rec.getMessage() for rec in caplog.records)
        assert not any("database unavailable" in rec.getMessage() for rec in caplog.records)
