"""The conversions pages: the analytics panel, the orders list and an order's click path,
Settings → Conversions (settings, commission rules, ingest keys, spend import, rates for
the operator only), in English and Chinese, numbers formatted per locale and currency."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from dashboard_harness import Dash
from sqlalchemy import select

from factories import api_key
from hoplink.clicks.models import Click
from hoplink.conversions import settings as conv_settings
from hoplink.conversions.models import Settings, Source
from hoplink.conversions.parse import parse_event
from hoplink.conversions.service import record_event
from hoplink.ids import utcnow
from hoplink.ingest.worker import Worker
from hoplink.storage import tables as t
from hoplink.workspaces.models import Role


class _NoSource:
    async def read(self, max_items: int, wait: float) -> tuple[list[Click], object]:
        return [], None

    async def ack(self, token: object) -> None:
        return None


def _click(link: Any, click_id: str, visitor: str, at: datetime) -> Click:
    """A phone's click on ``link`` at ``at``, as the edge captures it."""
    return Click(
        click_id=click_id,
        ts=at.timestamp(),
        link_id=link.id,
        workspace_id=link.workspace_id,
        domain="hop.test",
        method="GET",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148",
        referrer="",
        accept_language="en",
        country="US",
        visitor_hash=visitor,
    )


async def _order(dash: Dash, ws_id: str, body: dict[str, object]) -> str:
    async with dash.db.transaction() as tx:
        event, _ = parse_event(body, now=utcnow())
        r = await record_event(
            tx,
            workspace_id=ws_id,
            event=event,
            settings=await tx.conversions(ws_id).settings(),
            source=Source.DASHBOARD,
            now=utcnow(),
        )
    assert r.order is not None
    return r.order.id


async def test_orders_panel_list_detail_in_both_languages(dash: Dash) -> None:
    browser, ws = await dash.signed_in(Role.OWNER)
    link = await dash.link(ws, title="Red sneakers")
    at = datetime.now(UTC) - timedelta(hours=2)
    click = _click(link, "clkDashboard00001", "dash-visitor", at)
    await Worker(db=dash.db, source=_NoSource()).process([click])
    pk = await _order(
        dash,
        ws.id,
        {
            "type": "purchase",
            "order_id": "SO-88",
            "amount": 123_450,
            "currency": "USD",
            "click_id": click.click_id,
        },
    )
    await _order(
        dash, ws.id, {"type": "purchase", "order_id": "SO-89", "amount": 500, "currency": "USD"}
    )
    await _order(dash, ws.id, {"type": "refund", "order_id": "SO-89", "amount": 100})

    page = await browser.get(f"/app/w/{ws.slug}/analytics")
    assert page.status_code == 200
    assert 'id="total-orders">2<' in page.text
    assert "$1,239.50" in page.text  # GMV: 1,234.50 + 5.00
    assert "$1,238.50" in page.text  # net of the 1.00 refund

    orders = await browser.get(f"/app/w/{ws.slug}/orders?filter=attributed")
    assert "SO-88" in orders.text and "SO-89" not in orders.text
    refunded = await browser.get(f"/app/w/{ws.slug}/orders?filter=refunded")
    assert "SO-89" in refunded.text and "SO-88" not in refunded.text
    detail = await browser.get(f"/app/w/{ws.slug}/orders/{pk}")
    assert "clkDashboard00001" in detail.text and "Red sneakers" in detail.text

    await browser.post("/app/lang", {"lang": "zh_CN", "next": "/app/"})
    zh = await browser.get(f"/app/w/{ws.slug}/analytics")
    assert "订单" in zh.text and "US$1,239.50" in zh.text
    zh_orders = await browser.get(f"/app/w/{ws.slug}/orders")
    assert "订单" in zh_orders.text
    missing = await browser.get(f"/app/w/{ws.slug}/orders/ord_NoSuchOrder0000")
    assert missing.status_code == 404


async def test_conversion_settings_rules_keys_spend_and_rates(dash: Dash) -> None:
    browser, ws = await dash.signed_in(Role.OWNER)
    base = f"/app/w/{ws.slug}/conversions"
    page = await browser.get(base)
    assert page.status_code == 200 and 'value="7"' in page.text
    bad = await browser.post(
        f"{base}/settings",
        {"window_days": "120", "model": "last_click", "currency": "USD", "commission_percent": "8"},
    )
    assert bad.status_code == 422 and "1 to 90" in bad.text
    ok = await browser.post(
        f"{base}/settings",
        {"window_days": "14", "model": "linear", "currency": "CNY", "commission_percent": "10"},
    )
    assert ok.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        saved = await tx.conversions(ws.id).settings()
    assert (saved.window_days, saved.model.value, saved.currency, saved.commission_bp) == (
        14,
        "linear",
        "CNY",
        1000,
    )
    await dash.link(ws, tags=["bags"])
    assert (
        await browser.post(f"{base}/rules", {"kind": "tag", "ref": "bags", "percent": "12"})
    ).status_code == 303
    too_high = await browser.post(f"{base}/rules", {"kind": "tag", "ref": "bags", "percent": "30"})
    assert too_high.status_code == 422

    made = await browser.post(f"{base}/keys", {"name": "my store"})
    assert made.status_code == 200 and "hlik_" in made.text
    async with dash.db.transaction(write=False) as tx:
        key_id = (await tx.conn.execute(select(t.ingest_keys.c.id))).scalar_one()
    assert (await browser.post(f"{base}/keys/{key_id}/revoke", {})).status_code == 303

    csv = (
        "Campaign,Ad group,Day,Currency code,Cost,Impr.,Clicks\n"
        "spring,ad-a,2026-11-01,USD,12.34,1000,20\n"
    )
    google = "Campaign report\nNovember 1, 2026 - November 30, 2026\n" + csv
    spend = await browser.post(
        f"{base}/spend",
        {"format": "google"},
        files={"file": ("report.csv", google.encode(), "text/csv")},
    )
    assert spend.status_code == 303, spend.text
    async with dash.db.transaction(write=False) as tx:
        rows = (await tx.conn.execute(select(t.ad_spend.c.spend, t.ad_spend.c.ad_group))).all()
    assert [tuple(r) for r in rows] == [(1234, "ad-a")]

    rates = await browser.post(
        "/app/admin/rates", {}, files={"file": ("r.csv", b"2026-11-01,USD,CNY,7.1\n", "text/csv")}
    )
    assert rates.status_code == 404  # an owner is not the platform operator
    await dash.user("operator@example.com", ws, Role.OWNER, platform_admin=True)
    operator = dash.browser()
    await operator.sign_in("operator@example.com")
    await operator.get("/app/admin/rates")
    ok_rates = await operator.post(
        "/app/admin/rates", {}, files={"file": ("r.csv", b"2026-11-01,USD,CNY,7.1\n", "text/csv")}
    )
    assert ok_rates.status_code == 303
    assert "7.1" in (await operator.get("/app/admin/rates")).text
    assert "7.1" in (await operator.get(base)).text
    bad_rates = await operator.post("/app/admin/rates", {"text": "2026-11-01,USD,ZZZ,1"})
    assert bad_rates.status_code == 422


def _offered(page: str, select: str) -> list[str]:
    """The option values of a <select> of the page."""
    body = page.split(f'<select id="{select}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"', body)


async def test_report_currency_offers_the_codes_in_use(dash: Dash) -> None:
    browser, ws = await dash.signed_in(Role.OWNER)
    base = f"/app/w/{ws.slug}/conversions"
    offered = _offered((await browser.get(base)).text, "f-currency")
    assert {"EUR", "USD", "JPY", "CNY", "XCG"} <= set(offered)
    assert not {"DEM", "ATS", "FRF", "ITL", "HRK", "CHE", "XXX"} & set(offered)
    assert "ATS" not in _offered((await browser.get(base)).text, "mp-currency")
    form = {"window_days": "7", "model": "last_click", "commission_percent": "8"}
    refused = await browser.post(f"{base}/settings", form | {"currency": "DEM"})
    assert refused.status_code == 422 and "DEM is no longer in use; use EUR" in refused.text
    # A code chosen before it was withdrawn is offered (selected) and saved again as is.
    async with dash.db.transaction() as tx:
        await tx.conversions(ws.id).save_settings(Settings(currency="HRK"), utcnow())
    page = (await browser.get(base)).text
    assert "HRK" in _offered(page, "f-currency") and '<option value="HRK" selected>' in page
    kept = await browser.post(f"{base}/settings", form | {"currency": "HRK", "window_days": "9"})
    assert kept.status_code == 303, kept.text
    async with dash.db.transaction(write=False) as tx:
        saved = await tx.conversions(ws.id).settings()
    assert (saved.currency, saved.window_days) == ("HRK", 9)


async def test_orders_csv_export_matches_the_page_and_the_api(dash: Dash) -> None:
    """The orders panel's "Export orders CSV" is the API's conversions CSV of the page's
    scope and range; its total row equals the page's figures and the API's totals."""
    browser, ws = await dash.signed_in(Role.OWNER)
    link = await dash.link(ws, title="Red sneakers", tags=["双11"])
    other = await dash.link(ws, url="https://shop.example.com/item/2")
    async with dash.db.transaction() as tx:
        await conv_settings.put_rule(
            tx, workspace_id=ws.id, kind="tag", ref="双11", percent=10, commission_range=(5, 12)
        )
        key = await api_key(tx, ws)
    at = datetime.now(UTC) - timedelta(hours=2)
    clicks = [
        _click(lk, f"clkCsvExport0000{i}", f"csv-visitor-{i}", at)
        for i, lk in enumerate((link, other))
    ]
    await Worker(db=dash.db, source=_NoSource()).process(clicks)
    for i, (amount, c) in enumerate(((123_450, clicks[0]), (9_999, clicks[1]))):
        body = {"type": "purchase", "order_id": f"SO-{i}", "amount": amount, "currency": "USD"}
        await _order(dash, ws.id, body | {"click_id": c.click_id})
    await _order(dash, ws.id, {"type": "refund", "order_id": "SO-0", "amount": 450})

    for scope in ("workspace", "tag:双11"):
        page = await browser.get(f"/app/w/{ws.slug}/analytics", params={"scope": scope})
        assert page.status_code == 200
        href = re.search(r'id="export-orders" href="([^"]+)"', page.text)
        assert href is not None
        got = await browser.get(href.group(1).replace("&amp;", "&"))
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert got.text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(got.text.removeprefix("\ufeff"))))
        header, total = rows[0], dict(zip(rows[0], rows[-1], strict=True))
        assert header[:4] == ["time", "orders", "gmv", "net_gmv"] and total["time"] == "total"
        assert "commission" in header and "roas" in header
        # the page's figures
        assert f'id="total-orders">{total["orders"]}<' in page.text
        for cell, name in (("gmv", "total-gmv"), ("net_gmv", "total-net")):
            assert f'id="{name}">${int(total[cell]) / 100:,.2f}<' in page.text
        assert f'id="total-commission">${int(total["commission"]) / 100:,.2f}<' in page.text
        # the API's CSV and totals for the same range
        today = datetime.now(UTC).date()
        params = {
            "from": (today - timedelta(days=6)).isoformat(),
            "to": today.isoformat(),
            "granularity": "hour",
        }
        kind, _, ref = scope.partition(":")
        path = "/api/v1/stats/conversions/" + (kind if not ref else f"{kind}/{quote(ref)}")
        api = dash.browser().http
        headers = {"Authorization": f"Bearer {key}", "Host": "hop.test"}
        as_csv = await api.get(path, params=params | {"format": "csv"}, headers=headers)
        assert as_csv.status_code == 200, as_csv.text
        assert as_csv.text == got.text.removeprefix("\ufeff")
        js = (await api.get(path, params=params, headers=headers)).json()["totals"]
        assert (js["orders"], js["gmv"], js["net_gmv"], js["commission"]) == (
            int(total["orders"]),
            int(total["gmv"]),
            int(total["net_gmv"]),
            int(total["commission"]),
        )
        if scope == "workspace":
            assert (js["orders"], js["gmv"], js["net_gmv"]) == (2, 133_449, 132_999)
            # 10 % of the tagged link's 1,230.00 net, 8 % of the other's 99.99
            assert js["commission"] == 12_300 + 800
        else:
            disposition = got.headers["content-disposition"]
            assert "filename*=UTF-8''" in disposition and quote("双11") in disposition
            first = today - timedelta(days=6)
            assert f"-orders-tag-_11-{first}-{today}.csv" in disposition
