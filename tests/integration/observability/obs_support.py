"""The real app in process, seen from a client with a public address, and metric parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

import factories
from dbs import truncate_all
from hoplink.app import HoplinkApp, create_app
from hoplink.config import load_settings
from hoplink.links import service
from hoplink.links.models import Link
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.runtime import Runtime
from hoplink.storage.database import Database
from processes import SECRET

# /metrics parsed: sample name → {sorted labels: value}.
Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]
# The client every request comes from (TEST-NET-3): it must never appear in a log line.
CLIENT_IP = "203.0.113.77"


@dataclass
class Running:
    app: HoplinkApp
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        assert self.app.runtime is not None
        return self.app.runtime

    @property
    def db(self) -> Database:
        return self.runtime.db

    async def link(self, url: str = "https://shop.example.com/item/1?sku=2") -> Link:
        async with self.db.transaction() as tx:
            dom = await factories.domain(tx)
            ws = await factories.workspace(tx)
            return await service.create_link(
                tx, workspace=ws, domain=dom, spec=LinkSpec(url=url), actor=None, rules=LinkRules()
            )

    async def api_headers(self) -> dict[str, str]:
        async with self.db.transaction() as tx:
            ws = await factories.workspace(tx, "Metrics Shop")
            key = await factories.api_key(tx, ws)
        return {"Authorization": f"Bearer {key}"}

    async def scrape(self, **headers: str) -> Samples:
        response = await self.http.get("/metrics", headers=headers)
        assert response.status_code == 200, response.text
        return samples(response.text)


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def total(found: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for k, v in found.get(name, {}).items() if want <= set(k))


@asynccontextmanager
async def running(
    db_url: str, data_dir: Path, *, worker: bool = False, **settings: Any
) -> AsyncIterator[Running]:
    """The app; with ``worker`` its embedded click worker runs too (else clicks stay in
    the journal)."""
    config = load_settings(
        database_url=db_url,
        data_dir=data_dir,
        default_domain=factories.DEFAULT_HOST,
        secret_key=SECRET,
        **{"metrics_public": True, **settings},
    )
    app = create_app(config, services=None if worker else ())
    await app.start()
    transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 50123))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{factories.DEFAULT_HOST}"
        ) as http:
            yield Running(app, http)
    finally:
        if app.runtime is not None and not app.runtime.db.is_sqlite:
            await truncate_all(app.runtime.db.engine)
        await app.stop()
