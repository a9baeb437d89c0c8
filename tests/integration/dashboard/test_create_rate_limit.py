"""Limits on the dashboard's create form and bulk upload: the workspace's quota and the
per-address limit on refused creations. A refusal is told on the same page, in the UI's
language, with the input kept, and nothing is created."""

from __future__ import annotations

from pathlib import Path

from dashboard_harness import running_dashboard
from sqlalchemy import func, select

from hoplink.storage.tables import links
from hoplink.workspaces.quotas import set_quota

ZH = {"accept-language": "zh-CN"}


async def _count(dash: object, workspace_id: str) -> int:
    """This workspace's links (other tests' rows may share the database)."""
    q = select(func.count()).select_from(links).where(links.c.workspace_id == workspace_id)
    async with dash.db.engine.connect() as conn:  # type: ignore[attr-defined]
        return int((await conn.execute(q)).scalar_one())


async def test_the_quota_refuses_on_the_form_page_keeping_the_input(
    db_url: str, tmp_path: Path
) -> None:
    async with running_dashboard(db_url, tmp_path / "data") as dash:
        b, ws = await dash.signed_in()
        async with dash.db.transaction() as tx:
            await set_quota(tx, workspace=ws, per_day=2, per_month=None)
        form = {"url": "https://shop.example.com/item/7", "title": "夏季新品 sandals"}
        for _ in range(2):
            assert (await b.post(f"/app/w/{ws.slug}/links", form)).status_code == 303
        refused = await b.post(f"/app/w/{ws.slug}/links", form, headers=ZH)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert 'id="page-error"' in refused.text
        assert "没有创建任何链接" in refused.text and "每天可创建 2 个链接" in refused.text
        assert 'value="https://shop.example.com/item/7"' in refused.text  # the form as typed
        assert "夏季新品 sandals" in refused.text
        assert await _count(dash, ws.id) == 2

        # The bulk upload: a chosen file's rows come back in the text box.
        csv = "url,title\nhttps://shop.example.com/a,A\nhttps://shop.example.com/b,B\n"
        bulk = await b.post(
            f"/app/w/{ws.slug}/bulk",
            {},
            files={"file": ("links.csv", csv.encode(), "text/csv")},
            headers=ZH,
        )
        assert bulk.status_code == 429
        assert "没有创建任何链接" in bulk.text and "您文件中的行已放在下方的文本框中" in bulk.text
        assert "https://shop.example.com/a,A" in bulk.text
        assert dash.app.dashboard.jobs.jobs == {}
        assert await _count(dash, ws.id) == 2

        # Settings shows the usage.
        settings = await b.get(f"/app/w/{ws.slug}/settings")
        assert 'id="quota"' in settings.text and "2 of 2" in settings.text


async def test_refused_creations_are_limited_per_client_address(
    db_url: str, tmp_path: Path
) -> None:
    async with running_dashboard(db_url, tmp_path / "data", rate_limit_create_ip="2/1h") as dash:
        b, ws = await dash.signed_in()
        good = {"url": "https://shop.example.com/item/7"}
        for _ in range(4):  # created links do not count against the address
            assert (await b.post(f"/app/w/{ws.slug}/links", good)).status_code == 303
        bad = {"url": "ftp://shop.example.com/x"}
        for _ in range(2):
            assert (await b.post(f"/app/w/{ws.slug}/links", bad)).status_code == 422
        refused = await b.post(f"/app/w/{ws.slug}/links", good)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "Too many requests came from your address" in refused.text
        assert 'value="https://shop.example.com/item/7"' in refused.text
        # A bulk upload from the same address is refused too, before any job starts.
        bulk = await b.post(f"/app/w/{ws.slug}/bulk", {"text": "https://shop.example.com/b"})
        assert bulk.status_code == 429 and "Too many requests" in bulk.text
        assert "https://shop.example.com/b" in bulk.text
        assert dash.app.dashboard.jobs.jobs == {}
        # The form's preview creates nothing, so it is not refused.
        preview = await b.post(f"/app/w/{ws.slug}/links", {**good, "action": "preview"})
        assert preview.status_code == 200
        assert await _count(dash, ws.id) == 4
        # Another address (another person) still creates.
        other = dash.browser(("192.0.2.77", 5000))
        email = "other@example.com"
        await dash.user(email, ws)
        await other.sign_in(email)
        assert (await other.post(f"/app/w/{ws.slug}/links", good)).status_code == 303
