"""kill -9 of a `hoplink worker` process while it is forwarding: every event still reaches
the platforms, none is lost; what is sent twice carries the same event id, which the
platforms (and the receiver) dedupe by."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from forwarding_support import post_event, setup
from receivers import Platforms, running_platforms

import factories
from hoplink.storage.database import Database
from hoplink.webhooks.secrets import SecretBox
from processes import SECRET, hoplink

EVENTS = 30


async def _wait(condition: object, seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_kill_9_during_forwarding_loses_nothing(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    async with running_platforms(Platforms(delay=1.0)) as rx:
        _dom, ws, _link, _dests = await setup(db, events=("purchase",), box=SecretBox(SECRET))
        for i in range(EVENTS):
            await post_event(db, ws, {
                "type": "purchase", "event_id": f"k-{i}", "order_id": f"K-{i}", "amount": 100 + i,
                "currency": "USD", "customer": {"email": f"buyer{i}@example.com"},
            })  # fmt: skip
        data_dir = tmp_path / "data"
        (data_dir / "journal").mkdir(parents=True)
        env = {
            **os.environ,
            "HOPLINK_DATABASE_URL": db_url,
            "HOPLINK_DATA_DIR": str(data_dir),
            "HOPLINK_SECRET_KEY": SECRET,
            "HOPLINK_DEFAULT_DOMAIN": factories.DEFAULT_HOST,
            "HOPLINK_OUTBOUND_ALLOW_PRIVATE": "127.0.0.1",
            "HOPLINK_META_BASE_URL": rx.base,
            "HOPLINK_TIKTOK_BASE_URL": rx.base,
            "HOPLINK_GA4_BASE_URL": rx.base,
            "HOPLINK_FORWARD_POLL_INTERVAL": "0.05",
            "HOPLINK_FORWARD_LEASE": "3",
        }
        log = tmp_path / "worker.log"
        with hoplink(["worker"], env, log) as first:
            # Killed while requests are in flight (claimed, sent, answer not yet recorded):
            # the receiver holds each for a second before it answers.
            await _wait(lambda: rx.arrived >= 1 or not first.running(), 120, "a request")
            assert first.running(), first.tail()
            first.signal(signal.SIGKILL)
            first.wait(30)
        async with db.transaction(write=False) as tx:
            assert await tx.forward_queue.count("sent") == 0  # no answer was recorded
        with hoplink(["worker"], env, log) as second:
            await _wait(
                lambda: (
                    (len(rx.events["meta"]), len(rx.events["tiktok"])) == (EVENTS, EVENTS)
                    or not second.running()
                ),
                240,
                "all events",
            )
            keys = {f"k-{i}" for i in range(EVENTS)}
            assert set(rx.events["meta"]) == keys and set(rx.events["tiktok"]) == keys
            assert rx.broken == []

            async def settled() -> bool:
                async with db.transaction(write=False) as tx:
                    return await tx.forward_queue.count("sent") == 2 * EVENTS

            for _ in range(300):
                if await settled():
                    break
                await asyncio.sleep(0.1)
            assert await settled()
            second.signal(signal.SIGTERM)
            second.wait(60)
        # Re-sent at most once per event, with the same event id (absorbed by dedup).
        assert rx.duplicates["meta"] <= EVENTS and rx.duplicates["tiktok"] <= EVENTS
