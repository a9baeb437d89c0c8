"""Stored-XSS payloads in titles, tags, UTM values, notes, campaign names, user agents and
referrers: Chromium shows them as text — no dialog, no script run, no CSP violation."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from browser_server import HOST, SLUG, Server, run_async
from browser_session import Session
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "dashboard"))
from xss_payloads import PAYLOADS, short

ASCII = [p for p in PAYLOADS if p.isascii()]


async def _seed(server: Server) -> dict[str, Any]:
    from hoplink.accounts.apikeys import create_api_key
    from hoplink.accounts.models import Scope
    from hoplink.clicks.enriched import Counts, RollupDelta
    from hoplink.links.campaigns import create_campaign
    from hoplink.links.service import LinkRules, LinkSpec, create_links
    from hoplink.storage.database import Database
    from hoplink.storage.rollups import RollupRepo

    db = Database.from_url(f"sqlite+aiosqlite:///{server.data_dir / 'hoplink.db'}")
    try:
        async with db.transaction() as tx:
            ws = await tx.workspaces.find(SLUG)
            domain = await tx.short_domains.by_hostname(HOST)
            assert ws is not None and domain is not None
            campaign = await create_campaign(tx, workspace_id=ws.id, name=PAYLOADS[0])
            specs = [
                LinkSpec(
                    url=f"https://shop.example.com/xss/{i}",
                    title=p,
                    notes=p,
                    tags=[short(p, 64), "xss"],
                    utm={"utm_source": p, "utm_campaign": p, "utm_content": p},
                    campaign_id=campaign.id,
                )
                for i, p in enumerate(PAYLOADS)
            ]
            links = await create_links(
                tx, workspace=ws, domain=domain, specs=specs, actor=None, rules=LinkRules()
            )
            for p in PAYLOADS[:10]:
                await create_api_key(
                    tx,
                    workspace=ws,
                    name=short(p, 100),
                    scopes=frozenset(Scope),
                    created_by=None,
                    operator=True,
                )
        hour = int(time.time() // 3600)
        delta = RollupDelta()
        first = links[0]
        assert not isinstance(first, Exception)
        for j, p in enumerate(PAYLOADS[:60]):
            counts = Counts(pv=100 - j, human_pv=100 - j, uv_day=1)
            for dim in ("country", "os", "browser", "referrer", "language", "bot", "device"):
                delta.link_dim_hours[(first.id, ws.id, hour, dim, p)] = counts
                delta.workspace_dim_hours[(ws.id, hour, dim, p)] = counts
        async with db.transaction() as tx:
            await RollupRepo(tx.conn).apply(delta)
        return {"links": [link.id for link in links if not isinstance(link, Exception)],
                "codes": [link.code for link in links if not isinstance(link, Exception)],
                "campaign": campaign.id}  # fmt: skip
    finally:
        await db.dispose()


def _check(session: Session, path: str) -> None:
    response = session.go(path)
    assert response is not None and response.status == 200, path
    session.page.wait_for_load_state("load")
    assert session.page.evaluate("window.__xss === undefined"), path
    assert session.csp_violations() == [], (path, session.csp_violations())


def test_payloads_render_inert_on_every_page(session: Session) -> None:
    seeded = run_async(lambda: _seed(session.server))
    # Visitors' own text, sent with real clicks on the short links.
    for i, payload in enumerate(ASCII[:40]):
        answer = session.server.short(
            seeded["codes"][i],
            headers={"user-agent": payload, "referer": f"https://x.test/{payload}"},
        )
        assert answer.status_code == 302
    session.sign_in()
    base = f"/app/w/{SLUG}"
    pages = [
        f"{base}/links?tag=xss&per_page=100",
        f"{base}/links?tag=xss&per_page=100&page=2",
        f"{base}/campaigns",
        f"{base}/settings",
        f"{base}/analytics?range=24h",
        f"{base}/analytics?scope=link:{seeded['links'][0]}&range=24h",
        f"{base}/analytics?scope=campaign:{seeded['campaign']}&range=7d",
        f"{base}/analytics?scope=tag:xss&range=24h",
    ]
    for link_id in seeded["links"][:: len(PAYLOADS) // 12]:
        pages += [f"{base}/links/{link_id}", f"{base}/links/{link_id}/edit"]
    for path in pages:
        _check(session, path)
    session.go(f"{base}/analytics?range=24h")
    session.screenshot("12-analytics-with-payloads")
    # The auto-refresh swaps the fragment in: still nothing runs.
    session.page.wait_for_timeout(3500)
    assert session.page.evaluate("window.__xss === undefined")
    assert session.csp_violations() == []
    # The live preview shows payload UTM values as text.
    session.go(f"{base}/links/new")
    session.page.get_by_label("Product URL").fill("https://shop.example.com/p")
    session.page.get_by_label("Title (optional)").fill(PAYLOADS[2])
    session.page.get_by_label("UTM content (optional)").fill(PAYLOADS[0])
    expect(session.page.locator("#preview")).to_contain_text("utm_content=")
    assert session.page.evaluate("window.__xss === undefined")
    assert session.watch.dialogs == []
