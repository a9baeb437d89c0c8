# ruff: noqa: E501 - payload literals read best on one line each
"""Clicks with fbclid / ttclid / gclid → orders, a refund and a lead → each local
platform receiver gets exactly the expected events, with the right ids, values and dedup
keys; on real SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import time

import orjson
from forwarding_support import delivery, drain, hex_click, post_event, run_clicks, setup
from ingest_support import PREVIEW
from receivers import Platforms, running_platforms

from hoplink.forwarding.common import ga4_client_id
from hoplink.forwarding.models import Kind
from hoplink.storage.database import Database


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_clicks_and_conversions_reach_each_platform_exactly(db: Database) -> None:
    async with running_platforms(Platforms()) as rx:
        _dom, ws, link, dests = await setup(db)
        now = time.time() - 60
        c_fb = hex_click(link, now, "visitor-fb", fbclid="IwAR1fbclidValue")
        c_tt = hex_click(link, now + 1, "visitor-tt", ttclid="E.C.P.ttclidValue")
        c_g = hex_click(link, now + 2, "visitor-g", gclid="Cj0KgclidValue")
        bot = hex_click(link, now + 3, "visitor-bot", user_agent=PREVIEW, fbclid="IwARbot")
        await run_clicks(db, [c_fb, c_tt, c_g, bot])
        await post_event(db, ws, {
            "type": "purchase", "event_id": "ev-p1", "order_id": "SO-1", "amount": 12_345,
            "currency": "USD", "click_id": c_fb.click_id,
            "items": [{"sku": "SKU-1", "quantity": 2, "price": 6_000}, {"sku": "SKU-2", "quantity": 1, "price": 345}],
            "customer": {"email": "  Buyer@Example.com ", "phone": "+49 151 1234 5678", "external_id": "cust-1"},
        })  # fmt: skip
        await post_event(db, ws, {
            "type": "purchase", "event_id": "ev-p2", "order_id": "SO-2", "amount": 5_000,
            "currency": "JPY", "click_id": c_tt.click_id,
        })  # fmt: skip
        await post_event(db, ws, {
            "type": "refund", "event_id": "ev-r1", "order_id": "SO-1", "amount": 2_345,
        })  # fmt: skip
        await post_event(db, ws, {"type": "lead", "event_id": "ev-l1", "click_id": c_g.click_id})
        d = delivery(db, rx)
        await drain(
            d,
            lambda: (
                (len(rx.events["ga4"]), len(rx.events["meta"]), len(rx.events["tiktok"]))
                == (7, 7, 6)
            ),
        )
        await d.deliver_due()  # nothing more is due
        assert rx.broken == [] and rx.duplicates == {"ga4": 0, "meta": 0, "tiktok": 0}
        clicks = {c_fb.click_id, c_tt.click_id, c_g.click_id}

        # GA4: a click event per human click, purchase / refund / generate_lead.
        ga4 = rx.events["ga4"]
        assert set(ga4) == clicks | {"ev-p1", "ev-p2", "ev-r1", "ev-l1"}
        click = ga4[c_fb.click_id]
        assert click["name"] == "short_link_click"
        assert click["params"]["campaign_source"] == "facebook"
        assert click["params"]["campaign_medium"] == "paid_social"
        assert click["params"]["campaign_name"] == "spring"
        assert click["params"]["link_code"] == link.code
        assert click["timestamp_micros"] == int(c_fb.ts * 1_000_000)
        assert ga4[c_g.click_id]["params"]["gclid"] == "Cj0KgclidValue"
        purchase = ga4["ev-p1"]
        assert purchase["name"] == "purchase"
        assert purchase["params"]["transaction_id"] == "SO-1"
        assert purchase["params"]["value"] == 123.45 and purchase["params"]["currency"] == "USD"
        assert purchase["params"]["items"][0] == {"item_id": "SKU-1", "quantity": 2, "price": 60.0}
        assert ga4["ev-p2"]["params"]["value"] == 5000.0  # JPY has no minor unit
        assert ga4["ev-r1"]["name"] == "refund" and ga4["ev-r1"]["params"]["value"] == 23.45
        assert ga4["ev-l1"]["name"] == "generate_lead"
        # The purchase is sent under the client_id of the click that led to it.
        assert rx.ga4_clients["ev-p1"] == rx.ga4_clients[c_fb.click_id]
        assert rx.ga4_clients["ev-p1"] == ga4_client_id("visitor-fb", c_fb.ts)

        # Meta: PageView per click, Purchase / Refund / Lead, event_id = dedup key.
        meta = rx.events["meta"]
        assert set(meta) == clicks | {"ev-p1", "ev-p2", "ev-r1", "ev-l1"}
        fb = meta[c_fb.click_id]
        assert fb["event_name"] == "PageView" and fb["action_source"] == "website"
        assert fb["user_data"]["fbc"] == f"fb.1.{int(c_fb.ts * 1000)}.IwAR1fbclidValue"
        assert fb["event_source_url"] == link.final_url
        assert "fbc" not in meta[c_tt.click_id]["user_data"]
        p1 = meta["ev-p1"]
        assert p1["event_name"] == "Purchase"
        assert p1["user_data"]["em"] == [sha("buyer@example.com")]
        assert p1["user_data"]["ph"] == [sha("4915112345678")]
        assert sha("cust-1") in p1["user_data"]["external_id"]
        assert p1["user_data"]["fbc"] == fb["user_data"]["fbc"]
        assert p1["custom_data"]["value"] == 123.45 and p1["custom_data"]["currency"] == "usd"
        assert p1["custom_data"]["order_id"] == "SO-1"
        assert p1["custom_data"]["contents"][0] == {
            "id": "SKU-1",
            "quantity": 2,
            "item_price": 60.0,
        }
        assert meta["ev-r1"]["event_name"] == "Refund"
        assert meta["ev-r1"]["custom_data"]["value"] == 23.45
        assert meta["ev-r1"]["user_data"]["em"] == [sha("buyer@example.com")]  # the order's
        assert meta["ev-l1"]["event_name"] == "Lead"

        # TikTok: ClickButton per click, CompletePayment and SubmitForm; no refund event.
        tiktok = rx.events["tiktok"]
        assert set(tiktok) == clicks | {"ev-p1", "ev-p2", "ev-l1"}
        assert tiktok[c_tt.click_id]["event"] == "ClickButton"
        assert tiktok[c_tt.click_id]["user"]["ttclid"] == "E.C.P.ttclidValue"
        p2 = tiktok["ev-p2"]
        assert p2["event"] == "CompletePayment" and p2["user"]["ttclid"] == "E.C.P.ttclidValue"
        assert p2["properties"]["value"] == 5000.0 and p2["properties"]["currency"] == "JPY"
        assert tiktok["ev-p1"]["user"]["phone"] == sha("+4915112345678")
        assert tiktok["ev-p1"]["user"]["external_id"] == sha("cust-1")
        assert tiktok["ev-l1"]["event"] == "SubmitForm"

        # The journal: each event's destination, when, the answer; the refund TikTok has no
        # event for is reported as rejected, with the rule.
        async with db.transaction() as tx:
            journal = await tx.forwarding(ws.id).entries(limit=1000)
        assert len(journal) == 7 + 7 + 7
        by = {(e.destination_id, e.event_key): e for e in journal}
        refund = by[(dests[Kind.TIKTOK].id, "ev-r1")]
        assert refund.status == "rejected" and refund.error and "no refund event" in refund.error
        sent = [e for e in journal if e.status == "sent"]
        assert len(sent) == 20 and all(e.sent_at and e.answer_status in (200, 204) for e in sent)
        assert all(orjson.loads(e.payload) for e in sent)


async def test_sampling_and_event_choice_are_kept(db: Database) -> None:
    from forwarding_support import BOX

    from hoplink.forwarding import service
    from hoplink.forwarding.outbox import sampled

    async with running_platforms(Platforms()) as rx:
        _dom, ws, link, dests = await setup(db, events=("purchase",))
        async with db.transaction() as tx:
            await service.update_destination(
                tx, workspace_id=ws.id, destination_id=dests[Kind.GA4].id, box=BOX,
                changes=service.Changes(events=("click",), click_sample_rate=0.5),
            )  # fmt: skip
        now = time.time() - 30
        clicks = [hex_click(link, now + i / 100, f"v{i}") for i in range(40)]
        await run_clicks(db, clicks)
        expected = {c.click_id for c in clicks if sampled(c.click_id, 0.5)}
        assert 5 < len(expected) < 35
        d = delivery(db, rx)
        await drain(d, lambda: len(rx.events["ga4"]) == len(expected))
        assert set(rx.events["ga4"]) == expected
        assert rx.events["meta"] == {} and rx.events["tiktok"] == {}  # purchases only


async def test_a_conversion_no_one_can_be_matched_to_is_journalled_not_sent(db: Database) -> None:
    """A purchase with neither a click nor customer data: GA4 has no client_id, Meta no
    customer parameter, TikTok no matching parameter (an empty ``user`` was sent). Each
    journals it as rejected with its rule; nothing reaches a platform. The same purchase
    with a hashed e-mail goes to Meta and TikTok."""
    async with running_platforms(Platforms()) as rx:
        _dom, ws, _link, dests = await setup(db, events=("purchase",))
        bare = {"type": "purchase", "order_id": "SO-9", "amount": 1_000, "currency": "USD"}
        await post_event(db, ws, bare | {"event_id": "ev-bare"})
        mail = {"event_id": "ev-mail", "order_id": "SO-10", "customer": {"email": "b@example.com"}}
        await post_event(db, ws, bare | mail)
        d = delivery(db, rx)
        await drain(d, lambda: (len(rx.events["meta"]), len(rx.events["tiktok"])) == (1, 1))
        await d.deliver_due()  # nothing more is due
        assert rx.broken == [] and rx.events["ga4"] == {}
        assert set(rx.events["meta"]) == set(rx.events["tiktok"]) == {"ev-mail"}
        assert rx.events["tiktok"]["ev-mail"]["user"] == {"email": sha("b@example.com")}
        async with db.transaction() as tx:
            journal = await tx.forwarding(ws.id).entries(limit=100)
        by = {(e.destination_id, e.event_key): e for e in journal}
        for kind, rule in (
            (Kind.GA4, "ga4.client_id"),
            (Kind.META, "meta.user_data"),
            (Kind.TIKTOK, "tiktok.user: no matching parameter"),
        ):
            entry = by[(dests[kind].id, "ev-bare")]
            assert entry.status == "rejected" and (entry.error or "").startswith(rule), entry
