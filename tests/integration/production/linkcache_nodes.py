"""What the link-cache tests share: hoplink web nodes in production mode in this process
(each its own runtime, on one PostgreSQL database and one Redis), a unique key prefix per
test, a throwaway redis-server, and a query counter."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import event

import factories
from dbs import REDIS_URL as SHARED_REDIS
from hoplink.app import HoplinkApp
from hoplink.config import load_settings
from hoplink.links import service
from hoplink.links.models import Link
from hoplink.links.service import LinkSpec
from hoplink.redirect.invalidation import LinkInvalidation
from hoplink.redirect.shared_cache import SharedLinkCache
from hoplink.runtime import Runtime
from hoplink.storage.database import Database
from hoplink.workspaces.models import Workspace

SECRET = "test-secret-key-" + "y" * 32


def async_url(url: str) -> str:
    """The asyncpg URL of a plain postgresql:// one (not imported from the root conftest:
    "conftest" is another module when a sibling directory's conftest was loaded first)."""
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def key_prefix(url: str = SHARED_REDIS) -> Iterator[str]:
    """A prefix of this test's own on the shared Redis; its keys are deleted afterwards."""
    prefix = f"hltest:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@dataclass
class RedisServer:
    """A redis-server of the test's own on a free port (never the shared one), which the
    test may stop and start again on the same port."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own arguments
            ["/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Node:
    """One web node: the real app (redirect edge, API) on an in-process ASGI client."""

    app: HoplinkApp
    http: httpx.AsyncClient
    queries: list[str] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        assert self.app.runtime is not None
        return self.app.runtime

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def shared(self) -> SharedLinkCache:
        assert self.runtime.shared_links is not None
        return self.runtime.shared_links

    @property
    def invalidation(self) -> LinkInvalidation:
        assert self.runtime.invalidation is not None
        return self.runtime.invalidation

    def selects(self) -> list[str]:
        return [q for q in self.queries if q.lstrip().upper().startswith("SELECT")]

    async def get(self, code: str, host: str = factories.DEFAULT_HOST) -> httpx.Response:
        return await self.http.get(f"/{code}", headers={"host": host})


@asynccontextmanager
async def node(
    db_url: str, data_dir: Path, *, redis_url: str, prefix: str, **settings: Any
) -> AsyncIterator[Node]:
    config = load_settings(
        database_url=db_url,
        data_dir=data_dir,
        default_domain=factories.DEFAULT_HOST,
        redis_url=redis_url,
        redis_key_prefix=prefix,
        secret_key=SECRET,
        **settings,
    )
    app = HoplinkApp(config, services=())  # no worker: the clicks stay in the stream
    await app.start()
    transport = httpx.ASGITransport(app=app, client=("1.0.16.20", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hop.test") as http:
            running = Node(app, http)

            def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
                running.queries.append(statement)

            event.listen(running.db.engine.sync_engine, "before_cursor_execute", count)
            yield running
    finally:
        await app.stop()


async def tenant(db: Database, name: str = "Acme Store") -> tuple[Workspace, dict[str, str]]:
    """A workspace and the Authorization header of an API key of it."""
    async with db.transaction() as tx:
        ws = await factories.workspace(tx, name)
        key = await factories.api_key(tx, ws, factories.ALL_SCOPES)
    return ws, {"Authorization": f"Bearer {key}"}


async def create_link(
    db: Database, ws: Workspace, url: str, *, host: str = factories.DEFAULT_HOST
) -> Link:
    async with db.transaction() as tx:
        dom = await factories.domain(tx, host)
        return await service.create_link(
            tx, workspace=ws, domain=dom, spec=LinkSpec(url=url), actor=None, code_length=7
        )
