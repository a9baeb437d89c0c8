"""Settings → Domains: claim a destination domain, follow the instructions, check, remove.

As in ``tests/security/test_domain_verification.py``, a local DNS server points the test
domain at a random loopback address where a small HTTP server listens on port 80, and
the fetcher's test allowance (``outbound_allow_private``) lets it reach exactly that
address; the page's "Check now" runs the same verification service as the API.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from dashboard_harness import Browser, Dash, running_dashboard
from markupsafe import escape
from sqlalchemy import select

import factories
from hoplink.safety.destination_domains import TXT_PREFIX, WELL_KNOWN
from hoplink.safety.models import DestinationDomain, DestinationDomainStatus
from hoplink.storage.tables import audit_log
from hoplink.workspaces.models import Role, Workspace
from security.dns_server import DnsServer, dns_server
from security.web_site import Site, site

HOSTNAME = "shop.acme.test"


@dataclass
class World:
    dash: Dash
    dns: DnsServer
    site: Site


@pytest_asyncio.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with dns_server() as dns, site() as web:
        dns.records[(f"{HOSTNAME}.", "A")] = [web.address]
        async with running_dashboard(
            db_url,
            tmp_path / "data",
            outbound_dns_servers=dns.address,
            outbound_allow_private=f"{web.address}/32",
            outbound_total_timeout=5,
        ) as dash:
            yield World(dash, dns, web)


def _base(ws: Workspace) -> str:
    return f"/app/w/{ws.slug}/settings/domains"


async def _stored(dash: Dash, ws: Workspace) -> list[DestinationDomain]:
    async with dash.db.transaction(write=False) as tx:
        return await tx.destination_domains(ws.id).all()


async def _add(b: Browser, ws: Workspace, hostname: str = HOSTNAME) -> str:
    added = await b.post(_base(ws), {"hostname": hostname})
    assert added.status_code == 303, added.text[-2000:]
    domain_id = added.headers["location"].rsplit("/", 1)[1]
    assert added.headers["location"] == f"{_base(ws)}/{domain_id}"
    return domain_id


async def _domain(dash: Dash, ws: Workspace, domain_id: str) -> DestinationDomain:
    async with dash.db.transaction(write=False) as tx:
        found = await tx.destination_domains(ws.id).get(domain_id)
    assert found is not None
    return found


async def test_adding_a_domain_shows_it_pending_with_the_exact_instructions(world: World) -> None:
    b, ws = await world.dash.signed_in(Role.ADMIN)
    settings = await b.get(f"/app/w/{ws.slug}/settings")
    assert f'href="{_base(ws)}"' in settings.text
    empty = await b.get(_base(ws))
    assert empty.status_code == 200 and "No domains yet." in empty.text
    assert f'action="{_base(ws)}"' in empty.text and 'id="f-hostname"' in empty.text

    # A URL is refused (issue 15), not cut down to its host; a domain name is taken as typed.
    url = await b.post(_base(ws), {"hostname": " https://Shop.Acme.Test/ "})
    assert url.status_code == 422 and "without scheme or path" in url.text
    assert await _stored(world.dash, ws) == []
    domain_id = await _add(b, ws, " Shop.Acme.Test ")
    domain = await _domain(world.dash, ws, domain_id)
    assert (domain.hostname, domain.status) == (HOSTNAME, DestinationDomainStatus.PENDING)
    page = await b.get(f"{_base(ws)}/{domain.id}")
    assert page.status_code == 200
    text = page.text
    assert f"{HOSTNAME} was added." in text  # the flash after the redirect
    assert "Pending" in text and "Not checked yet" in text
    url = f"https://{HOSTNAME}{WELL_KNOWN}{domain.token}"
    assert f'<code id="well-known-url">{url}</code>' in text
    assert f'<code id="file-content">{domain.token}</code>' in text
    assert f'<code id="txt-name">{HOSTNAME}</code>' in text
    assert f'<code id="txt-record">{TXT_PREFIX}{domain.token}</code>' in text
    for value in (url, domain.token, f"{TXT_PREFIX}{domain.token}"):
        assert f'data-copy="{value}"' in text  # a copy button for each
    assert f'action="{_base(ws)}/{domain.id}/verify"' in text

    listing = await b.get(_base(ws))
    assert f'href="{_base(ws)}/{domain.id}">{HOSTNAME}</a>' in listing.text
    assert "status-pending" in listing.text
    twice = await b.post(_base(ws), {"hostname": HOSTNAME})
    assert twice.status_code == 422 and f"{HOSTNAME} is already on your list" in twice.text
    assert len(await _stored(world.dash, ws)) == 1


@pytest.mark.parametrize(
    ("hostname", "code"),
    [
        ("bit.ly", "url_shortener"),
        ("hop.test", "own_domain"),
        ("127.0.0.1", "ip_address"),
        ("printer.local", "internal_host"),
        ("shop.acme.test:8443", "invalid"),
        ("", "required"),
    ],
)
async def test_a_refused_domain_gets_the_apis_message_and_nothing_is_stored(
    world: World, hostname: str, code: str
) -> None:
    b, ws = await world.dash.signed_in(Role.OWNER)
    async with world.dash.db.transaction() as tx:
        key = await factories.api_key(tx, ws, factories.ALL_SCOPES)
    api = await b.http.post(
        "/api/v1/workspace/domains",
        json={"hostname": hostname},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert api.status_code == 422, api.text
    [error] = api.json()["errors"]
    if code != "required":  # an empty string: the API's schema and the service differ
        assert (error["field"], error["code"]) == ("hostname", code)

    page = await b.post(_base(ws), {"hostname": hostname})
    assert page.status_code == 422
    errors = re.search(
        r'<ul class="field-errors" id="err-hostname"[^>]*>(.*?)</ul>', page.text, re.S
    )
    assert errors is not None, page.text[-3000:]
    if code != "required":
        assert error["message"] in html.unescape(errors.group(1))  # the same words as the API
    assert 'aria-invalid="true"' in page.text
    assert f'value="{escape(hostname)}"' in page.text  # what was typed, to fix it
    assert await _stored(world.dash, ws) == []


async def test_refusals_are_explained_in_chinese_too(world: World) -> None:
    b, ws = await world.dash.signed_in(Role.OWNER)
    await b.post("/app/lang", {"lang": "zh_CN", "next": _base(ws)})
    page = await b.post(_base(ws), {"hostname": "bit.ly"})
    assert page.status_code == 422
    # The Chinese page gives the translated reason only (no English left in a zh-CN page).
    assert "这是短链接服务" in page.text and "blocked: known URL shortener" not in page.text
    assert "添加域名" in page.text


async def test_check_now_fails_with_the_reason_then_verifies_with_the_file(world: World) -> None:
    b, ws = await world.dash.signed_in(Role.OWNER)
    domain_id = await _add(b, ws)
    domain = await _domain(world.dash, ws, domain_id)
    verify = f"{_base(ws)}/{domain_id}/verify"

    checked = await b.post(verify)
    assert checked.status_code == 303 and checked.headers["location"] == f"{_base(ws)}/{domain_id}"
    page = await b.get(checked.headers["location"])
    assert f"{HOSTNAME} is not verified yet" in page.text
    assert "answered 404 without the token" in page.text and "no TXT record" in page.text
    assert "status-failed" in page.text and "Last checked on" in page.text
    assert (await _domain(world.dash, ws, domain_id)).status is DestinationDomainStatus.FAILED
    listing = await b.get(_base(ws))
    assert "status-failed" in listing.text and "answered 404 without the token" in listing.text

    world.site.bodies[f"{WELL_KNOWN}{domain.token}"] = domain.token.encode() + b"\n"
    checked = await b.post(verify)
    assert checked.status_code == 303
    page = await b.get(checked.headers["location"])
    assert f"{HOSTNAME} is verified (verification file)." in page.text
    assert "status-verified" in page.text and "Verified on" in page.text
    assert f'action="{verify}"' not in page.text  # nothing left to check
    assert 'id="well-known-url"' not in page.text
    assert (f"{WELL_KNOWN}{domain.token}", HOSTNAME) in world.site.requests  # Host kept
    stored = await _domain(world.dash, ws, domain_id)
    assert (stored.status, stored.method and stored.method.value) == ("verified", "well_known")
    assert stored.verified_at is not None
    async with world.dash.db.transaction(write=False) as tx:
        rows = await tx.conn.execute(
            select(audit_log.c.actor, audit_log.c.target).where(
                audit_log.c.workspace_id == ws.id, audit_log.c.action == "domain.verified"
            )
        )
        [(actor, target)] = list(rows)
    assert target == HOSTNAME and actor.startswith("user:")


async def test_check_now_finds_the_dns_txt_record(world: World) -> None:
    b, ws = await world.dash.signed_in(Role.OWNER)
    domain_id = await _add(b, ws)
    domain = await _domain(world.dash, ws, domain_id)
    world.dns.records[(f"{HOSTNAME}.", "TXT")] = [f'"{TXT_PREFIX}{domain.token}"']
    checked = await b.post(f"{_base(ws)}/{domain_id}/verify")
    page = await b.get(checked.headers["location"])
    assert f"{HOSTNAME} is verified (DNS TXT record)." in page.text


async def test_removing_a_domain(world: World) -> None:
    b, ws = await world.dash.signed_in(Role.OWNER)
    domain_id = await _add(b, ws)
    confirm = await b.get(f"{_base(ws)}/{domain_id}/delete")
    assert confirm.status_code == 200 and f"Remove {HOSTNAME}?" in confirm.text
    gone = await b.post(f"{_base(ws)}/{domain_id}/delete")
    assert gone.status_code == 303 and gone.headers["location"] == _base(ws)
    listing = await b.get(_base(ws))
    assert f"{HOSTNAME} was removed." in listing.text and "No domains yet." in listing.text
    assert await _stored(world.dash, ws) == []
    assert (await b.get(f"{_base(ws)}/{domain_id}")).status_code == 404


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
async def test_members_and_viewers_see_the_list_read_only(world: World, role: Role) -> None:
    owner, ws = await world.dash.signed_in(Role.OWNER)
    domain_id = await _add(owner, ws)
    b, _ = await world.dash.signed_in(role, ws=ws)
    listing = await b.get(_base(ws))
    assert listing.status_code == 200 and HOSTNAME in listing.text
    assert f'href="{_base(ws)}"' in listing.text  # in the menu, as they have no Settings
    assert '<form method="post" action="/app/w/' not in listing.text.replace(
        'action="/app/signout"', ""
    )
    assert "Only owners and admins" in listing.text and "Check now" not in listing.text
    detail = await b.get(f"{_base(ws)}/{domain_id}")
    assert detail.status_code == 200 and 'id="txt-record"' in detail.text
    assert "/verify" not in detail.text and "/delete" not in detail.text
    before = await _stored(world.dash, ws)
    for path, data in [
        (_base(ws), {"hostname": "other.acme.test"}),
        (f"{_base(ws)}/{domain_id}/verify", {}),
        (f"{_base(ws)}/{domain_id}/delete", {}),
    ]:
        refused = await b.post(path, data)
        assert refused.status_code == 403, (path, refused.status_code)
    assert (await b.get(f"{_base(ws)}/{domain_id}/delete")).status_code == 403
    assert await _stored(world.dash, ws) == before
    assert world.site.requests == [] and world.dns.queries == []  # no check was run


def _without(text: str, *values: str) -> str:
    for value in values:
        text = text.replace(value, "ID")
    return re.sub(r'name="csrf_token" value="[^"]+"', "", text)


async def test_another_workspaces_domain_answers_like_a_missing_one(world: World) -> None:
    theirs_owner, theirs = await world.dash.signed_in(Role.OWNER, email="them@example.com")
    their_id = await _add(theirs_owner, theirs)
    b, mine = await world.dash.signed_in(Role.OWNER, email="me@example.com")
    missing = "wdm_" + "0" * (len(their_id) - 4)
    before = await _stored(world.dash, theirs)
    for method, suffix in [
        ("GET", ""),
        ("GET", "/delete"),
        ("POST", "/verify"),
        ("POST", "/delete"),
    ]:
        answers = []
        for ref in (their_id, missing, HOSTNAME):
            path = f"{_base(mine)}/{ref}{suffix}"
            r = await (b.get(path) if method == "GET" else b.post(path))
            answers.append((r.status_code, _without(r.text, ref)))
        assert answers[0][0] == 404, (method, suffix, answers[0][0])
        assert answers[0] == answers[1] == answers[2], (method, suffix)
    assert await _stored(world.dash, theirs) == before
    assert world.site.requests == []
    # Their workspace itself answers like one that does not exist.
    page = await b.get(_base(theirs))
    other = await b.get("/app/w/no-such-workspace/settings/domains")
    assert page.status_code == other.status_code == 404
    assert _without(page.text, theirs.slug) == _without(other.text, "no-such-workspace")


async def test_a_suspended_workspace_sees_its_domains_but_cannot_change_them(
    world: World,
) -> None:
    from hoplink.moderation.service import suspend_workspace

    b, ws = await world.dash.signed_in(Role.OWNER)
    domain_id = await _add(b, ws)
    async with world.dash.db.transaction() as tx:
        await suspend_workspace(tx, ref=ws.id, reason="phishing", actor=None)
    listing = await b.get(_base(ws))
    assert listing.status_code == 200 and HOSTNAME in listing.text
    assert f'action="{_base(ws)}"' not in listing.text
    for path in (_base(ws), f"{_base(ws)}/{domain_id}/verify", f"{_base(ws)}/{domain_id}/delete"):
        refused = await b.post(path, {"hostname": "other.acme.test"})
        assert refused.status_code == 403 and "suspended" in refused.text, path
    assert [d.id for d in await _stored(world.dash, ws)] == [domain_id]
    assert world.site.requests == []
