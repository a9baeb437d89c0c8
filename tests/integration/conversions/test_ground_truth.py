"""The ground truth: a generated stream of clicks, then orders (duplicates, amount updates,
late and partial refunds, cancels, orders outside the window, unknown click ids, another
workspace's click ids, mixed currencies, one without a rate), and the reported orders, GMV,
net GMV, commission, spend and ROAS per link, campaign and ad group equal what this test
computes on its own from the same stream. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest_asyncio
from conv_support import click, iso, post, shop, write_clicks

from api_client import Api, running_api

WINDOW = timedelta(days=7)
SKEW = timedelta(minutes=5)
# 1 EUR = 1.25 USD; 1 USD = 8 CNY: amounts are multiples of 8, so every conversion is exact.
TO_USD = {"USD": Decimal(1), "EUR": Decimal("1.25"), "CNY": Decimal("0.125")}
RATE_BP = {"L1": 500, "L2": 800, "L3": 1200}  # campaign override, default, tag override


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


@dataclass
class Truth:
    link: str | None  # L1..L3 or None (unattributed)
    currency: str
    amount: int
    refunded: int = 0


def _round(d: Decimal) -> int:
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


async def test_reported_figures_equal_an_independent_computation(api: Api) -> None:
    rnd = random.Random(20261203)
    now = datetime.now(UTC).replace(microsecond=0)
    camp = None
    s = await shop(api, "Ground Truth")
    r = await api.http.post("/api/v1/campaigns", json={"name": "Spring"}, headers=s.headers)
    camp = r.json()["id"]
    specs = {
        "L1": {
            "url": "https://shop.example.com/1",
            "utm_campaign": "spring",
            "utm_content": "ad-a",
            "campaign_id": camp,
            "tags": ["shoes"],
        },
        "L2": {
            "url": "https://shop.example.com/2",
            "utm_campaign": "spring",
            "utm_content": "ad-b",
        },
        "L3": {
            "url": "https://shop.example.com/3",
            "utm_campaign": "summer",
            "utm_content": "ad-c",
            "tags": ["bags"],
        },
    }
    links = {}
    for name, spec in specs.items():
        made = await api.http.post("/api/v1/links", json=spec, headers=s.headers)
        links[name] = made.json()
    name_of = {v["id"]: k for k, v in links.items()}
    other = await shop(api, "Other Shop")

    # settings: USD reports, 8 % default, campaign 5 %, tag bags 12 %
    h = s.headers
    assert (
        await api.http.put(
            "/api/v1/conversions/settings", headers=h, json={"currency": "USD", "window_days": 7}
        )
    ).status_code == 200
    for rule in (
        {"kind": "campaign", "ref": camp, "percent": 5},
        {"kind": "tag", "ref": "bags", "percent": 12},
    ):
        assert (
            await api.http.put("/api/v1/conversions/commission-rules", headers=h, json=rule)
        ).status_code == 200

    # exchange rates, uploaded as the operator does (daily, for the whole span)
    assert api.app.runtime is not None
    from hoplink.conversions.rates import parse_rates_csv
    from hoplink.storage.conversion_reports import RateRepo

    lines = []
    for d in range(25):
        day = (now - timedelta(days=d)).date().isoformat()
        lines += [f"{day},EUR,USD,1.25", f"{day},USD,CNY,8"]
    async with api.db.transaction() as tx:
        await RateRepo(tx.conn).upsert(parse_rates_csv("\n".join(lines)), now)

    # clicks: 40 visitors over the last 12 days, each 1-3 clicks on random links
    clicks = []
    for v in range(40):
        for _ in range(rnd.randint(1, 3)):
            name = rnd.choice(list(links))
            at = now - timedelta(days=12) + timedelta(seconds=rnd.randint(0, 11 * 86400))
            clicks.append((name, click(links[name], s.ws_id, at, f"visitor{v}")))
    foreign = click(other.links[0], other.ws_id, now - timedelta(days=1), "stranger")
    await write_clicks(api, [c for _, c in clicks] + [foreign])

    truth: dict[str, Truth] = {}
    events: list[dict[str, Any]] = []
    posted_jpy = 0
    for n in range(120):
        oid = f"GT-{n:04d}"
        currency = rnd.choice(["USD", "EUR", "CNY"])
        amount = 8 * rnd.randint(100, 5000)
        kind = rnd.random()
        body: dict[str, Any] = {
            "type": "purchase",
            "order_id": oid,
            "amount": amount,
            "currency": currency,
        }
        if kind < 0.7:
            name, c = rnd.choice(clicks)
            placed = datetime.fromtimestamp(c.ts, UTC) + timedelta(hours=rnd.randint(0, 10 * 24))
            placed = min(placed, now - timedelta(minutes=1))
            body["click_id"] = c.click_id
            inside = placed - WINDOW <= datetime.fromtimestamp(c.ts, UTC) <= placed + SKEW
            link = name if inside else None
        elif kind < 0.8:
            placed = now - timedelta(hours=rnd.randint(1, 200))
            body["click_id"] = f"unknown{n}"
            link = None
        elif kind < 0.9:
            placed = now - timedelta(hours=rnd.randint(1, 48))
            body["click_id"] = foreign.click_id  # another workspace's: unknown here
            link = None
        else:
            placed = now - timedelta(hours=rnd.randint(1, 200))
            link = None
        body["occurred_at"] = iso(placed)
        events.append(body)
        truth[oid] = Truth(link, currency, amount)
        if rnd.random() < 0.2:  # a duplicate, later in the stream
            events.append(dict(body))
    # an order in a currency without a rate: counted, never converted
    events.append(
        {
            "type": "purchase",
            "order_id": "JPY-1",
            "amount": 5000,
            "currency": "JPY",
            "occurred_at": iso(now - timedelta(hours=3)),
        }
    )
    posted_jpy = 1
    rnd.shuffle(events)
    for i in range(0, len(events), 50):
        r = await post(api, h, {"events": events[i : i + 50]})
        assert r.status_code == 200 and r.json()["rejected"] == 0, r.text

    # amount updates, late partial refunds, cancels
    later: list[dict[str, Any]] = []
    for oid, tr in list(truth.items()):
        roll = rnd.random()
        if roll < 0.15:
            tr.amount += 8 * rnd.randint(1, 100)
            later.append(
                {"type": "purchase", "order_id": oid, "amount": tr.amount, "currency": tr.currency}
            )
        elif roll < 0.35:
            part = 8 * rnd.randint(1, tr.amount // 16)
            tr.refunded += part
            later.append(
                {"type": "refund", "order_id": oid, "amount": part, "event_id": f"rf-{oid}"}
            )
            if rnd.random() < 0.3:  # the refund posted twice: counted once
                later.append(later[-1])
        elif roll < 0.42:
            tr.refunded = tr.amount
            later.append({"type": "cancel", "order_id": oid})
    r = await post(api, h, {"events": later})
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text

    # ad spend, generic CSV (EUR and USD), linked by utm_campaign / utm_content
    spend_rows = []
    spend_usd: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for d in range(1, 10):
        day = (now - timedelta(days=d)).date().isoformat()
        for campaign, group in (("spring", "ad-a"), ("spring", "ad-b"), ("summer", "ad-c")):
            cur = rnd.choice(["USD", "EUR"])
            cents = 4 * rnd.randint(100, 2000)
            spend_rows.append(f"{day},{campaign},{group},{Decimal(cents) / 100},{cur}")
            spend_usd[(campaign, group)] += cents * TO_USD[cur]
    csv_text = "date,campaign,ad_group,spend,currency\n" + "\n".join(spend_rows)
    r = await api.http.post(
        "/api/v1/spend/import?format=generic",
        content=csv_text,
        headers=h | {"Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text

    # what the reports must say, computed here
    expect: dict[str, dict[str, dict[str, Decimal]]] = {
        g: defaultdict(lambda: defaultdict(Decimal)) for g in ("link", "campaign", "ad_group")
    }
    key_of = {
        "link": {k: links[k]["id"] for k in links},
        "campaign": {"L1": camp, "L2": "(none)", "L3": "(none)"},
        "ad_group": {"L1": "ad-a", "L2": "ad-b", "L3": "ad-c"},
    }
    total = defaultdict(Decimal)
    for tr in truth.values():
        usd = TO_USD[tr.currency]
        gmv, net = tr.amount * usd, (tr.amount - tr.refunded) * usd
        bp = RATE_BP[tr.link] if tr.link else 800
        for acc in [total] + [
            expect[g][key_of[g][tr.link] if tr.link else "(unattributed)"] for g in expect
        ]:
            acc["orders"] += 1
            acc["gmv"] += gmv
            acc["net"] += net
            acc["commission"] += net * bp / 10_000
    start = (now - timedelta(days=20)).date().isoformat()
    end = now.date().isoformat()
    report = (
        await api.http.get(
            "/api/v1/stats/conversions/workspace",
            headers=h,
            params=[
                ("from", start),
                ("to", end),
                ("group", "link"),
                ("group", "campaign"),
                ("group", "ad_group"),
                ("group", "utm_campaign"),
            ],
        )
    ).json()
    assert report["currency"] == "USD" and report["model"] == "last_click"
    t = report["totals"]
    assert t["orders"] == total["orders"] + posted_jpy
    assert t["gmv"] == _round(total["gmv"]) and t["net_gmv"] == _round(total["net"])
    assert t["commission"] == _round(total["commission"])
    assert {"currency": "JPY", "day": (now - timedelta(hours=3)).date().isoformat()} in report[
        "missing_rates"
    ]
    assert t["spend"] == _round(sum(spend_usd.values(), Decimal(0)))
    assert sum(p["orders"] for p in report["series"]) == t["orders"]
    assert sum(p["gmv"] for p in report["series"]) == t["gmv"]
    for group, want in expect.items():
        got = {row["value"]: row for row in report["groups"][group]}
        for key, acc in want.items():
            row = got[key]
            extra = posted_jpy if key == "(unattributed)" else 0
            assert row["orders"] == acc["orders"] + extra, (group, key)
            assert row["gmv"] == _round(acc["gmv"]), (group, key)
            assert row["net_gmv"] == _round(acc["net"]), (group, key)
            assert row["commission"] == _round(acc["commission"]), (group, key)
        assert {k for k, r in got.items() if r["orders"]} == {
            k for k, a in want.items() if a["orders"]
        } | ({"(unattributed)"} if posted_jpy else set())
    # ROAS per ad group and per utm_campaign: net GMV / spend
    by_group = {row["value"]: row for row in report["groups"]["ad_group"]}
    for (_campaign, group), usd in spend_usd.items():
        row = by_group[group]
        assert row["spend"] == _round(usd)
        assert row["roas"] == round(_round(expect["ad_group"][group]["net"]) / _round(usd), 4)
    by_campaign = {row["value"]: row for row in report["groups"]["utm_campaign"]}
    spring = spend_usd[("spring", "ad-a")] + spend_usd[("spring", "ad-b")]
    assert by_campaign["spring"]["spend"] == _round(spring)
    assert {row["value"]: row for row in report["groups"]["campaign"]}[camp]["spend"] == _round(
        spring
    )
    # clicks per link come from the rollups, beside the orders
    link_rows = {row["value"]: row for row in report["groups"]["link"]}
    for name, link in links.items():
        assert link_rows[link["id"]]["clicks"] == sum(1 for n, _ in clicks if n == name)
    assert name_of
