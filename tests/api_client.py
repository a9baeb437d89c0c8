"""A client on the real app (ASGI transport), plus helpers to arrange tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import factories
from dbs import truncate_all
from hoplink.accounts.models import Scope
from hoplink.app import HoplinkApp, create_app
from hoplink.config import load_settings
from hoplink.storage.database import Database
from hoplink.workspaces.models import Workspace


@dataclass
class Api:
    app: HoplinkApp
    http: httpx.AsyncClient

    @property
    def db(self) -> Database:
        assert self.app.runtime is not None
        return self.app.runtime.db

    async def workspace(self, name: str = "Acme Store", **kw: Any) -> Workspace:
        async with self.db.transaction() as tx:
            return await factories.workspace(tx, name, **kw)

    async def key(self, ws: Workspace, scopes: frozenset[Scope] = factories.ALL_SCOPES) -> str:
        async with self.db.transaction() as tx:
            return await factories.api_key(tx, ws, scopes)

    async def tenant(
        self, name: str = "Acme Store", scopes: frozenset[Scope] = factories.ALL_SCOPES
    ) -> tuple[Workspace, dict[str, str]]:
        ws = await self.workspace(name)
        key = await self.key(ws, scopes)
        return ws, {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def running_api(db_url: str, data_dir: Path, **settings: Any) -> AsyncIterator[Api]:
    config = load_settings(
        database_url=db_url, data_dir=data_dir, default_domain=factories.DEFAULT_HOST, **settings
    )
    app = create_app(config)
    await app.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hop.test") as http:
            yield Api(app, http)
    finally:
        # The PostgreSQL test database is shared by the session: leave it empty.
        if app.runtime is not None and not app.runtime.db.is_sqlite:
            await truncate_all(app.runtime.db.engine)
        await app.stop()


def assert_problem(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
        assert any(e["field"] == field for e in body["errors"])
    return body
