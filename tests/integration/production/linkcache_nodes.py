"""What the link-cache tests share: hoplink web nodes in production mode in this process
(each its own runtime, on one PostgreSQL database and one Redis) that count their queries,
and the tenants and links they serve."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

import factories
from hoplink.app import HoplinkApp
from hoplink.config import load_settings
from hoplink.links import service
from hoplink.links.models import Link
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.redirect.invalidation import LinkInvalidation
from hoplink.redirect.shared_cache import SharedLinkCache
from hoplink.runtime import Runtime
from hoplink.storage.database import Database
from hoplink.workspaces.models import Workspace
from processes import SECRET


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
            tx, workspace=ws, domain=dom, spec=LinkSpec(url=url), actor=None, rules=LinkRules()
        )
