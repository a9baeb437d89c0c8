"""Ad click ids through the worker into the raw click log, and ``find_click``, the lookup
the conversions API attributes an order with, on real SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from ingest_support import MemorySource, make_click, make_link
from sqlalchemy import select

import factories
from hoplink.clicks.service import find_click
from hoplink.ingest.worker import Worker
from hoplink.storage import tables
from hoplink.storage.database import Database

T0 = 20_400 * 86400.0


async def test_ad_click_ids_are_stored_with_the_click_and_found_by_click_id(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
        other_ws = await factories.workspace(tx, "Other Store")
    link = await make_link(db, ws, dom)
    other_link = await make_link(db, other_ws, dom)
    ids = [os.urandom(16).hex() for _ in range(4)]
    clicks = [
        make_click(link, T0 + 60, click_id=ids[0], ad_click_ids={"fbclid": "IwAR0x-Y_z.1"}),
        make_click(link, T0 + 61, click_id=ids[1]),
        # From a queue anyone with Redis access could write to: checked again, kept or not.
        make_click(
            link,
            T0 + 62,
            click_id=ids[2],
            ad_click_ids={"gclid": "ok-1", "fbclid": "has space", "evil": "x", "ttclid": 7},
        ),
        make_click(other_link, T0 + 63, click_id=ids[3], ad_click_ids={"ttclid": "E.1"}),
    ]
    await Worker(db=db, source=MemorySource(), clock=lambda: T0 + 3600).process(clicks)

    async with db.transaction(write=False) as tx:
        stored = await tx.conn.execute(
            select(tables.clicks.c.click_id, tables.clicks.c.ad_click_ids)
        )
        assert dict(stored.tuples().all()) == {
            ids[0]: '{"fbclid":"IwAR0x-Y_z.1"}',
            ids[1]: None,
            ids[2]: '{"gclid":"ok-1"}',
            ids[3]: '{"ttclid":"E.1"}',
        }
        found = await find_click(tx, workspace_id=ws.id, click_id=ids[0])
        assert found is not None
        assert (found.link_id, found.workspace_id, found.visitor_hash, found.bot) == (
            link.id,
            ws.id,
            "v1",
            None,
        )
        assert found.ts == datetime.fromtimestamp(T0 + 60, UTC)
        assert found.ad_click_ids == {"fbclid": "IwAR0x-Y_z.1"}
        plain = await find_click(tx, workspace_id=ws.id, click_id=ids[1])
        assert plain is not None and plain.ad_click_ids == {}
        # Another workspace's click is unknown here, exactly like one that never existed.
        assert await find_click(tx, workspace_id=ws.id, click_id=ids[3]) is None
        assert await find_click(tx, workspace_id=other_ws.id, click_id=ids[0]) is None
        theirs = await find_click(tx, workspace_id=other_ws.id, click_id=ids[3])
        assert theirs is not None and theirs.link_id == other_link.id
        assert await find_click(tx, workspace_id=ws.id, click_id=os.urandom(16).hex()) is None
        for malformed in ("", ids[0].upper(), ids[0] + "0", "' OR 1=1 --"):
            assert await find_click(tx, workspace_id=ws.id, click_id=malformed) is None
