"""Settings → Short domains: add a custom short domain, see the exact DNS records, check
(a real local DNS server answers), configure what visitors see, remove; roles and the
operator's eligibility rule. SQLite and PostgreSQL."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest_asyncio
from dashboard_harness import Dash, running_dashboard

import factories
from hoplink.domains import service
from hoplink.domains.models import TXT_PREFIX, cname_label
from hoplink.domains.rechecker import rechecker_from_settings
from hoplink.ids import utcnow
from hoplink.links.models import LinkQuery, ShortDomain
from hoplink.safety.grace import Grace
from hoplink.workspaces.models import Role, Workspace
from security.dns_server import DnsServer, dns_server

HOST = "go.brand.example"


@dataclass
class World:
    dash: Dash
    dns: DnsServer


@pytest_asyncio.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with (
        dns_server() as dns,
        running_dashboard(
            db_url,
            tmp_path / "data",
            outbound_dns_servers=dns.address,
            custom_domains="approval",
            custom_domain_cname_target="domains.hop.test",
        ) as dash,
    ):
        yield World(dash, dns)


def _base(ws: Workspace) -> str:
    return f"/app/w/{ws.slug}/settings/short-domains"


async def _approve(dash: Dash, ws: Workspace) -> None:
    async with dash.db.transaction() as tx:
        await service.set_workspace_rules(tx, workspace=ws, approved=True)


async def _stored(dash: Dash, ws: Workspace) -> list[ShortDomain]:
    async with dash.db.transaction(write=False) as tx:
        return await tx.short_domains.of_workspace(ws.id)


async def test_add_see_records_check_configure_and_remove(world: World) -> None:
    dash = world.dash
    b, ws = await dash.signed_in(Role.ADMIN)
    page = await b.get(_base(ws))
    assert "need the platform's approval" in html.unescape(page.text)
    assert (await b.post(_base(ws), {"hostname": HOST})).status_code == 422  # not approved
    assert await _stored(dash, ws) == []
    await _approve(dash, ws)

    added = await b.post(_base(ws), {"hostname": HOST})
    assert added.status_code == 303, added.text[-1500:]
    [domain] = await _stored(dash, ws)
    assert added.headers["location"] == f"{_base(ws)}/{domain.id}"
    assert domain.token is not None
    page = await b.get(added.headers["location"])
    text = html.unescape(page.text)
    assert f"_hoplink.{HOST}" in text and f"{TXT_PREFIX}{domain.token}" in text
    assert f"{cname_label(domain.token)}.domains.hop.test" in text

    checked = await b.post(f"{_base(ws)}/{domain.id}/verify", {})
    assert checked.status_code == 303
    page = await b.get(checked.headers["location"])
    assert "no record with the token" in html.unescape(page.text)
    assert (await _stored(dash, ws))[0].status == "pending"

    world.dns.records[(f"_hoplink.{HOST}.", "TXT")] = [f'"{TXT_PREFIX}{domain.token}"']
    await b.post(f"{_base(ws)}/{domain.id}/verify", {})
    [domain] = await _stored(dash, ws)
    assert domain.status == "verified" and domain.method == "dns_txt"

    bad = await b.post(
        f"{_base(ws)}/{domain.id}",
        {"root_url": "javascript:alert(1)", "not_found_url": "", "robots": ""},
    )
    assert bad.status_code == 422 and "root_url" in bad.text
    saved = await b.post(
        f"{_base(ws)}/{domain.id}",
        {
            "root_url": "https://brand.example.com/",
            "not_found_url": "https://brand.example.com/404",
            "robots": "User-agent: *\nDisallow: /private",
            "forward_query": "1",
            "workspace_default": "1",
        },
    )
    assert saved.status_code == 303, saved.text[-1500:]
    [domain] = await _stored(dash, ws)
    assert domain.root_url == "https://brand.example.com/" and domain.workspace_default
    assert domain.robots == "User-agent: *\nDisallow: /private\n" and domain.forward_query
    root = await b.http.get(f"http://{HOST}/")
    assert root.status_code == 302 and root.headers["location"] == "https://brand.example.com/"

    # The new-link form starts from the default domain's forward-query; the link lands there.
    form = await b.get(f"/app/w/{ws.slug}/links/new")
    assert 'name="forward_query" type="checkbox" checked' in form.text
    made = await b.post(
        f"/app/w/{ws.slug}/links", {"url": "https://shop.example.com/n", "forward_query": "on"}
    )
    assert made.status_code in (200, 303), made.text[-1500:]
    async with dash.db.transaction(write=False) as tx:
        links, _ = await tx.links(ws.id).search(LinkQuery())
    assert [(link.domain, link.forward_query) for link in links] == [(HOST, True)]
    removed = await b.post(f"{_base(ws)}/{domain.id}/remove", {})
    assert removed.status_code == 303
    assert (await _stored(dash, ws))[0].status == "removed"
    assert (await b.http.get(f"http://{HOST}/")).status_code != 302


async def test_members_see_records_but_cannot_change_anything(world: World) -> None:
    dash = world.dash
    owner, ws = await dash.signed_in(Role.OWNER)
    await _approve(dash, ws)
    assert (await owner.post(_base(ws), {"hostname": HOST})).status_code == 303
    [domain] = await _stored(dash, ws)
    member, _ = await dash.signed_in(Role.MEMBER, ws=ws)
    page = await member.get(f"{_base(ws)}/{domain.id}")
    assert page.status_code == 200 and f"_hoplink.{HOST}" in page.text
    assert "/remove" not in page.text
    for path, form in (
        (_base(ws), {"hostname": "other.brand.example"}),
        (f"{_base(ws)}/{domain.id}/verify", {}),
        (f"{_base(ws)}/{domain.id}", {"root_url": "https://evil.example.com/"}),
        (f"{_base(ws)}/{domain.id}/remove", {}),
    ):
        assert (await member.post(path, form)).status_code == 403, path
    assert await _stored(dash, ws) == [domain]


async def test_removing_asks_first_and_names_what_stops(world: World) -> None:
    """Remove takes every link on the domain offline: the page's button leads to a question
    (as for destination domains, links and API keys), not straight to the removal."""
    dash = world.dash
    b, ws = await dash.signed_in(Role.OWNER)
    await _approve(dash, ws)
    assert (await b.post(_base(ws), {"hostname": HOST})).status_code == 303
    [domain] = await _stored(dash, ws)
    page = await b.get(f"{_base(ws)}/{domain.id}")
    assert f'action="{_base(ws)}/{domain.id}/remove"' not in page.text
    assert f'href="{_base(ws)}/{domain.id}/remove"' in page.text
    confirm = await b.get(f"{_base(ws)}/{domain.id}/remove")
    assert confirm.status_code == 200
    text = html.unescape(confirm.text)
    assert f"Remove {HOST}?" in text and f'action="{_base(ws)}/{domain.id}/remove"' in text
    assert (await _stored(dash, ws))[0].status == "pending"  # asking changes nothing
    member, _ = await dash.signed_in(Role.MEMBER, ws=ws)
    assert (await member.get(f"{_base(ws)}/{domain.id}/remove")).status_code == 403
    assert (await b.post(f"{_base(ws)}/{domain.id}/remove", {})).status_code == 303
    assert (await _stored(dash, ws))[0].status == "removed"
    again = await b.get(f"{_base(ws)}/{domain.id}/remove")  # nothing left to remove
    assert again.status_code == 303 and again.headers["location"] == f"{_base(ws)}/{domain.id}"


async def test_refusals_of_a_claim_are_explained_in_chinese(world: World) -> None:
    """A claim refused because another workspace holds the name, or because it is the
    platform's own, read "该值无效。" (this value is not valid) in zh_CN: every code the
    add form can meet has its own words."""
    dash = world.dash
    rival_owner, rival = await dash.signed_in(Role.OWNER)
    await _approve(dash, rival)
    assert (await rival_owner.post(_base(rival), {"hostname": HOST})).status_code == 303
    b, ws = await dash.signed_in(Role.OWNER)
    await b.post("/app/lang", {"lang": "zh_CN", "next": _base(ws)})
    refused = await b.post(_base(ws), {"hostname": "go.other.example"})
    assert refused.status_code == 422
    assert "需要平台批准" in refused.text and "该值无效" not in refused.text
    await _approve(dash, ws)
    taken = await b.post(_base(ws), {"hostname": HOST})
    assert taken.status_code == 422
    assert "另一个工作区" in taken.text and "该值无效" not in taken.text
    own = await b.post(_base(ws), {"hostname": "hop.test"})
    assert own.status_code == 422
    assert "平台自己的" in own.text and "该值无效" not in own.text


async def test_the_periodic_recheck_shows_its_result_a_failing_streak_and_a_lapse(
    world: World,
) -> None:
    dash = world.dash
    b, ws = await dash.signed_in(Role.ADMIN)
    await _approve(dash, ws)
    added = await b.post(_base(ws), {"hostname": HOST})
    [domain] = await _stored(dash, ws)
    record = (f"_hoplink.{HOST}.", "TXT")
    world.dns.records[record] = [f'"{TXT_PREFIX}{domain.token}"']
    await b.post(f"{_base(ws)}/{domain.id}/verify", {})
    clock = [utcnow()]
    assert dash.app.runtime is not None
    rechecker = rechecker_from_settings(dash.app.runtime.settings, db=dash.db)
    async with dash.db.transaction() as tx:
        key = {"Authorization": f"Bearer {await factories.api_key(tx, ws)}"}
    rechecker.clock, rechecker.grace = (lambda: clock[0]), Grace(2, timedelta(hours=20))

    await rechecker.run_once()  # schedules it
    clock[0] += timedelta(hours=13)
    assert await rechecker.run_once() == 1
    page = html.unescape((await b.get(added.headers["location"])).text)
    assert "proof found" in page and "Next check:" in page
    [api] = (await b.http.get("/api/v1/workspace/short-domains", headers=key)).json()
    assert api["check_passed"] is True and api["failed_checks"] == 0 and api["next_check_at"]

    del world.dns.records[record]
    clock[0] += timedelta(hours=14)
    await rechecker.run_once()
    page = html.unescape((await b.get(added.headers["location"])).text)
    assert "Warning: no proof found since" in page and "failed checks in a row: 1" in page
    assert "no record hoplink-domain=" in page
    listing = html.unescape((await b.get(_base(ws))).text)
    assert "Restore it, or the verification lapses." in listing
    await b.post("/app/lang", {"lang": "zh_CN", "next": _base(ws)})
    assert "验证将失效" in (await b.get(_base(ws))).text

    for _ in range(2):
        clock[0] += timedelta(hours=14)
        await rechecker.run_once()
    [lapsed] = await _stored(dash, ws)
    assert lapsed.status == "pending" and lapsed.failed_checks == 3
    await b.post("/app/lang", {"lang": "en", "next": _base(ws)})
    page = html.unescape((await b.get(added.headers["location"])).text)
    assert "The verification lapsed: no proof found since" in page
    assert "failed checks in a row: 3" in page


@pytest_asyncio.fixture
async def txt_only(db_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    """No HOPLINK_CUSTOM_DOMAIN_CNAME_TARGET: the TXT record is the only proof offered."""
    async with running_dashboard(
        db_url, tmp_path / "data", custom_domains="approval", custom_domain_cname_target=""
    ) as dash:
        yield dash


async def test_two_records_offered_read_as_a_choice_and_the_cname_routes(world: World) -> None:
    b, ws = await world.dash.signed_in(Role.ADMIN)
    await _approve(world.dash, ws)
    added = await b.post(_base(ws), {"hostname": HOST})
    text = html.unescape((await b.get(added.headers["location"])).text)
    assert "Option 2: a CNAME record" in text and "Either proves" in text
    assert "The CNAME also points" in text


async def test_the_txt_record_alone_reads_as_the_one_record(txt_only: Dash) -> None:
    b, ws = await txt_only.signed_in(Role.ADMIN)
    await _approve(txt_only, ws)
    added = await b.post(_base(ws), {"hostname": HOST})
    text = html.unescape((await b.get(added.headers["location"])).text)
    assert "A TXT record" in text and "Publish this record" in text
    assert "CNAME" not in text and "Option 1" not in text and "Either" not in text
    assert "The TXT record only proves the domain is yours" in text
    zh = await b.get(added.headers["location"], headers={"Accept-Language": "zh-CN"})
    assert "TXT 记录只用于证明该域名属于您" in html.unescape(zh.text)
