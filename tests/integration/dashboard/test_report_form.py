"""The public report form: no sign-in, CSRF, field errors, rate limit, no address stored."""

from __future__ import annotations

import json
from pathlib import Path

from dashboard_harness import Dash, running_dashboard
from sqlalchemy import select

from hoplink.storage.tables import metadata

CLIENT = ("203.0.113.77", 40000)


async def test_a_visitor_reports_a_link(dash: Dash) -> None:
    ws = await dash.workspace()
    link = await dash.link(ws)
    visitor = dash.browser(client=CLIENT)
    start = await visitor.get(f"/report?link={link.code}")
    assert start.status_code == 303 and start.headers["location"] == f"/app/report?link={link.code}"
    form = await visitor.get(start.headers["location"])
    assert form.status_code == 200 and f'value="{link.code}"' in form.text
    csp = form.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert form.headers["x-frame-options"] == "DENY"

    bad = await visitor.post(
        "/app/report",
        {"link": "https://hop.test/Nope123", "category": "nonsense", "message": "x" * 2001},
    )
    assert bad.status_code == 422
    for field in ("link", "category", "message"):
        assert f'id="err-{field}" data-for="{field}">' in bad.text, field
    assert "there is no short link at this address" in bad.text

    sent = await visitor.post(
        "/app/report",
        {
            "link": f"https://{link.domain}/{link.code}",
            "category": "phishing",
            "message": "asks for my card number",
            "contact_email": "Visitor@Example.com",
        },
    )
    assert sent.status_code == 200 and "Your report was received" in sent.text
    async with dash.db.transaction() as tx:
        [item] = await tx.moderation.reports(status=None)
        rows = [
            json.dumps(list(r), default=str)
            for table in metadata.sorted_tables
            for r in await tx.conn.execute(select(table))
        ]
    assert item.report.link_id == link.id and item.report.workspace_id == ws.id
    assert item.report.contact_email == "visitor@example.com"
    assert len(item.report.reporter_hash) == 32
    assert not any(CLIENT[0] in row for row in rows)  # the address is nowhere


async def test_the_report_form_needs_its_csrf_token(dash: Dash) -> None:
    ws = await dash.workspace()
    link = await dash.link(ws)
    visitor = dash.browser(client=CLIENT)
    await visitor.get("/app/report")
    data = {"link": link.code, "category": "spam"}
    for attack in ({"token": ""}, {"token": "y" * 43}, {"origin": "https://evil.test"}):
        r = await visitor.post("/app/report", data, **attack)  # type: ignore[arg-type]
        assert r.status_code == 403
    async with dash.db.transaction() as tx:
        assert await tx.moderation.reports(status=None) == []


async def test_reports_are_rate_limited_per_client_address(db_url: str, tmp_path: Path) -> None:
    async with running_dashboard(db_url, tmp_path / "d", report_rate_limit="3/1h") as dash:
        ws = await dash.workspace()
        link = await dash.link(ws)
        visitor = dash.browser(client=CLIENT)
        await visitor.get("/app/report")
        data = {"link": link.code, "category": "spam"}
        statuses = [(await visitor.post("/app/report", data)).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = await visitor.post("/app/report", data)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert "Too many reports" in limited.text
        # Invalid reports count too (no quick probing of codes), other addresses are not hit.
        other = dash.browser(client=("198.51.100.9", 40000))
        await other.get("/app/report")
        assert (await other.post("/app/report", data)).status_code == 200
        async with dash.db.transaction() as tx:
            assert len(await tx.moderation.reports(status=None)) == 4
