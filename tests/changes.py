"""Committing change events by hand, for tests whose data was written around the services
(or on another node's database handle): the listeners run exactly as after a real change."""

from __future__ import annotations

from hoplink.events import Event
from hoplink.storage.database import Database


async def committed(db: Database, *events: Event) -> None:
    async with db.transaction() as tx:
        tx.record(*events)
