"""What the click-stream tests share: a link, its counts (raw clicks and rollups), and a
load generator that asks a running `hoplink serve` for it. (Processes: tests/processes.py;
Redis servers of their own: tests/private_redis.py.)"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

import factories
from hoplink.links import service
from hoplink.links.models import Link
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.database import Database
from hoplink.storage.tables import clicks, rollup_link_days, rollup_link_hours


async def create_link(db: Database) -> Link:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
        return await service.create_link(
            tx,
            workspace=ws,
            domain=dom,
            spec=LinkSpec(url="https://shop.example.com/item/1"),
            actor=None,
            rules=LinkRules(),
        )


async def counted(db: Database, link_id: str) -> tuple[int, int, int]:
    """(raw clicks, hourly rollup PV, daily rollup PV) of one link."""
    async with db.engine.connect() as conn:
        raw = await conn.scalar(select(func.count()).where(clicks.c.link_id == link_id))
        hours = await conn.scalar(
            select(func.coalesce(func.sum(rollup_link_hours.c.pv), 0)).where(
                rollup_link_hours.c.link_id == link_id
            )
        )
        days = await conn.scalar(
            select(func.coalesce(func.sum(rollup_link_days.c.pv), 0)).where(
                rollup_link_days.c.link_id == link_id
            )
        )
    return int(raw or 0), int(hours or 0), int(days or 0)


async def wait_counted(db: Database, link_id: str, expected: int, within: float = 20) -> None:
    """Until the link's raw clicks and rollups all say ``expected`` (or the time is up)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await counted(db, link_id) == (expected, expected, expected):
            return
        await asyncio.sleep(0.1)


@dataclass
class Load:
    """Concurrent GETs of one short link; counts the answers by status."""

    url: str
    path: str
    concurrency: int = 32
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    first_error_at: float | None = None

    @property
    def redirects(self) -> int:
        return self.statuses.get(302, 0)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(
            base_url=self.url, limits=limits, timeout=10, headers={"host": factories.DEFAULT_HOST}
        ) as client:
            await asyncio.gather(*(self._one(client) for _ in range(self.concurrency)))

    async def _one(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            try:
                response = await client.get(self.path)
            except httpx.TransportError:
                self.errors += 1
                if self.first_error_at is None:
                    self.first_error_at = time.monotonic()
                await asyncio.sleep(0.01)
                continue
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1

    async def until(self, redirects: int, within: float = 20) -> None:
        deadline = time.monotonic() + within
        while self.redirects < redirects and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        assert self.redirects >= redirects, f"only {self.statuses} (errors {self.errors})"
