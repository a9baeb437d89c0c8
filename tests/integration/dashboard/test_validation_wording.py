"""What the dashboard says about malformed numbers and host names (QA findings): an empty
hostname is asked for a domain name (not given a URL's "e.g. https://…"), "-5" clicks is
out of range (not "not a whole number"), and "²" is never a server error."""

from __future__ import annotations

import re

from dashboard_harness import Dash
from sqlalchemy import func, select

from hoplink.storage.tables import links
from hoplink.workspaces.models import Role


def _errors(html: str, field: str) -> str:
    found = re.search(
        rf'<ul class="field-errors" id="err-{re.escape(field)}"[^>]*>(.*?)</ul>', html, re.S
    )
    return found.group(1) if found else ""


async def test_an_empty_hostname_is_asked_for_a_domain_name(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.OWNER)
    page = await b.post(f"/app/w/{ws.slug}/settings/domains", {"hostname": "  "})
    assert page.status_code == 422
    said = _errors(page.text, "hostname")
    assert "enter a domain name, e.g. shop.example.com" in said and "https://" not in said
    await b.post("/app/lang", {"lang": "zh_CN", "next": f"/app/w/{ws.slug}/links"})
    page = await b.post(f"/app/w/{ws.slug}/settings/domains", {"hostname": ""})
    said = _errors(page.text, "hostname")
    assert "请输入域名" in said and "https://" not in said


async def test_a_negative_click_limit_is_out_of_range_not_a_non_number(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    link = await dash.link(ws)
    page = f"/app/w/{ws.slug}/links/{link.id}"
    form = {"starts_at": "", "ends_at": "", "expiry_url": ""}
    for typed, words in [("-5", "must be 1 to"), ("0", "must be 1 to"), ("²", "whole number"),
                         ("1.5", "whole number")]:  # fmt: skip
        bad = await b.post(f"{page}/schedule", {**form, "max_clicks": typed})
        assert bad.status_code == 422, (typed, bad.status_code)
        assert words in _errors(bad.text, "max_clicks"), typed
    assert "whole number" not in _errors(
        (await b.post(f"{page}/schedule", {**form, "max_clicks": "-5"})).text, "max_clicks"
    )
    async with dash.db.transaction(write=False) as tx:
        got = await tx.links(ws.id).get(link.id)
    assert got is not None and got.max_clicks is None  # nothing half-written


async def test_qr_options_in_other_digits_are_refused_not_a_server_error(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    link = await dash.link(ws)
    path = f"/app/w/{ws.slug}/links/{link.id}"
    for params in ({"size": "²"}, {"margin": "³"}, {"margin": "-1"}):
        answer = await b.get(f"{path}/qr.png", params=params)
        assert answer.status_code == 422, (params, answer.status_code)


async def test_the_import_page_refuses_an_old_domain_that_is_no_host_name(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    page = await b.post(
        f"/app/w/{ws.slug}/import",
        {"source": "csv", "domain": "sho rt/x", "text": "url\nhttps://shop.example.com/1\n",
         "apply": "1"},
    )  # fmt: skip
    assert page.status_code == 422 and "is not a host name" in page.text
    async with dash.db.transaction(write=False) as tx:
        count = select(func.count()).select_from(links).where(links.c.workspace_id == ws.id)
        assert (await tx.conn.execute(count)).scalar_one() == 0
