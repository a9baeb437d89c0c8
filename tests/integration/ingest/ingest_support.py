"""Test doubles and builders for the worker tests (an in-memory ClickSource)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text

from hoplink.clicks.models import Click
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.database import Database
from hoplink.storage.tables import metadata

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/122.0.0.0 Safari/537.36"
)
PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
_ids = itertools.count()


def make_click(link: Any, ts: float, visitor: str = "v1", **kw: Any) -> Click:
    values: dict[str, Any] = {
        "click_id": f"clk{next(_ids):012d}",
        "ts": ts,
        "link_id": link.id,
        "workspace_id": link.workspace_id,
        "domain": "hop.test",
        "method": "GET",
        "user_agent": PHONE,
        "referrer": "https://m.facebook.com/story.php?story_fbid=1",
        "accept_language": "en-US,en;q=0.9",
        "country": "US",
        "visitor_hash": visitor,
    }
    values.update(kw)
    return Click(**values)


async def make_link(db: Database, ws: Any, dom: Any, **spec: Any) -> Any:
    spec.setdefault("url", "https://shop.example.com/item/1")
    async with db.transaction() as tx:
        return await service.create_link(
            tx, workspace=ws, domain=dom, spec=LinkSpec(**spec), actor="test", rules=LinkRules()
        )


class MemorySource:
    """A ClickSource double: a list, with tokens that remember what they cover."""

    def __init__(self, clicks: Iterable[Click] = ()) -> None:
        self.queue: list[Click] = list(clicks)
        self.unacked: dict[int, list[Click]] = {}
        self.acked: list[Click] = []
        self._tokens = itertools.count()

    def put(self, click: Click) -> None:
        self.queue.append(click)

    async def read(self, max_items: int, timeout: float) -> tuple[list[Click], object]:  # noqa: ASYNC109
        if not self.queue:
            await asyncio.sleep(min(timeout, 0.01))
        batch, self.queue = self.queue[:max_items], self.queue[max_items:]
        token = next(self._tokens)
        if batch:
            self.unacked[token] = batch
        return batch, token

    async def ack(self, token: object) -> None:
        assert isinstance(token, int)
        self.acked += self.unacked.pop(token)


ROLLUP_TABLES = [t.name for t in metadata.sorted_tables if t.name.startswith("rollup_")]


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup, seen-set and click row, for before/after comparisons."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.engine.connect() as conn:
        for name in [*ROLLUP_TABLES, "visitor_seen", "clicks"]:
            rows = await conn.execute(text(f"SELECT * FROM {name}"))
            out[name] = sorted(tuple(r) for r in rows)
    return out
