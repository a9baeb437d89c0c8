"""Every page renders for an owner, with the security headers."""

from __future__ import annotations

from dashboard_harness import Dash

from hoplink.dashboard.headers import CSP


async def test_every_page_renders_for_an_owner(dash: Dash) -> None:
    browser, ws = await dash.signed_in()
    link = await dash.link(ws, title="Spring shoes", tags=["q4"], utm={"utm_source": "fb"})
    base = f"/app/w/{ws.slug}"
    for path in [
        "/app/",
        f"{base}/links",
        f"{base}/links/new",
        f"{base}/links/{link.id}",
        f"{base}/links/{link.id}/edit",
        f"{base}/links/{link.id}/delete",
        f"{base}/bulk",
        f"{base}/analytics",
        f"{base}/analytics?scope=link:{link.id}&range=24h",
        f"{base}/analytics?scope=tag:q4&range=30d",
        f"{base}/analytics?scope=channel:facebook&range=custom&from=2026-01-01&to=2026-03-01",
        f"{base}/campaigns",
        f"{base}/settings",
    ]:
        response = await browser.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.text[-3000:])
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
