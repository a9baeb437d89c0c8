"""Webhook storage on real SQLite and PostgreSQL (each test rolled back): a workspace's
endpoints and messages (never another's), failed messages replayed, and the delivery
queue's claim → finish cycle with its lease."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from factories import workspace
from hoplink.storage.tx import Tx
from hoplink.webhooks.models import Attempt, Endpoint, Message, MessageStatus
from hoplink.workspaces.models import Workspace

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def endpoint(eid: str, ws: Workspace, minutes: int, *events: str, on: bool = True) -> Endpoint:
    return Endpoint(
        id=eid,
        workspace_id=ws.id,
        url=f"https://hooks.example.com/{eid}",
        events=events,
        enabled=on,
        secret_enc="sealed-" + eid,
        previous_secret_enc=None,
        previous_secret_until=None,
        description=None,
        created_at=T0 + timedelta(minutes=minutes),
        updated_at=T0 + timedelta(minutes=minutes),
    )


def message(mid: str, ep: Endpoint, minutes: int, status: MessageStatus = "pending") -> Message:
    return Message(
        id=mid,
        workspace_id=ep.workspace_id,
        endpoint_id=ep.id,
        event_type=ep.events[0],
        payload=json.dumps({"type": ep.events[0]}),
        status=status,
        attempts=0,
        next_attempt_at=T0 + timedelta(minutes=minutes),
        created_at=T0 + timedelta(minutes=minutes),
        finished_at=None,
    )


def attempt(aid: str, mid: str, minutes: int, code: int | None) -> Attempt:
    return Attempt(
        id=aid,
        message_id=mid,
        attempted_at=T0 + timedelta(minutes=minutes),
        status_code=code,
        latency_ms=42,
        error=None if code == 200 else "HTTP 500",
        response_snippet="ok" if code == 200 else "boom",
    )


async def test_endpoints_round_trip_update_and_delete_within_the_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    repo = tx.webhooks(ws.id)
    late = endpoint("ep_2", ws, 5, "click")
    early = endpoint("ep_1", ws, 0, "link.created", "link.deleted")
    await repo.insert_endpoint(late)
    await repo.insert_endpoint(early)
    await tx.webhooks(other.id).insert_endpoint(endpoint("ep_t", other, 0, "click"))
    assert await repo.endpoints() == [early, late]
    assert await repo.endpoint("ep_1") == early
    assert await repo.endpoint("ep_t") is None

    assert await repo.update_endpoint("ep_1", {"events": ("click",), "enabled": False})
    changed = await repo.endpoint("ep_1")
    assert changed is not None and (changed.events, changed.enabled) == (("click",), False)
    assert not await repo.update_endpoint("ep_t", {"enabled": False})
    assert not await repo.delete_endpoint("ep_t")
    theirs = await tx.webhooks(other.id).endpoint("ep_t")
    assert theirs is not None and theirs.enabled is True
    assert await repo.delete_endpoint("ep_2")
    assert [e.id for e in await repo.endpoints()] == ["ep_1"]


async def test_messages_list_by_endpoint_and_status_and_failed_ones_replay(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    repo = tx.webhooks(ws.id)
    a, b = endpoint("ep_a", ws, 0, "click"), endpoint("ep_b", ws, 1, "link.created")
    t_ep = endpoint("ep_t", other, 0, "click")
    for ep in (a, b):
        await repo.insert_endpoint(ep)
    await tx.webhooks(other.id).insert_endpoint(t_ep)
    await repo.insert_messages(
        [message("m1", a, 0, "failed"), message("m2", a, 5), message("m3", b, 10, "failed")]
    )
    await repo.insert_messages([])
    await tx.webhooks(other.id).insert_messages([message("m_t", t_ep, 0, "failed")])

    assert [m.id for m in await repo.messages()] == ["m3", "m2", "m1"]  # newest first
    assert [m.id for m in await repo.messages(endpoint_id="ep_a")] == ["m2", "m1"]
    assert [m.id for m in await repo.messages(status="failed")] == ["m3", "m1"]
    assert [m.id for m in await repo.messages(limit=1)] == ["m3"]
    assert await repo.message("m_t") is None
    assert await repo.message("m2") == message("m2", a, 5)

    now = T0 + timedelta(hours=1)
    assert await repo.replay_failed(now=now, message_id="m_t") == 0  # not ours
    assert await repo.replay_failed(now=now, endpoint_id="ep_a") == 1
    replayed = await repo.message("m1")
    assert replayed is not None
    assert (replayed.status, replayed.attempts, replayed.next_attempt_at) == ("pending", 0, now)
    assert await repo.replay_failed(now=now) == 1  # m3, the last failed one of ours
    assert await repo.messages(status="failed") == []
    assert [m.id for m in await tx.webhooks(other.id).messages(status="failed")] == ["m_t"]


async def test_the_queue_claims_due_messages_once_per_lease_and_finishes_them(tx: Tx) -> None:
    ws = await workspace(tx)
    repo = tx.webhooks(ws.id)
    ep = endpoint("ep_a", ws, 0, "click", "link.created")
    off = endpoint("ep_off", ws, 0, "link.deleted", on=False)
    await repo.insert_endpoint(ep)
    await repo.insert_endpoint(off)
    await repo.insert_messages([message("m1", ep, 0), message("m2", ep, 1), message("m9", ep, 60)])
    queue = tx.webhook_queue
    assert await queue.any_endpoint_wants("click") is True
    assert await queue.any_endpoint_wants("link.deleted") is False  # only a disabled one
    assert [e.id for e in await queue.endpoints_wanting("link.created")] == ["ep_a"]

    now, lease = T0 + timedelta(minutes=2), T0 + timedelta(minutes=3)
    claimed = await queue.claim(now=now, lease_until=lease, limit=10)
    assert [(m.id, e.id) for m, e in claimed] == [("m1", "ep_a"), ("m2", "ep_a")]  # m9 not due
    assert claimed[0][1] == ep
    assert await queue.claim(now=now, lease_until=lease, limit=10) == []  # leased
    # A lease that ran out (a worker that died) frees the message again.
    again = await queue.claim(now=lease, lease_until=lease + timedelta(minutes=1), limit=1)
    assert [m.id for m, _ in again] == ["m1"]

    await queue.finish(
        "m1", attempt=attempt("at1", "m1", 4, 200), status="delivered", next_attempt_at=None
    )
    retry_at = T0 + timedelta(minutes=30)
    await queue.finish(
        "m2", attempt=attempt("at2", "m2", 4, 500), status="pending", next_attempt_at=retry_at
    )
    done, retried = await repo.message("m1"), await repo.message("m2")
    assert done is not None and retried is not None
    assert (done.status, done.attempts, done.finished_at) == (
        "delivered",
        1,
        T0 + timedelta(minutes=4),
    )
    assert (retried.status, retried.attempts, retried.next_attempt_at, retried.finished_at) == (
        "pending",
        1,
        retry_at,
        None,
    )
    assert await repo.attempts("m2") == [attempt("at2", "m2", 4, 500)]
    assert await queue.count("delivered") == 1
    assert await queue.count("pending") == 2
    # A finished message is not touched by a late second finish.
    await queue.finish(
        "m1", attempt=attempt("at3", "m1", 5, 500), status="failed", next_attempt_at=None
    )
    still = await repo.message("m1")
    assert still is not None and (still.status, still.attempts) == ("delivered", 1)
