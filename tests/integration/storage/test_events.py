"""Change events on real SQLite and PostgreSQL: handed to the listeners before commit on the
same connection and after a successful commit only; dropped with a rollback."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from factories import domain, workspace
from hoplink import audit
from hoplink.events import Event, LinkChanged, ShortDomainChanged, WorkspaceChanged
from hoplink.links import service
from hoplink.links.models import Link, LinkQuery, ShortDomain
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.database import Database
from hoplink.storage.tx import Tx, UniqueViolation
from hoplink.workspaces.models import Workspace

PRODUCT = "https://shop.example.com/item/1"


class Heard:
    """Both kinds of listener, noting what they got and whether the transaction was open."""

    def __init__(self, db: Database) -> None:
        self.before: list[tuple[Event, ...]] = []
        self.after: list[tuple[Event, ...]] = []
        self.after_in_transaction: list[bool] = []
        self.conns: list[AsyncConnection] = []
        db.listeners.before_commit(self.committing)
        db.listeners.after_commit(self.committed)

    async def committing(self, tx: Tx, events: Sequence[Event]) -> None:
        assert tx.conn.in_transaction()
        self.conns.append(tx.conn)
        self.before.append(tuple(events))

    def committed(self, events: Sequence[Event]) -> None:
        self.after_in_transaction.append(any(c.in_transaction() for c in self.conns))
        self.after.append(tuple(events))


async def _link_count(db: Database, ws_id: str) -> int:
    async with db.transaction(write=False) as tx:
        _, total = await tx.links(ws_id).search(LinkQuery(archived=None))
    return total


async def _create(tx: Tx, ws: Workspace, dom: ShortDomain) -> Link:
    return await service.create_link(
        tx, workspace=ws, domain=dom, spec=LinkSpec(url=PRODUCT), actor="t", rules=LinkRules()
    )


async def _setup(db: Database) -> tuple[ShortDomain, Workspace]:
    async with db.transaction() as tx:
        return await domain(tx), await workspace(tx)


async def test_events_are_delivered_after_commit_only(db: Database) -> None:
    dom, ws = await _setup(db)  # before the listeners: the default domain's event is not heard
    heard = Heard(db)
    async with db.transaction() as tx:
        link = await _create(tx, ws, dom)
        assert heard.before == heard.after == []  # nothing yet, inside the block
    expected = (LinkChanged(ws.id, link.id, "hop.test", link.code, "created"),)
    assert heard.before == [expected]
    assert heard.after == [expected]
    assert heard.after_in_transaction == [False]  # committed by then


async def test_a_rollback_drops_the_events(db: Database) -> None:
    dom, ws = await _setup(db)
    heard = Heard(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await _create(tx, ws, dom)
            assert len(tx.events) == 1
            raise RuntimeError("the caller gave up")
    assert heard.before == heard.after == []
    assert await _link_count(db, ws.id) == 0


async def test_a_rolled_back_savepoint_drops_only_its_events(db: Database) -> None:
    heard = Heard(db)
    first = ShortDomainChanged("a.example")
    async with db.transaction() as tx:
        tx.record(first)
        with pytest.raises(UniqueViolation):
            async with tx.savepoint():
                tx.record(ShortDomainChanged("b.example"))
                await tx.conn.exec_driver_sql(
                    "INSERT INTO visitor_salts (day, secret, created_at)"
                    " VALUES ('2026-01-01', 'x', '2026-01-01')"
                )
                await tx.conn.exec_driver_sql(
                    "INSERT INTO visitor_salts (day, secret, created_at)"
                    " VALUES ('2026-01-01', 'y', '2026-01-01')"
                )
    assert heard.after == [(first,)]


async def test_a_failing_before_commit_listener_rolls_the_change_back(db: Database) -> None:
    dom, ws = await _setup(db)
    heard = Heard(db)

    async def refuse(tx: Tx, events: Sequence[Event]) -> None:
        raise RuntimeError("outbox full")

    db.listeners.before_commit(refuse)
    with pytest.raises(RuntimeError, match="outbox full"):
        async with db.transaction() as tx:
            await _create(tx, ws, dom)
    assert len(heard.before) == 1 and heard.after == []
    assert await _link_count(db, ws.id) == 0


async def test_before_commit_writes_commit_with_the_change(db: Database) -> None:
    """The in-transaction hook: what it writes (here an audit entry, later webhook outbox
    rows) is on the same connection, so it commits with the change or not at all."""
    dom, ws = await _setup(db)

    async def write_alongside(tx: Tx, events: Sequence[Event]) -> None:
        for event in events:
            assert isinstance(event, LinkChanged)
            await audit.record(
                tx,
                action=audit.LINK_DESTINATION_CHANGED,
                actor="listener",
                workspace_id=event.workspace_id,
                target=event.link_id,
                detail={"change": event.change},
            )

    db.listeners.before_commit(write_alongside)
    async with db.transaction() as tx:
        link = await _create(tx, ws, dom)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await service.delete_link(tx, workspace=ws, link_id=link.id)
            raise RuntimeError("rolled back: no delete, no entry")
    async with db.transaction(write=False) as tx:
        entries = await tx.audit.search(workspace_id=ws.id)
    assert [(e.actor, e.target, e.detail) for e in entries if e.actor == "listener"] == [
        ("listener", link.id, {"change": "created"})
    ]


async def test_an_after_commit_listener_error_is_logged_and_the_change_stands(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(events: Sequence[Event]) -> None:
        raise RuntimeError("cache gone")

    db.listeners.after_commit(broken)
    heard = Heard(db)  # registered after the broken one: still called
    with caplog.at_level(logging.ERROR, logger="hoplink.storage"):
        async with db.transaction() as tx:
            tx.record(WorkspaceChanged("ws_x", "status"))
    assert heard.after == [(WorkspaceChanged("ws_x", "status"),)]
    assert "after-commit listener failed" in caplog.text


async def test_read_only_and_eventless_transactions_call_nobody(db: Database) -> None:
    heard = Heard(db)
    async with db.transaction(write=False) as tx:
        await tx.short_domains.hostnames()
    async with db.transaction() as tx:
        await tx.short_domains.hostnames()
    assert heard.before == heard.after == []
