"""kill -9 of a `hoplink worker` process in the middle of webhook deliveries: every event
still reaches the receiver at least once (it dedupes by webhook-id), none is lost."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from receiver import Receiver, running_receiver

import factories
from hoplink.storage.database import Database
from hoplink.webhooks import service as hooks
from hoplink.webhooks.outbox import emit
from hoplink.webhooks.secrets import SecretBox
from processes import SECRET, hoplink

EVENTS = 30


async def _wait(condition: object, seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)  # the receiver runs on this loop meanwhile
    raise AssertionError(f"timed out waiting for {what}")


async def test_kill_9_during_delivery_loses_nothing(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    async with running_receiver(Receiver(delay=0.3)) as rx:
        async with db.transaction() as tx:
            await factories.domain(tx)
            ws = await factories.workspace(tx)
            _endpoint, secret = await hooks.create_endpoint(
                tx, workspace_id=ws.id, url=rx.url, events=("link.health",), box=SecretBox(SECRET)
            )
            for i in range(EVENTS):
                await emit(tx, workspace_id=ws.id, event_type="link.health", data={"n": i})
        rx.secrets.append(secret)
        data_dir = tmp_path / "data"
        (data_dir / "journal").mkdir(parents=True)
        env = {
            **os.environ,
            "HOPLINK_DATABASE_URL": db_url,
            "HOPLINK_DATA_DIR": str(data_dir),
            "HOPLINK_SECRET_KEY": SECRET,
            "HOPLINK_DEFAULT_DOMAIN": factories.DEFAULT_HOST,
            "HOPLINK_OUTBOUND_ALLOW_PRIVATE": "127.0.0.1",
            "HOPLINK_WEBHOOK_POLL_INTERVAL": "0.05",
            "HOPLINK_WEBHOOK_LEASE": "3",
        }
        log = tmp_path / "worker.log"
        with hoplink(["worker"], env, log) as first:
            # Killed while messages are in flight (claimed, sent, answer not yet recorded).
            await _wait(lambda: rx.requests >= 3 or not first.running(), 120, "first deliveries")
            assert first.running(), first.tail()
            first.signal(signal.SIGKILL)
            first.wait(30)
        assert len(rx.events) < EVENTS  # the kill did interrupt the deliveries
        with hoplink(["worker"], env, log) as second:
            await _wait(lambda: len(rx.events) == EVENTS or not second.running(), 240, "all events")
            assert len(rx.events) == EVENTS, second.tail()
            assert sorted(e["data"]["n"] for e in rx.events.values()) == list(range(EVENTS))
            assert rx.rejected == 0

            async def settled() -> bool:
                async with db.transaction(write=False) as tx:
                    return await tx.webhook_queue.count("delivered") == EVENTS

            for _ in range(300):
                if await settled():
                    break
                await asyncio.sleep(0.1)
            assert await settled()
            second.signal(signal.SIGTERM)
            second.wait(60)
