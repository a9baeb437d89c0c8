"""The dashboard's create form and bulk upload share the per-address creation limit with
the API: over it, a 429 page with Retry-After, and no link created."""

from __future__ import annotations

from pathlib import Path

from dashboard_harness import running_dashboard
from sqlalchemy import func, select

from hoplink.storage.tables import links


async def test_the_create_form_is_limited_per_client_address(db_url: str, tmp_path: Path) -> None:
    async with running_dashboard(db_url, tmp_path / "data", rate_limit_create_ip="2/1h") as dash:
        b, ws = await dash.signed_in()
        form = {"url": "https://shop.example.com/item/7"}
        for _ in range(2):
            created = await b.post(f"/app/w/{ws.slug}/links", form)
            assert created.status_code == 303, created.text
        refused = await b.post(f"/app/w/{ws.slug}/links", form)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "Too many links were created from your address" in refused.text
        # A bulk upload from the same address is refused too, before any job starts.
        bulk = await b.post(f"/app/w/{ws.slug}/bulk", {"text": "https://shop.example.com/b"})
        assert bulk.status_code == 429 and "Too many links" in bulk.text
        assert dash.app.dashboard.jobs.jobs == {}
        # The form's preview creates nothing, so it is not counted.
        preview = await b.post(f"/app/w/{ws.slug}/links", {**form, "action": "preview"})
        assert preview.status_code == 200
        async with dash.db.engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(links))).scalar_one()
        assert count == 2
        # Another address (another person) still creates.
        other = dash.browser(("192.0.2.77", 5000))
        email = "other@example.com"
        await dash.user(email, ws)
        await other.sign_in(email)
        assert (await other.post(f"/app/w/{ws.slug}/links", form)).status_code == 303
