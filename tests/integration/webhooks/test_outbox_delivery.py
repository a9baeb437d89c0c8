"""Webhooks end to end on real SQLite and PostgreSQL: link changes → outbox rows in the
same transaction → signed deliveries a `standardwebhooks` verifier accepts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from receiver import Receiver, running_receiver

from factories import domain, workspace
from hoplink.errors import InvalidInput
from hoplink.ids import utcnow
from hoplink.links import service as links
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkEdit, LinkRules
from hoplink.net.fetch import FetchLimits, SafeFetcher
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage.database import Database
from hoplink.webhooks import service as hooks
from hoplink.webhooks.delivery import WebhookDelivery
from hoplink.webhooks.outbox import OutboxOnCommit, emit
from hoplink.webhooks.secrets import SecretBox

BOX = SecretBox("test-secret-key-" + "x" * 32)
LOOPBACK = SafeFetcher(FetchLimits.build(allow_private=["127.0.0.1"], total_timeout=10))
STRICT = SafeFetcher(FetchLimits.build())
POLICY = DestinationPolicy.build()


@pytest_asyncio.fixture
async def hooked(db: Database) -> AsyncIterator[Database]:
    db.listeners.before_commit(OutboxOnCommit())
    yield db


async def _setup(db: Database, url: str, events: tuple[str, ...]):  # type: ignore[no-untyped-def]
    async with db.transaction() as tx:
        dom = await domain(tx)
        ws = await workspace(tx)
        checked = await hooks.check_endpoint_url(url, policy=POLICY, fetcher=LOOPBACK)
        endpoint, secret = await hooks.create_endpoint(
            tx, workspace_id=ws.id, url=checked, events=events, box=BOX
        )
    return dom, ws, endpoint, secret


def _delivery(db: Database, **kw: object) -> WebhookDelivery:
    return WebhookDelivery(db=db, fetcher=LOOPBACK, box=BOX, **kw)  # type: ignore[arg-type]


async def _drain(delivery: WebhookDelivery, until: object, rounds: int = 400) -> None:
    for _ in range(rounds):
        await delivery.deliver_due()
        if until():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not delivered in time")


async def test_link_create_update_delete_arrive_signed(hooked: Database) -> None:
    async with running_receiver(Receiver()) as rx:
        dom, ws, _endpoint, secret = await _setup(
            hooked, rx.url, ("link.created", "link.updated", "link.deleted")
        )
        rx.secrets.append(secret)
        async with hooked.transaction() as tx:
            link = await links.create_link(
                tx,
                workspace=ws,
                domain=dom,
                spec=LinkSpec(url="https://shop.example.com/a"),
                actor="t",
                rules=LinkRules(),
            )
        async with hooked.transaction() as tx:
            await links.update_link(
                tx, workspace=ws, link_id=link.id, edit=LinkEdit(title="new"), actor="t"
            )
        async with hooked.transaction() as tx:
            await links.delete_link(tx, workspace=ws, link_id=link.id)
        await _drain(_delivery(hooked), lambda: len(rx.events) == 3)
        assert rx.rejected == 0 and rx.duplicates == 0
        created = rx.of_type("link.created")[0]["data"]
        assert created["id"] == link.id and created["code"] == link.code
        assert created["destination_url"] == "https://shop.example.com/a"
        assert rx.of_type("link.updated")[0]["data"]["title"] == "new"
        assert rx.of_type("link.deleted")[0]["data"]["id"] == link.id
        async with hooked.transaction() as tx:
            assert await tx.webhook_queue.count("delivered") == 3
            assert await tx.webhook_queue.count("pending") == 0


async def test_rollback_writes_no_outbox_row(hooked: Database) -> None:
    dom, ws, _e, _s = await _setup(hooked, "http://127.0.0.1:9/x", ("link.created",))
    with pytest.raises(RuntimeError):
        async with hooked.transaction() as tx:
            await links.create_link(
                tx,
                workspace=ws,
                domain=dom,
                spec=LinkSpec(url="https://shop.example.com/a"),
                actor="t",
                rules=LinkRules(),
            )
            raise RuntimeError("the caller fails after the change")
    async with hooked.transaction() as tx:
        assert await tx.webhook_queue.count("pending") == 0
        assert await tx.webhooks(ws.id).messages() == []


async def test_unsubscribed_and_disabled_endpoints_get_nothing(hooked: Database) -> None:
    dom, ws, endpoint, _s = await _setup(hooked, "http://127.0.0.1:9/x", ("link.deleted",))
    async with hooked.transaction() as tx:
        await links.create_link(
            tx,
            workspace=ws,
            domain=dom,
            spec=LinkSpec(url="https://shop.example.com/a"),
            actor="t",
            rules=LinkRules(),
        )
        assert await emit(tx, workspace_id=ws.id, event_type="link.health", data={}) == 0
    async with hooked.transaction() as tx:
        assert await tx.webhook_queue.count("pending") == 0
        await hooks.update_endpoint(
            tx, workspace_id=ws.id, endpoint_id=endpoint.id, events=("link.health",), enabled=False
        )
        assert await emit(tx, workspace_id=ws.id, event_type="link.health", data={}) == 0


async def test_receiver_500s_then_recovers_delivered_once(hooked: Database) -> None:
    async with running_receiver(Receiver(fail_first=3)) as rx:
        _dom, ws, _endpoint, secret = await _setup(hooked, rx.url, ("conversion.created",))
        rx.secrets.append(secret)
        async with hooked.transaction() as tx:
            n = await emit(
                tx,
                workspace_id=ws.id,
                event_type="conversion.created",
                data={"order_id": "A-1", "amount": 1999, "currency": "USD"},
            )
            assert n == 1
        await _drain(_delivery(hooked, retry_base=0.05), lambda: len(rx.events) == 1)
        assert rx.requests == 4 and rx.duplicates == 0
        [event] = rx.events.values()
        assert event["data"]["order_id"] == "A-1"
        async with hooked.transaction() as tx:
            [message] = await tx.webhooks(ws.id).messages()
            attempts = await tx.webhooks(ws.id).attempts(message.id)
        assert message.status == "delivered" and message.attempts == 4
        assert [a.status_code for a in attempts] == [500, 500, 500, 200]
        assert attempts[-1].response_snippet == "receiver says hi"


async def test_retries_end_failed_after_the_window_then_replay(hooked: Database) -> None:
    async with running_receiver(Receiver(fail_first=10**6)) as rx:
        _dom, ws, _endpoint, secret = await _setup(hooked, rx.url, ("link.health",))
        rx.secrets.append(secret)
        async with hooked.transaction() as tx:
            await emit(tx, workspace_id=ws.id, event_type="link.health", data={"ok": False})
        delivery = _delivery(hooked, retry_base=0.05, retry_window=timedelta(seconds=0.5))

        async def failed() -> bool:
            async with hooked.transaction() as tx:
                return await tx.webhook_queue.count("failed") == 1

        for _ in range(400):
            await delivery.deliver_due()
            if await failed():
                break
            await asyncio.sleep(0.05)
        assert await failed()
        rx.fail_first = 0  # the receiver is fixed
        async with hooked.transaction() as tx:
            assert await hooks.replay_failed(tx, workspace_id=ws.id) == 1
        await _drain(delivery, lambda: len(rx.events) == 1)


async def test_secret_rotation_overlap_signs_with_both(hooked: Database) -> None:
    async with running_receiver(Receiver()) as rx:
        _dom, ws, endpoint, old = await _setup(hooked, rx.url, ("link.health",))
        async with hooked.transaction() as tx:
            _e, new = await hooks.rotate_secret(
                tx, workspace_id=ws.id, endpoint_id=endpoint.id, box=BOX
            )
            await emit(tx, workspace_id=ws.id, event_type="link.health", data={"n": 1})
        assert new != old
        rx.secrets[:] = [old]  # a receiver not yet switched still verifies
        await _drain(_delivery(hooked), lambda: len(rx.events) == 1)
        assert len(rx.signatures[-1].split(" ")) == 2
        rx.secrets[:] = [new]  # nor does one that switched miss anything
        async with hooked.transaction() as tx:
            await emit(tx, workspace_id=ws.id, event_type="link.health", data={"n": 2})
        await _drain(_delivery(hooked), lambda: len(rx.events) == 2)
        # After the overlap only the new secret signs: the old one no longer verifies.
        async with hooked.transaction() as tx:
            await hooks.rotate_secret(
                tx, workspace_id=ws.id, endpoint_id=endpoint.id, box=BOX, overlap=timedelta(0)
            )
            endpoint = await hooks.get_endpoint(tx, workspace_id=ws.id, endpoint_id=endpoint.id)
        assert len(hooks.signing_secrets(endpoint, box=BOX, now=utcnow())) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.com/x",
    ],
)
async def test_private_and_bad_endpoint_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as info:
        await hooks.check_endpoint_url(url, policy=POLICY, fetcher=STRICT)
    assert info.value.errors[0].field == "url"
