"""Routing rules end to end: a table of (request → expected Location) cases through the real
redirect edge on SQLite and PostgreSQL, every condition and action, with the rule recorded
on each click."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest_asyncio
from edge_client import Edge, running_edge

from clickids import split_click_id, without_click_id
from hoplink.links import rules as rule_service
from hoplink.links.models import Link
from hoplink.links.routing import app_presets
from hoplink.workspaces.models import Workspace
from inapp_agents import AGENTS

SHOP = "https://shop.example.com"
PRODUCT = f"{SHOP}/item/42?sku=7"
AMAZON = "https://www.amazon.com/dp/B0TEST1234?th=1"
TAOBAO = "https://item.taobao.com/item.htm?id=123"
IPHONE = next(ua for ua, app, os, _ in AGENTS if app is None and os == "ios")
ANDROID = next(ua for ua, app, os, dev in AGENTS if app is None and os == "android")
DESKTOP = next(ua for ua, _, _, dev in AGENTS if dev == "desktop")


@pytest_asyncio.fixture
async def edge(db_url: str, tmp_path: Path) -> AsyncIterator[Edge]:
    # The peer is a trusted proxy, so a CDN's country header picks the country.
    async with running_edge(db_url, tmp_path / "data", trusted_proxies=("1.0.16.0/24",)) as e:
        yield e


async def add_rules(edge: Edge, ws: Workspace, link: Link, rules: list[dict[str, Any]]) -> Link:
    async with edge.db.transaction() as tx:
        link, _ = await rule_service.set_rules(
            tx,
            workspace=ws,
            link_id=link.id,
            rules=rules,
            actor="test",
            policy=None,
            presets=app_presets(),
        )
    return link


def url(path: str) -> dict[str, Any]:
    return {"type": "url", "url": f"{SHOP}/{path}"}


def intent(web: str, package: str) -> str:
    scheme, rest = web.split("://", 1)
    return (
        f"intent://{rest}#Intent;scheme={scheme};package={package};"
        f"S.browser_fallback_url={quote(web, safe='')};end"
    )


@dataclass(frozen=True)
class Case:
    link: str
    headers: dict[str, str]
    query: str
    location: str
    rule: int | None  # index of the rule that answers; None: the default


async def test_table_of_requests_and_their_locations(edge: Edge) -> None:
    ws = await edge.workspace()
    now = datetime.now(UTC)
    links: dict[str, Link] = {}

    # A: who the visitor is (in-app browser, OS, device), and the app hand-off.
    links["agent"] = await add_rules(
        edge,
        ws,
        await edge.link(ws, PRODUCT),
        [
            {"conditions": [{"type": "in_app", "values": ["wechat"]}], "action": url("wechat")},
            {
                "match": "all",
                "conditions": [
                    {"type": "in_app", "values": ["tiktok", "instagram"]},
                    {"type": "os", "values": ["android"]},
                ],
                "action": {"type": "app", "preset": "amazon", "url": AMAZON},
            },
            {
                "conditions": [{"type": "in_app"}, {"type": "os", "values": ["ios"]}],
                "action": {"type": "app", "preset": "taobao", "url": TAOBAO},
            },
            {"conditions": [{"type": "device", "values": ["desktop"]}], "action": url("desk")},
            {"conditions": [{"type": "device", "values": ["tablet"]}], "action": url("tab")},
            {"conditions": [{"type": "os", "values": ["android"]}], "action": url("android")},
        ],
    )
    # B: where the visitor is, what they read, and what the link was shared with.
    links["place"] = await add_rules(
        edge,
        ws,
        await edge.link(ws, PRODUCT),
        [
            {
                "conditions": [{"type": "query", "name": "src", "equals": "tiktok"}],
                "action": url("from-tiktok"),
            },
            {"conditions": [{"type": "query", "name": "promo"}], "action": url("promo")},
            {
                "match": "all",
                "conditions": [
                    {"type": "country", "values": ["DE", "at"]},
                    {"type": "language", "values": ["de"]},
                ],
                "action": url("de"),
            },
            {
                "match": "any",
                "conditions": [
                    {"type": "country", "values": ["JP"]},
                    {"type": "language", "values": ["ja"]},
                ],
                "action": url("ja"),
            },
            {"conditions": [{"type": "language", "values": ["zh-TW"]}], "action": url("tw")},
            {"conditions": [{"type": "language", "values": ["zh"]}], "action": url("zh")},
        ],
    )
    # C: when (a window that has passed, one to come, one open now).
    iso = lambda d: d.isoformat()  # noqa: E731
    links["time"] = await add_rules(
        edge,
        ws,
        await edge.link(ws, PRODUCT),
        [
            {
                "conditions": [{"type": "time", "end": iso(now - timedelta(hours=1))}],
                "action": url("past"),
            },
            {
                "conditions": [{"type": "time", "start": iso(now + timedelta(hours=1))}],
                "action": url("future"),
            },
            {
                "match": "all",
                "conditions": [
                    {
                        "type": "time",
                        "start": iso(now - timedelta(hours=1)),
                        "end": iso(now + timedelta(hours=1)),
                    },
                    {"type": "country", "values": ["US"]},
                ],
                "action": url("now-us"),
            },
        ],
    )
    # D: forward_query — the visitor's query follows URL rules, never an app hand-off.
    links["forward"] = await add_rules(
        edge,
        ws,
        await edge.link(ws, PRODUCT, forward_query=True),
        [
            {
                "conditions": [{"type": "os", "values": ["android"]}],
                "action": {"type": "app", "preset": "amazon", "url": AMAZON},
            },
            {"conditions": [{"type": "country", "values": ["FR"]}], "action": url("fr?a=1")},
        ],
    )
    finals = {name: link.final_url for name, link in links.items()}

    cases: list[Case] = []
    # A: every agent of the corpus, explicitly.
    amazon_android = intent(AMAZON, "com.amazon.mShop.android.shopping")
    taobao_ios = "taobao://item.taobao.com/item.htm?id=123"
    for ua, app, os, device in AGENTS:
        if app == "wechat":
            expected, rule = f"{SHOP}/wechat", 0
        elif app in ("tiktok", "instagram") and os == "android":
            expected, rule = amazon_android, 1
        elif app is not None and os == "ios":
            expected, rule = taobao_ios, 2
        elif device == "desktop":
            expected, rule = f"{SHOP}/desk", 3
        elif device == "tablet":
            expected, rule = f"{SHOP}/tab", 4
        elif os == "android":
            expected, rule = f"{SHOP}/android", 5
        else:
            expected, rule = finals["agent"], None
        cases.append(Case("agent", {"user-agent": ua}, "", expected, rule))

    # B: every country, language and query together.
    countries = [None, "DE", "AT", "JP", "FR", "US"]
    languages = [None, "de-DE,de;q=0.9", "ja", "zh-TW,zh;q=0.8", "zh-CN", "en-US,de;q=0.1"]
    queries = ["", "src=tiktok", "src=facebook", "promo", "promo=&src=tiktok", "x=promo"]
    for country, language, query in itertools.product(countries, languages, queries):
        top = (language or "").split(",")[0].split(";")[0].lower()
        seen_as = country or "JP"  # no CDN header: the peer's country, from the registry data
        if "src=tiktok" in query:
            path, rule = "from-tiktok", 0
        elif query.startswith("promo"):
            path, rule = "promo", 1
        elif seen_as in ("DE", "AT") and top.startswith("de"):
            path, rule = "de", 2
        elif seen_as == "JP" or top == "ja":
            path, rule = "ja", 3
        elif top == "zh-tw":
            path, rule = "tw", 4
        elif top.startswith("zh"):
            path, rule = "zh", 5
        else:
            path, rule = "", None
        headers = {}
        if country:
            headers["cf-ipcountry"] = country
        if language:
            headers["accept-language"] = language
        expected = f"{SHOP}/{path}" if rule is not None else finals["place"]
        cases.append(Case("place", headers, query, expected, rule))

    # C: the time windows.
    for country in ("US", "DE", None):
        headers = {"cf-ipcountry": country} if country else {}
        if country == "US":
            cases.append(Case("time", headers, "", f"{SHOP}/now-us", 2))
        else:
            # No cf-ipcountry: the peer's own country (JP, from the registry data).
            cases.append(Case("time", headers, "", finals["time"], None))

    # D: forwarding (the visitor's utm_* never replace the link's own, and are dropped).
    for ua, query, country in itertools.product(
        (ANDROID, IPHONE, DESKTOP), ("", "ref=ig&utm_source=evil"), ("FR", "US")
    ):
        headers = {"user-agent": ua, "cf-ipcountry": country}
        if ua == ANDROID:
            expected, rule = amazon_android, 0
        elif country == "FR":
            expected, rule = f"{SHOP}/fr?a=1" + ("&ref=ig" if query else ""), 1
        else:
            base = finals["forward"]
            expected, rule = (f"{base}&ref=ig" if query else base), None
        cases.append(Case("forward", headers, query, expected, rule))

    assert len(cases) >= 200

    failures: list[str] = []
    click_ids: list[str | None] = []
    for case in cases:
        link = links[case.link]
        path = f"/{link.code}" + (f"?{case.query}" if case.query else "")
        r = await edge.http.get(path, headers=case.headers)
        got = r.headers.get("location")
        click_id = None
        if got is not None and got.startswith(("http://", "https://")):
            # Web Locations carry the click id; app hand-offs (intent://, schemes) never do.
            got, click_id = split_click_id(got)
        click_ids.append(click_id)
        if r.status_code != 302 or got != case.location:
            failures.append(f"{case}: got {r.status_code} {got}")
    assert failures == [], "\n".join(failures[:20])
    assert all(
        (c is None) == (not x.location.startswith("http"))
        for c, x in zip(click_ids, cases, strict=True)
    )

    # Each click says which rule answered ("default": none matched).
    clicks = await edge.clicks()
    assert len(clicks) == len(cases)
    rule_ids = {}
    for name, link in links.items():
        async with edge.db.transaction(write=False) as tx:
            _, stored = await rule_service.list_rules(tx, workspace=ws, link_id=link.id)
        rule_ids[name] = [r.id for r in stored]
    for case, click, click_id in zip(cases, clicks, click_ids, strict=True):
        expected = "default" if case.rule is None else rule_ids[case.link][case.rule]
        assert (click.link_id, click.rule) == (links[case.link].id, expected), case
        assert click_id in (None, click.click_id), case


async def test_a_plain_link_records_no_rule_and_an_edited_rule_applies_at_once(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT)
    r = await edge.http.get(f"/{link.code}", headers={"user-agent": ANDROID})
    assert without_click_id(r.headers["location"]) == link.final_url
    link = await add_rules(
        edge,
        ws,
        link,
        [{"conditions": [{"type": "os", "values": ["android"]}], "action": url("a")}],
    )
    r = await edge.http.get(f"/{link.code}", headers={"user-agent": ANDROID})
    assert without_click_id(r.headers["location"]) == f"{SHOP}/a"
    async with edge.db.transaction() as tx:
        [rule] = (await rule_service.list_rules(tx, workspace=ws, link_id=link.id))[1]
        await rule_service.delete_rule(
            tx, workspace=ws, link_id=link.id, rule_id=rule.id, actor="test"
        )
    r = await edge.http.get(f"/{link.code}", headers={"user-agent": ANDROID})
    assert without_click_id(r.headers["location"]) == link.final_url
    assert [c.rule for c in await edge.clicks()] == [None, rule.id, None]
