"""Start/end times, the human-click limit and what an expired link answers, end to end on
SQLite and PostgreSQL: the real edge, the real worker counting clicks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge_client import Edge
from sqlalchemy import select

from clickids import without_click_id
from hoplink.ingest.worker import Worker
from hoplink.storage import tables as t

PRODUCT = "https://shop.example.com/item/1"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Version/17.4 Mobile Safari"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


async def test_an_ended_link_shows_a_410_page_in_the_visitors_language(edge: Edge) -> None:
    ws = await edge.workspace()
    past = datetime.now(UTC) - timedelta(minutes=1)
    link = await edge.link(ws, PRODUCT, ends_at=past)
    r = await edge.http.get(f"/{link.code}", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 410 and "location" not in r.headers
    assert r.headers["content-language"] == "zh-CN"
    assert "链接已过期" in r.text and '<html lang="zh-CN">' in r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    for header, language, text in (
        ("de-AT,de;q=0.9", "de", "Link abgelaufen"),
        ("zh-TW", "zh-TW", "連結已過期"),
        ("zh-Hant-HK", "zh-TW", "連結已過期"),
        ("sw, tlh", "en", "Link expired"),
        ("", "en", "Link expired"),
    ):
        r = await edge.http.get(f"/{link.code}", headers={"accept-language": header})
        assert (r.status_code, r.headers["content-language"]) == (410, language), header
        assert text in r.text
    head = await edge.http.head(f"/{link.code}")
    assert head.status_code == 410 and head.content == b""
    assert await edge.clicks() == []  # a page, not a redirect: nothing to attribute


async def test_before_its_start_a_link_is_not_available_yet(edge: Edge) -> None:
    ws = await edge.workspace()
    soon = datetime.now(UTC) + timedelta(hours=1)
    link = await edge.link(ws, PRODUCT, starts_at=soon)
    r = await edge.http.get(f"/{link.code}", headers={"accept-language": "ja"})
    assert r.status_code == 404 and "まだご利用いただけません" in r.text
    # With an expiry URL, visitors outside the window go there instead.
    link = await edge.link(ws, PRODUCT, starts_at=soon, expiry_url="https://shop.example.com/soon")
    r = await edge.http.get(f"/{link.code}")
    assert r.status_code == 302
    assert without_click_id(r.headers["location"]) == "https://shop.example.com/soon"
    [click] = await edge.clicks()
    assert click.rule == "expired"


async def test_a_live_window_redirects_as_usual(edge: Edge) -> None:
    ws = await edge.workspace()
    now = datetime.now(UTC)
    link = await edge.link(
        ws, PRODUCT, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
    )
    r = await edge.http.get(f"/{link.code}")
    assert r.status_code == 302 and without_click_id(r.headers["location"]) == link.final_url
    [click] = await edge.clicks()
    assert click.rule == "default"


async def test_max_human_clicks_counted_by_the_worker_then_the_expiry_url(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(
        ws, PRODUCT, max_clicks=3, expiry_url="https://shop.example.com/sold-out"
    )
    worker = Worker.from_settings(edge.runtime.settings, db=edge.db, source=edge.journal)

    async def visit(ua: str) -> str:
        r = await edge.http.get(f"/{link.code}", headers={"user-agent": ua})
        assert r.status_code == 302
        return without_click_id(r.headers["location"])

    # Bots and link previews do not count towards the limit.
    for _ in range(5):
        assert await visit(BOT) == link.final_url
    assert [await visit(BROWSER) for _ in range(2)] == [link.final_url] * 2
    await worker.process(await edge.clicks())
    assert await visit(BROWSER) == link.final_url  # the 3rd human click
    await worker.process(await edge.clicks())
    # The worker marked it exhausted; its commit dropped the cached entry: the limit applies.
    assert await visit(BROWSER) == "https://shop.example.com/sold-out"
    async with edge.db.transaction(write=False) as tx:
        stored = await tx.links(ws.id).get(link.id)
        assert stored is not None and stored.exhausted_at is not None
        assert stored.state(datetime.now(UTC)) == "expired"
        rows = await tx.conn.execute(
            select(t.clicks.c.bot.is_(None)).where(t.clicks.c.link_id == link.id)
        )
        humans = sorted(bool(r[0]) for r in rows)
    assert humans == [False] * 5 + [True] * 3
