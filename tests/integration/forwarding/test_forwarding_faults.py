"""Faults: a platform answering 500 for a while then recovering gets every event exactly
once; a 400 dead-letters the events with the platform's message, and a replay after the
fix delivers them. No IP address, raw e-mail or phone number in any request, row or log."""

from __future__ import annotations

import logging
import re
import time

import pytest
from forwarding_support import delivery, drain, hex_click, post_event, run_clicks, setup
from receivers import Platforms, running_platforms
from sqlalchemy import text

from hoplink.forwarding import service
from hoplink.forwarding.common import ga4_client_id
from hoplink.forwarding.models import Kind
from hoplink.storage.database import Database

EMAIL = "Buyer.Person@Example.com"
PHONE = "+49 151 1234 5678"


async def test_500s_then_recovery_deliver_every_event_once(db: Database) -> None:
    async with running_platforms(Platforms()) as rx:
        _dom, _ws, link, _dests = await setup(db)
        now = time.time() - 30
        clicks = [hex_click(link, now + i, f"v{i}", fbclid=f"fb{i}") for i in range(5)]
        await run_clicks(db, clicks)
        rx.fail_until = time.monotonic() + 2.0
        d = delivery(db, rx, retry_base=0.2)
        await drain(d, lambda: all(len(rx.events[p]) == 5 for p in ("ga4", "meta", "tiktok")))
        assert d.counters.retried > 0  # it did fail first
        assert rx.duplicates == {"ga4": 0, "meta": 0, "tiktok": 0}
        async with db.transaction() as tx:
            assert await tx.forward_queue.count("pending") == 0
            assert await tx.forward_queue.count("sent") == 15


async def test_400_dead_letters_with_the_message_and_replay_delivers(db: Database) -> None:
    async with running_platforms(Platforms()) as rx:
        _dom, ws, link, dests = await setup(db)
        await run_clicks(db, [hex_click(link, time.time() - 10, "v", fbclid="fbX")])
        rx.refuse = "Invalid OAuth access token - Cannot parse access token"
        d = delivery(db, rx)
        for _ in range(3):
            await d.deliver_due()
        async with db.transaction() as tx:
            dead = await tx.forwarding(ws.id).entries(status="dead")
        assert {e.destination_id for e in dead} == {d_.id for d_ in dests.values()}
        assert all(e.error and "Invalid OAuth access token" in e.error for e in dead)
        assert rx.events == {"ga4": {}, "meta": {}, "tiktok": {}}
        rx.refuse = None  # the seller fixed the token
        async with db.transaction() as tx:
            replayed = await service.replay(
                tx, workspace_id=ws.id, destination_id=dests[Kind.META].id
            )
            assert replayed == 1
            await service.replay(tx, workspace_id=ws.id)  # the rest
        await drain(d, lambda: all(len(rx.events[p]) == 1 for p in ("ga4", "meta", "tiktok")))
        async with db.transaction() as tx:
            assert await tx.forwarding(ws.id).entries(status="dead") == []
            status = await tx.forwarding(ws.id).live_status(dests[Kind.META].id, now=d.clock())
        assert status.last_success is not None and status.queued == 0 and status.dead == 0


async def test_no_ip_raw_email_or_phone_anywhere(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_platforms(Platforms()) as rx:
        _dom, ws, link, _dests = await setup(db)
        click = hex_click(link, time.time() - 10, "v", fbclid="fbIP", ttclid="ttIP")
        await run_clicks(db, [click])
        await post_event(db, ws, {
            "type": "purchase", "event_id": "ev-ip", "order_id": "SO-IP", "amount": 100,
            "currency": "USD", "click_id": click.click_id,
            "customer": {"email": EMAIL, "phone": PHONE},
        })  # fmt: skip
        rx.fail_until = time.monotonic() + 0.3  # some failures get logged too
        d = delivery(db, rx, retry_base=0.1)
        await drain(d, lambda: all(len(rx.events[p]) == 2 for p in ("ga4", "meta", "tiktok")))
        async with db.transaction() as tx:
            rows = (await tx.conn.execute(text("SELECT * FROM forward_batches"))).all()
            rows += (await tx.conn.execute(text("SELECT * FROM forward_batch_events"))).all()
            dest_rows = (await tx.conn.execute(text("SELECT * FROM forward_destinations"))).all()
    texts = [b.decode() for b in rx.bodies]
    texts += [str(tuple(r)) for r in rows] + [str(tuple(r)) for r in dest_rows]
    # hoplink's own logs (httpcore's debug lines name the receiver's loopback address).
    texts += [r.getMessage() for r in caplog.records if r.name.startswith("hoplink")]
    assert texts
    digits = re.sub(r"\D", "", PHONE)
    ip = re.compile(r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])")
    for t in texts:
        assert EMAIL.lower() not in t.lower() and digits not in t
        assert PHONE not in t and "client_ip_address" not in t and '"ip"' not in t
        assert not ip.search(t), t
    # The credentials are stored sealed, never in clear.
    assert all("ga4SecretValue123" not in str(tuple(r)) for r in dest_rows)


async def test_a_batch_splits_by_answer_and_one_dead_entry_replays_alone(db: Database) -> None:
    async with running_platforms(Platforms()) as rx:
        _dom, ws, link, dests = await setup(db, events=("click",))
        now = time.time() - 30
        clicks = [hex_click(link, now + i, f"v{i}") for i in range(3)]
        await run_clicks(db, clicks)
        # One GA4 batch of three clicks: three requests (one per client_id), one refused.
        rx.refuse_ga4_clients = {ga4_client_id("v1", clicks[1].ts)}
        d = delivery(db, rx)
        await drain(d, lambda: (len(rx.events["ga4"]), len(rx.events["meta"])) == (2, 3))
        async with db.transaction() as tx:
            ga4 = await tx.forwarding(ws.id).entries(destination_id=dests[Kind.GA4].id)
            assert await tx.forward_queue.count("pending") == 0
        by_key = {e.event_key: e for e in ga4}
        refused, sent = by_key[clicks[1].click_id], [by_key[c.click_id] for c in clicks[::2]]
        assert refused.status == "dead" and refused.error and "client refused" in refused.error
        assert [e.status for e in sent] == ["sent", "sent"] and sent[0].answer_status == 204
        assert sent[0].batch_id == sent[1].batch_id != refused.batch_id  # split by answer
        assert len({e.id.split(".")[0] for e in ga4}) == 1  # entry ids kept across the split

        # A Meta batch of three dead letters: one entry replayed alone.
        rx.refuse = "Invalid OAuth access token"
        more = [hex_click(link, now + 10 + i, f"w{i}", fbclid=f"fbw{i}") for i in range(3)]
        await run_clicks(db, more)
        for _ in range(3):
            await d.deliver_due()
        async with db.transaction() as tx:
            dead = await tx.forwarding(ws.id).entries(
                destination_id=dests[Kind.META].id, status="dead"
            )
            assert len(dead) == 3 and len({e.batch_id for e in dead}) == 1
            one = next(e for e in dead if e.event_key == more[0].click_id)
            assert await service.replay(tx, workspace_id=ws.id, entry_id=one.id) == 1
        rx.refuse = None
        await drain(d, lambda: more[0].click_id in rx.events["meta"])
        async with db.transaction() as tx:
            meta = await tx.forwarding(ws.id).entries(destination_id=dests[Kind.META].id)
        states = {e.event_key: (e.id, e.status) for e in meta}
        assert states[more[0].click_id] == (one.id, "sent")
        others = {states[c.click_id] for c in more[1:]}
        assert others == {(e.id, "dead") for e in dead if e.id != one.id}
        assert more[1].click_id not in rx.events["meta"]
