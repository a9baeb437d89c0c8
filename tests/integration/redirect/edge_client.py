"""The real app (redirect edge + journal) in process, and helpers to arrange links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import factories
from hoplink.app import HoplinkApp
from hoplink.clicks.models import Click
from hoplink.config import load_settings
from hoplink.ids import new_id, utcnow
from hoplink.ingest.journal import ClickJournal
from hoplink.links import service
from hoplink.links.models import Link, ShortDomain
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.runtime import Runtime
from hoplink.storage.database import Database
from hoplink.workspaces.models import Workspace

# The socket peer the in-process client appears to come from.
PEER = "1.0.16.20"  # an APNIC block allocated to Japan


@dataclass
class Edge:
    app: HoplinkApp
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        assert self.app.runtime is not None
        return self.app.runtime

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def journal(self) -> ClickJournal:
        assert self.runtime.journal is not None
        return self.runtime.journal

    async def workspace(self, name: str = "Acme Store", **kw: Any) -> Workspace:
        async with self.db.transaction() as tx:
            return await factories.workspace(tx, name, **kw)

    async def domain(self, host: str = factories.DEFAULT_HOST) -> ShortDomain:
        async with self.db.transaction() as tx:
            found = await tx.short_domains.by_hostname(host)
            if found is not None:
                return found
            dom = ShortDomain(id=new_id("dom"), hostname=host, workspace_id=None, is_default=False)
            await tx.short_domains.insert(dom, utcnow())
            return dom

    async def link(
        self, ws: Workspace, url: str, *, host: str = factories.DEFAULT_HOST, **spec: Any
    ) -> Link:
        dom = await self.domain(host)
        async with self.db.transaction() as tx:
            return await service.create_link(
                tx,
                workspace=ws,
                domain=dom,
                spec=LinkSpec(url=url, **spec),
                actor="test",
                rules=LinkRules(),
            )

    async def clicks(self) -> list[Click]:
        clicks, token = await self.journal.read(100_000, timeout=0)
        await self.journal.ack(token)
        return clicks


@asynccontextmanager
async def running_edge(db_url: str, data_dir: Path, **settings: Any) -> AsyncIterator[Edge]:
    config = load_settings(
        database_url=db_url, data_dir=data_dir, default_domain=factories.DEFAULT_HOST, **settings
    )
    app = HoplinkApp(config, services=())  # no worker: the tests read the journal themselves
    await app.start()
    transport = httpx.ASGITransport(app=app, client=(PEER, 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hop.test") as http:
            yield Edge(app, http)
    finally:
        await app.stop()
