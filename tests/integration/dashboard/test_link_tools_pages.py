"""A link's campaign tools on its page, without JavaScript (plain form posts): the rule
builder (add, edit, reorder, delete; refused input shown next to the field it names, the
destination policy included), the A/B test (start, results, stop with a winner) and the
schedule and click limit. SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time

from dashboard_harness import Dash

from hoplink.clicks.models import Click
from hoplink.conversions.models import Source
from hoplink.conversions.parse import parse_event
from hoplink.conversions.service import record_event
from hoplink.ids import utcnow
from hoplink.ingest.worker import Worker
from hoplink.links import experiments
from hoplink.links import rules as link_rules
from hoplink.workspaces.models import Role

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Version/17.4 Mobile Safari"


class _NoSource:
    async def read(self, max_items: int, timeout: float) -> tuple[list[Click], object]:  # noqa: ASYNC109
        return [], None

    async def ack(self, token: object) -> None:
        return None


def _errors(html: str, field: str) -> str:
    """The text of the error list next to ``field`` ("" when there is none)."""
    found = re.search(
        rf'<ul class="field-errors" id="err-{re.escape(field)}"[^>]*>(.*?)</ul>', html, re.S
    )
    return found.group(1) if found else ""


async def test_build_edit_reorder_and_delete_rules(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    link = await dash.link(ws)
    page = f"/app/w/{ws.slug}/links/{link.id}"
    r = await b.post(
        f"{page}/rules",
        {
            "rule_name": "TikTok Android → app",
            "match": "all",
            "c0_type": "in_app",
            "c0_values": "tiktok",
            "c1_type": "os",
            "c1_values": "android",
            "action_type": "app",
            "action_preset": "amazon",
            "action_url": "https://www.amazon.com/dp/B0TEST",
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith(f"{page}#rules")
    r = await b.post(
        f"{page}/rules",
        {
            "match": "any",
            "c0_type": "country",
            "c0_values": "de\uff0cAT",  # a Chinese keyboard's comma separates too
            "c2_type": "query",
            "c2_name": "src",
            "c2_equals": "fb",
            "action_type": "url",
            "action_url": "https://shop.example.com/de",
        },
    )
    assert r.status_code == 303, r.text
    async with dash.db.transaction(write=False) as tx:
        _, rules = await link_rules.list_rules(tx, workspace=ws, link_id=link.id)
    first, second = rules
    assert [c.type for c in second.conditions] == ["country", "query"]
    assert second.conditions[0].values == ("DE", "AT") and second.match == "any"
    assert first.action.preset == "amazon" and first.name == "TikTok Android → app"

    shown = (await b.get(page)).text
    assert "TikTok Android → app" in shown and "https://shop.example.com/de" in shown

    # Edit: the builder is filled from the stored rule, and saving replaces it in place.
    edit = (await b.get(f"{page}?edit_rule={second.id}")).text
    assert f'name="rule_id" value="{second.id}"' in edit
    assert 'value="DE, AT"' in edit and 'value="src"' in edit
    r = await b.post(
        f"{page}/rules",
        {"rule_id": second.id, "c0_type": "device", "c0_values": "desktop",
         "action_type": "url", "action_url": "https://shop.example.com/desk"},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    r = await b.post(f"{page}/rules/{second.id}/move", {"to": "up"})
    assert r.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        _, rules = await link_rules.list_rules(tx, workspace=ws, link_id=link.id)
    assert [x.id for x in rules] == [second.id, first.id]  # ids kept: statistics stay
    assert rules[0].action.url == "https://shop.example.com/desk"
    r = await b.post(f"{page}/rules/{first.id}/delete", {})
    assert r.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        _, rules = await link_rules.list_rules(tx, workspace=ws, link_id=link.id)
    assert [x.id for x in rules] == [second.id]


async def test_refused_rules_show_each_error_next_to_its_field(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    link = await dash.link(ws)
    page = f"/app/w/{ws.slug}/links/{link.id}"
    r = await b.post(
        f"{page}/rules",
        {
            "c0_type": "device",
            "c0_values": "mobile, toaster",
            "c1_type": "time",
            "c1_start": "2026-12-24T10:00",
            "c1_end": "2026-12-24T09:00",
            "c2_type": "query",
            "action_type": "url",
            "action_url": "http://10.0.0.1/admin",
        },
    )
    assert r.status_code == 422
    html = r.text
    assert "use one of" in _errors(html, "c0_values")
    assert _errors(html, "c1_end")  # before its start
    assert _errors(html, "c2_name")  # a query condition needs its parameter
    assert "private" in _errors(html, "action_url").lower()  # the destination policy
    assert 'value="mobile, toaster"' in html  # the input is kept
    async with dash.db.transaction(write=False) as tx:
        _, rules = await link_rules.list_rules(tx, workspace=ws, link_id=link.id)
    assert rules == []  # nothing half-written
    r = await b.post(
        f"{page}/rules",
        {"c0_type": "in_app", "action_type": "app", "action_preset": "nope"},
    )
    assert r.status_code == 422 and _errors(r.text, "action_preset")


async def test_ab_test_start_results_and_stop(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    link = await dash.link(ws)
    page = f"/app/w/{ws.slug}/links/{link.id}"
    bad = await b.post(
        f"{page}/ab",
        {"v0_weight": "1", "v1_url": "http://127.0.0.1/x", "v1_weight": "1",
         "v2_url": "https://shop.example.com/c", "v2_weight": "0"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert _errors(bad.text, "v1_url") and _errors(bad.text, "v2_weight")
    ok = await b.post(
        f"{page}/ab",
        {"v0_weight": "60", "v1_url": "https://shop.example.com/item/1-b", "v1_weight": "40"},
    )
    assert ok.status_code == 303, ok.text
    shown = (await b.get(page)).text
    assert "https://shop.example.com/item/1-b" in shown and 'name="winner"' in shown
    async with dash.db.transaction(write=False) as tx:
        got = await tx.links(ws.id).get(link.id)
    assert got is not None
    test = experiments.test_of(got)
    assert test is not None and [v.weight for v in test.variants] == [60, 40]
    # A human click of variant B with an order: the page shows it in B's row.
    click = Click(
        click_id="c" * 32, ts=time.time(), link_id=link.id, workspace_id=ws.id,
        domain="hop.test", method="GET", user_agent=PHONE, referrer="", accept_language="en",
        country="US", visitor_hash="v1", variant=test.variants[1].id,
    )  # fmt: skip
    await Worker(db=dash.db, source=_NoSource()).process([click])
    async with dash.db.transaction() as tx:
        event, _ = parse_event(
            {"type": "purchase", "order_id": "AB-1", "amount": 12345, "currency": "USD",
             "click_id": click.click_id},
            now=utcnow(),
        )  # fmt: skip
        await record_event(
            tx, workspace_id=ws.id, event=event, source=Source.API, now=utcnow(),
            settings=await tx.conversions(ws.id).settings(),
        )  # fmt: skip
    shown = (await b.get(page)).text
    row = re.search(rf'<tr data-variant="{test.variants[1].id}">(.*?)</tr>', shown, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    # weight, human clicks, visitors, orders, conversion rate, GMV, chance, p, needed
    assert [c.strip() for c in cells[:6]] == ["40", "1", "1", "1", "100.0%", "$123.45"]
    stop = await b.post(f"{page}/ab/stop", {"winner": test.variants[1].id})
    assert stop.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        got = await tx.links(ws.id).get(link.id)
    assert got is not None and experiments.test_of(got) is None
    assert got.destination_url == "https://shop.example.com/item/1-b"


async def test_schedule_and_click_limit(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    link = await dash.link(ws)
    page = f"/app/w/{ws.slug}/links/{link.id}"
    bad = await b.post(
        f"{page}/schedule",
        {"starts_at": "2026-12-24T10:00", "ends_at": "2026-12-01T10:00", "max_clicks": "x1",
         "expiry_url": ""},
    )  # fmt: skip
    assert bad.status_code == 422 and _errors(bad.text, "max_clicks")
    bad = await b.post(
        f"{page}/schedule",
        {"starts_at": "2026-12-24T10:00", "ends_at": "2026-12-01T10:00", "max_clicks": "5",
         "expiry_url": "http://192.168.1.1/"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert _errors(bad.text, "ends_at") and _errors(bad.text, "expiry_url")
    ok = await b.post(
        f"{page}/schedule",
        {"starts_at": "", "ends_at": "2030-01-01T00:00", "max_clicks": "500",
         "expiry_url": "https://shop.example.com/ended"},
    )  # fmt: skip
    assert ok.status_code == 303, ok.text
    async with dash.db.transaction(write=False) as tx:
        got = await tx.links(ws.id).get(link.id)
    assert got is not None and got.max_clicks == 500 and got.ends_at is not None
    assert got.expiry_url == "https://shop.example.com/ended"
    shown = (await b.get(page)).text
    assert 'value="2030-01-01T00:00"' in shown  # in the workspace's zone (UTC here)
    cleared = await b.post(
        f"{page}/schedule", {"starts_at": "", "ends_at": "", "max_clicks": "", "expiry_url": ""}
    )
    assert cleared.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        got = await tx.links(ws.id).get(link.id)
    assert got is not None and got.max_clicks is None and got.ends_at is None


async def test_viewers_see_the_tools_read_only(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.VIEWER)
    link = await dash.link(ws)
    page = f"/app/w/{ws.slug}/links/{link.id}"
    html = (await b.get(page)).text
    assert "Routing rules" in html and 'action="' + page + '/rules"' not in html
    r = await b.post(f"{page}/rules", {"c0_type": "os", "c0_values": "ios",
                                        "action_url": "https://shop.example.com/i"})  # fmt: skip
    assert r.status_code == 403
