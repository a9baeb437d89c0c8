"""``click`` webhooks: the worker's after-commit hook gathers new clicks into outbox
messages of at most N clicks, only while some endpoint subscribes to ``click``."""

from __future__ import annotations

import time

import orjson
from ingest_support import MemorySource, make_click, make_link

import factories
from hoplink.ingest.worker import Worker
from hoplink.storage.database import Database
from hoplink.webhooks import service as hooks
from hoplink.webhooks.clicks import ClickWebhooks
from hoplink.webhooks.secrets import SecretBox


async def test_clicks_are_batched_into_outbox_messages(db: Database) -> None:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
        quiet = await factories.workspace(tx, "Quiet Store")
        endpoint, _ = await hooks.create_endpoint(
            tx,
            workspace_id=ws.id,
            url="https://hooks.example.com/in",
            events=("click",),
            box=SecretBox("k" * 40),
        )
    link = await make_link(db, ws, dom)
    other = await make_link(db, quiet, dom)
    gather = ClickWebhooks(db=db, batch=4, interval=0.0)
    worker = Worker(db=db, source=MemorySource(), retry_base=0.001)
    worker.after_write = gather.after_write
    now = time.time()
    clicks = [make_click(link, now - i, f"v{i}") for i in range(10)]
    await worker.process([*clicks, make_click(other, now, "q")])
    await worker.process(clicks)  # replayed clicks are not new: no second message
    assert await gather.flush() == 3  # 4 + 4 + 2 clicks, for the one subscriber
    async with db.transaction() as tx:
        messages = await tx.webhooks(ws.id).messages(endpoint_id=endpoint.id)
        assert await tx.webhooks(quiet.id).messages() == []
    sizes = sorted(len(orjson.loads(m.payload)["data"]["clicks"]) for m in messages)
    assert sizes == [2, 4, 4]
    ids = {c["id"] for m in messages for c in orjson.loads(m.payload)["data"]["clicks"]}
    assert ids == {c.click_id for c in clicks}
    assert all(m.event_type == "click" for m in messages)


async def test_nothing_is_gathered_without_a_click_subscriber(db: Database) -> None:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
        await hooks.create_endpoint(
            tx,
            workspace_id=ws.id,
            url="https://hooks.example.com/in",
            events=("link.created",),
            box=SecretBox("k" * 40),
        )
    link = await make_link(db, ws, dom)
    gather = ClickWebhooks(db=db, batch=4, interval=0.0)
    worker = Worker(db=db, source=MemorySource(), retry_base=0.001)
    worker.after_write = gather.after_write
    await worker.process([make_click(link, time.time(), "v")])
    assert await gather.flush() == 0
    async with db.transaction() as tx:
        assert await tx.webhooks(ws.id).messages() == []
