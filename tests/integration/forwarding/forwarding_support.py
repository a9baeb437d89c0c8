"""Shared set-up for the forwarding tests: a workspace with a link, the three
destinations pointed at the local receivers, clicks through the real worker."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ingest_support import PHONE, MemorySource, make_click, make_link
from receivers import Platforms
from sqlalchemy import text

import factories
from hoplink.conversions.models import EventResult, Source
from hoplink.conversions.notify import emit_conversions
from hoplink.conversions.parse import parse_event
from hoplink.conversions.service import record_event
from hoplink.forwarding import service
from hoplink.forwarding.delivery import ForwardDelivery
from hoplink.forwarding.models import Destination, Kind
from hoplink.forwarding.outbox import ForwardClicks
from hoplink.forwarding.platforms import Endpoints
from hoplink.ids import utcnow
from hoplink.ingest.worker import Worker
from hoplink.net.fetch import FetchLimits, SafeFetcher
from hoplink.storage.database import Database
from hoplink.webhooks.secrets import SecretBox

BOX = SecretBox("forwarding-test-secret-" + "k" * 32)
LOOPBACK = SafeFetcher(FetchLimits.build(allow_private=["127.0.0.1"], total_timeout=10))
GA4_SECRET = "ga4SecretValue123"
META_TOKEN = "EAAmetaAccessToken1234567890"
TIKTOK_TOKEN = "tiktokAccessToken1234567890"


def endpoints(rx: Platforms) -> Endpoints:
    return Endpoints(ga4=rx.base, meta=rx.base, tiktok=rx.base)


async def setup(
    db: Database,
    *,
    events: tuple[str, ...] = ("click", "purchase", "refund", "lead"),
    box: SecretBox = BOX,
) -> tuple[Any, Any, Any, dict[Kind, Destination]]:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
        dests = {
            Kind.GA4: await service.create_destination(
                tx, workspace_id=ws.id, kind=Kind.GA4, name="GA4", account_id="G-TEST1234",
                credential=GA4_SECRET, events=events, box=box,
            ),
            Kind.META: await service.create_destination(
                tx, workspace_id=ws.id, kind=Kind.META, name="Meta", account_id="1234567890",
                credential=META_TOKEN, events=events, box=box,
            ),
            Kind.TIKTOK: await service.create_destination(
                tx, workspace_id=ws.id, kind=Kind.TIKTOK, name="TikTok",
                account_id="CTESTPIXEL12345", credential=TIKTOK_TOKEN, events=events, box=box,
            ),
        }  # fmt: skip
    link = await make_link(
        db,
        ws,
        dom,
        utm={"utm_source": "facebook", "utm_medium": "paid_social", "utm_campaign": "spring"},
    )
    return dom, ws, link, dests


def hex_click(link: Any, ts: float, visitor: str, user_agent: str = PHONE, **ids: str) -> Any:
    return make_click(
        link,
        ts,
        visitor,
        click_id=secrets.token_hex(16),
        ad_click_ids=ids or None,
        user_agent=user_agent,
    )


async def run_clicks(db: Database, clicks: list[Any]) -> ForwardClicks:
    gather = ForwardClicks(db=db, interval=0.0)
    worker = Worker(db=db, source=MemorySource(), retry_base=0.001)
    worker.after_write = gather.after_write
    await worker.process(clicks)
    await gather.flush()
    return gather


async def post_event(db: Database, ws: Any, raw: dict[str, Any]) -> EventResult:
    now = utcnow()
    event, _hint = parse_event(raw, now=now)
    async with db.transaction() as tx:
        settings = await tx.conversions(ws.id).settings()
        result = await record_event(
            tx, workspace_id=ws.id, event=event, settings=settings, source=Source.API, now=now
        )
        await emit_conversions(tx, workspace_id=ws.id, results=[result])
    return result


def delivery(db: Database, rx: Platforms, **kw: Any) -> ForwardDelivery:
    return ForwardDelivery(db=db, fetcher=LOOPBACK, box=BOX, endpoints=endpoints(rx), **kw)


async def drain(d: ForwardDelivery, until: Callable[[], bool], seconds: float = 20) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await d.deliver_due()
        if until():
            return
        await asyncio.sleep(0.05)
    async with d.db.transaction() as tx:
        rows = (
            await tx.conn.execute(text("select kinds, status, error, answer from forward_batches"))
        ).all()
    raise AssertionError(f"not delivered in time: {d.counters} {rows}")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()
