"""The real app with the dashboard, a signed-in browser-like client, and data builders.

``with_dashboard`` routes ``/`` and ``/app/…`` to the dashboard exactly as ``HoplinkApp``
does once it is wired there; if the app already has a ``dashboard`` it is used as is.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import factories
from dbs import truncate_all
from hoplink.accounts.models import User
from hoplink.accounts.users import add_member, create_user
from hoplink.app import HoplinkApp, create_app
from hoplink.config import load_settings
from hoplink.links import service
from hoplink.links.models import Link, ShortDomain
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.database import Database
from hoplink.workspaces.models import Role, Workspace

HOST = factories.DEFAULT_HOST
ORIGIN = f"http://{HOST}"
PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class Browser:
    """One person's cookie jar and the last CSRF token their pages carried."""

    http: httpx.AsyncClient
    token: str = ""

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        response = await self.http.get(path, **kw)
        if "text/html" in response.headers.get("content-type", ""):
            match = _TOKEN.search(response.text)
            if match:
                self.token = match.group(1)
        return response

    async def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        origin: str | None = ORIGIN,
        files: Any = None,
        **kw: Any,
    ) -> httpx.Response:
        if not self.token:
            await self.get("/app/signin")
        body = dict(data or {})
        body.setdefault("csrf_token", self.token if token is None else token)
        headers = dict(kw.pop("headers", {}))
        if origin is not None:
            headers["Origin"] = origin
        response = await self.http.post(path, data=body, files=files, headers=headers, **kw)
        if "text/html" in response.headers.get("content-type", ""):
            match = _TOKEN.search(response.text)
            if match:
                self.token = match.group(1)
        return response

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/app/signin")
        response = await self.post("/app/signin", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        # The first page after signing in carries the new (rotated) token.
        await self.get(response.headers["location"], follow_redirects=True)
        return response


@dataclass
class Dash:
    app: HoplinkApp
    transport: httpx.ASGITransport
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def db(self) -> Database:
        assert self.app.runtime is not None
        return self.app.runtime.db

    @property
    def domain(self) -> ShortDomain:
        assert self.app.runtime is not None
        return self.app.runtime.default_domain

    def browser(self, client: tuple[str, int] = ("127.0.0.1", 50000)) -> Browser:
        transport = httpx.ASGITransport(app=self.app, client=client)
        http = httpx.AsyncClient(transport=transport, base_url=ORIGIN)
        self.clients.append(http)
        return Browser(http)

    async def workspace(self, name: str = "Acme Store", **kw: Any) -> Workspace:
        async with self.db.transaction() as tx:
            return await factories.workspace(tx, name, **kw)

    async def user(
        self,
        email: str,
        ws: Workspace | None = None,
        role: Role = Role.OWNER,
        *,
        platform_admin: bool = False,
    ) -> User:
        async with self.db.transaction() as tx:
            user = await create_user(
                tx, email=email, password=PASSWORD, is_platform_admin=platform_admin
            )
            if ws is not None:
                await add_member(tx, user=user, workspace=ws, role=role)
            return user

    async def link(self, ws: Workspace, **spec: Any) -> Link:
        spec.setdefault("url", "https://shop.example.com/item/1")
        async with self.db.transaction() as tx:
            return await service.create_link(
                tx,
                workspace=ws,
                domain=self.domain,
                spec=LinkSpec(**spec),
                actor="test",
                rules=LinkRules(),
            )

    async def signed_in(
        self, role: Role = Role.OWNER, ws: Workspace | None = None, email: str | None = None
    ) -> tuple[Browser, Workspace]:
        ws = ws or await self.workspace()
        email = email or f"{role.value}-{len(self.clients)}@example.com"
        await self.user(email, ws, role)
        browser = self.browser()
        await browser.sign_in(email)
        return browser, ws


@asynccontextmanager
async def running_dashboard(db_url: str, data_dir: Path, **settings: Any) -> AsyncIterator[Dash]:
    config = load_settings(
        database_url=db_url,
        data_dir=data_dir,
        default_domain=HOST,
        embedded_worker=False,
        secret_key="dashboard-test-secret-" + "k" * 32,
        **settings,
    )
    app = create_app(config)
    await app.start()
    dash = Dash(app, httpx.ASGITransport(app=app))
    try:
        yield dash
    finally:
        for client in dash.clients:
            await client.aclose()
        if app.runtime is not None and not app.runtime.db.is_sqlite:
            await truncate_all(app.runtime.db.engine)
        await app.stop()
