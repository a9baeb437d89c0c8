"""Builders for the conversions tests: a shop with links and clicks written by the real
worker, and a helper to post events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from api_client import Api
from hoplink.clicks.models import Click
from hoplink.ingest.worker import Worker

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
_ids = itertools.count()


class NoSource:
    async def read(self, max_items: int, wait: float) -> tuple[list[Click], object]:
        return [], None

    async def ack(self, token: object) -> None:
        return None


def click(link: dict[str, Any], ws_id: str, at: datetime, visitor: str, **kw: Any) -> Click:
    values: dict[str, Any] = {
        "click_id": f"clk{next(_ids):010d}x{link['id'][-6:]}",
        "ts": at.timestamp(),
        "link_id": link["id"],
        "workspace_id": ws_id,
        "domain": "hop.test",
        "method": "GET",
        "user_agent": PHONE,
        "referrer": "https://m.facebook.com/",
        "accept_language": "en-US",
        "country": "US",
        "visitor_hash": visitor,
    }
    return Click(**(values | kw))


async def write_clicks(api: Api, clicks: list[Click]) -> None:
    await Worker(db=api.db, source=NoSource()).process(clicks)


@dataclass
class Shop:
    ws_id: str
    headers: dict[str, str]
    links: list[dict[str, Any]]


async def shop(
    api: Api,
    name: str = "Acme Store",
    *,
    links: list[dict[str, Any]] | None = None,
    timezone: str = "UTC",
) -> Shop:
    ws = await api.workspace(name, timezone=timezone)
    headers = {"Authorization": f"Bearer {await api.key(ws)}"}
    made = []
    for spec in links or [{"url": "https://shop.example.com/a"}]:
        r = await api.http.post("/api/v1/links", json=spec, headers=headers)
        assert r.status_code == 201, r.text
        made.append(r.json())
    return Shop(ws.id, headers, made)


async def post(api: Api, headers: dict[str, str], body: Any) -> httpx.Response:
    return await api.http.post("/api/v1/conversions", json=body, headers=headers)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")
