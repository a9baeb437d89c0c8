"""Back-pressure and outcomes of the forwarding loop on /metrics: clicks the full buffer
could not take are counted as dropped, sent events by outcome; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time

from forwarding_support import delivery, hex_click, setup
from ingest_support import MemorySource
from prometheus_client.parser import text_string_to_metric_families
from receivers import Platforms, running_platforms

from hoplink.forwarding.outbox import ForwardClicks
from hoplink.ingest.worker import Worker
from hoplink.observability.metrics import LIVE, exposition
from hoplink.storage.database import Database


def _scrape() -> dict[str, float]:
    text = exposition(None)[0].decode()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            name = s.name + "".join(f"{{{k}={v}}}" for k, v in sorted(s.labels.items()))
            found[name] = s.value
    return found


async def test_full_buffer_counts_dropped_clicks_and_sent_events_are_exported(
    db: Database,
) -> None:
    async with running_platforms(Platforms()) as rx:
        _dom, _ws, link, _dests = await setup(db)  # GA4, Meta and TikTok want every click
        gather = ForwardClicks(db=db, interval=0.0, buffer=2)
        worker = Worker(db=db, source=MemorySource(), retry_base=0.001)
        worker.after_write = gather.after_write
        before = _scrape()
        now = time.time() - 30
        await worker.process([hex_click(link, now + i, f"v{i}", fbclid=f"fb{i}") for i in range(5)])
        assert gather.dropped == 3 and gather.buffered == 2  # the worker was not held up
        d = delivery(db, rx, clicks=gather, poll_interval=0.05)
        await d.start()
        try:
            assert d in LIVE.forwarders
            for _ in range(400):
                if all(len(rx.events[p]) == 2 for p in ("ga4", "meta", "tiktok")):
                    break
                await asyncio.sleep(0.05)
            for _ in range(100):  # the outcome is recorded just after the answer
                if d.counters.sent == 6:
                    break
                await asyncio.sleep(0.05)
            after = _scrape()
        finally:
            await d.stop()
        assert d not in LIVE.forwarders

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert delta("hoplink_forwarding_clicks_dropped_total") == 3
    assert after["hoplink_forwarding_clicks_buffered"] == 0
    assert delta("hoplink_forwarding_events_queued_total") == 6  # 2 clicks, 3 platforms
    assert delta("hoplink_forwarding_events_total{outcome=sent}") == 6
    assert delta("hoplink_forwarding_events_total{outcome=dead}") == 0
    assert delta("hoplink_forwarding_requests_total") == 4  # GA4: one per client_id
