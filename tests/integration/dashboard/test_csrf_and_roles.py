"""Every state-changing route: CSRF rejections, role checks and tenant isolation.

The routes are read from the dashboard's own routing table, so a POST route added later
without an entry in ``FORMS`` fails ``test_the_matrix_covers_every_post_route``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from dashboard_harness import ORIGIN, PASSWORD, Browser, Dash, running_dashboard
from sqlalchemy import select

from hoplink.accounts import invitations, recovery
from hoplink.accounts.apikeys import create_api_key
from hoplink.accounts.models import Scope
from hoplink.conversions.ingest_keys import create_ingest_key
from hoplink.conversions.settings import put_rule
from hoplink.domains import service as short_domains
from hoplink.forwarding import service as forwarding
from hoplink.forwarding.models import Kind
from hoplink.links import experiments
from hoplink.links import rules as link_rules
from hoplink.links.campaigns import create_campaign
from hoplink.links.routing import app_presets
from hoplink.safety import destination_domains
from hoplink.safety.policy import policy_from_settings
from hoplink.storage.tables import metadata
from hoplink.webhooks import service as webhooks
from hoplink.webhooks.secrets import SecretBox
from hoplink.workspaces.models import Role, Workspace
from security.routes import FILES
from security.routes import FORMS as SECURITY_FORMS

# A valid body for each POST route (path parameters filled from World): the security
# battery's list (tests/security/routes.py), signing in as this test's owner.
FORMS: dict[str, dict[str, Any]] = {
    **SECURITY_FORMS,
    "/app/signin": {"email": "owner@example.com", "password": PASSWORD},
}
# Answered by their own tests as a visitor / platform admin (test_report_form.py,
# test_admin_pages.py); here they are in the CSRF matrix.
ISSUE_6 = [p for p in FORMS if p == "/app/report" or p.startswith("/app/admin/")]
# Writes a viewer (and, for settings, a member) must not make.
EDITS = [p for p in FORMS if p.startswith("/app/w/")]
SETTINGS = [p for p in EDITS if "/settings/" in p or "/conversions/" in p]


@pytest_asyncio.fixture
async def dash(db_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    """The dashboard, with the outbound fetcher allowed to reach 127.0.0.1 only (as in the
    security battery's world), so the webhook form's loopback receiver URL is accepted."""
    async with running_dashboard(
        db_url,
        tmp_path / "data",
        outbound_allow_private=("127.0.0.1",),
        # The integrations' test event goes nowhere real (a closed loopback port).
        ga4_base_url="http://127.0.0.1:9",
        meta_base_url="http://127.0.0.1:9",
        tiktok_base_url="http://127.0.0.1:9",
    ) as running:
        yield running


@dataclass
class World:
    ws: Workspace
    link_id: str
    user_id: str
    key_id: str
    domain_id: str = "wdm_" + "0" * 16
    rule_id: str = "com_" + "0" * 16
    ikey_id: str = "ikey_" + "0" * 16
    hook_id: str = "whe_" + "0" * 16
    fwd_id: str = "fwd_" + "0" * 16
    # Accounts (issue 14): a pending invitation, a member's reset link and the invitation's
    # link; no other session of the owner's (ending one answers 404).
    invitation_id: str = "inv_" + "0" * 16
    reset_token: str = "r" * 43
    invite_token: str = "i" * 43
    session_id: str = "0" * 64
    routing_rule_id: str = "rul_" + "0" * 16
    variant_id: str = "var_" + "0" * 16
    sdomain_id: str = "dom_" + "0" * 16

    def path(self, template: str) -> str:
        token = self.invite_token if template.startswith("/app/invite/") else self.reset_token
        return template.format(
            invitation=self.invitation_id,
            session=self.session_id,
            token=token,
            ws=self.ws.slug,
            id=self.link_id,
            user=self.user_id,
            key=self.key_id,
            domain=self.domain_id,
            rule=self.rule_id,
            ikey=self.ikey_id,
            hook=self.hook_id,
            fwd=self.fwd_id,
            routing_rule=self.routing_rule_id,
            sdomain=self.sdomain_id,
        )

    def form(self, data: dict[str, Any]) -> dict[str, Any]:
        """A form with its references ({variant}) filled in."""
        return {k: v.replace("{variant}", self.variant_id) for k, v in data.items()}


async def build(dash: Dash, name: str = "Acme Store") -> World:
    ws = await dash.workspace(name)
    # Tags named by the commission rules below and in the forms (rules need the tag).
    link = await dash.link(ws, title="existing", tags=["existing-tag", "any-tag"])
    member = await dash.user(f"member-{ws.slug}@example.com", ws, Role.MEMBER)
    async with dash.db.transaction() as tx:
        key, _ = await create_api_key(
            tx,
            workspace=ws,
            name="existing",
            scopes=frozenset(Scope),
            created_by=None,
            operator=True,
        )
        await create_campaign(tx, workspace_id=ws.id, name="Existing")
        domain = await destination_domains.add_domain(
            tx,
            workspace=ws,
            hostname=f"shop-{ws.slug}.example.com",
            policy=policy_from_settings(dash.app.settings),
        )
        approved = await short_domains.set_workspace_rules(tx, workspace=ws, approved=True)
        short = await short_domains.add_domain(
            tx,
            workspace=approved,
            hostname=f"go-{ws.slug}.example.com",
            settings=dash.app.settings,
            policy=policy_from_settings(dash.app.settings),
        )
        rule = await put_rule(
            tx,
            workspace_id=ws.id,
            kind="tag",
            ref="existing-tag",
            percent=9,
            commission_range=(5.0, 12.0),
        )
        ikey, _ = await create_ingest_key(tx, workspace_id=ws.id, name="shop", created_by=None)
        hook, _secret = await webhooks.create_endpoint(
            tx,
            workspace_id=ws.id,
            url=f"https://hooks-{ws.slug}.example.com/in",
            events=("link.created",),
            box=SecretBox(dash.app.settings.resolve_secret_key()),
        )
        fwd = await forwarding.create_destination(
            tx,
            workspace_id=ws.id,
            kind=Kind.META,
            name="Meta",
            account_id="1234567890",
            credential="EAAexistingToken1234567890",
            events=("purchase",),
            box=SecretBox(dash.app.settings.resolve_secret_key()),
        )
        invitation, invite_token = await invitations.invite(
            tx,
            workspace=ws,
            email=f"invitee-{ws.slug}@example.com",
            role=Role.MEMBER,
            lifetime=timedelta(days=7),
            actor=None,
        )
        reset_token, _ = await recovery.issue_reset(
            tx, user=member, lifetime=timedelta(minutes=30), origin="cli", actor=None
        )
        # The link's campaign tools: a routing rule and a running A/B test.
        _, routing_rule = await link_rules.add_rule(
            tx,
            workspace=ws,
            link_id=link.id,
            rule={
                "conditions": [{"type": "os", "values": ["android"]}],
                "action": {"type": "url", "url": "https://shop.example.com/android"},
            },
            position=None,
            actor=None,
            policy=None,
            presets=app_presets(),
        )
        _, test = await experiments.start_test(
            tx,
            workspace=ws,
            link_id=link.id,
            variants=[{"weight": 1}, {"url": "https://shop.example.com/ab-b"}],
            actor=None,
            policy=None,
        )
    return World(
        ws=ws,
        invitation_id=invitation.id,
        reset_token=reset_token,
        invite_token=invite_token,
        link_id=link.id,
        user_id=member.id,
        key_id=key.id,
        domain_id=domain.id,
        rule_id=rule.id,
        ikey_id=ikey.id,
        hook_id=hook.id,
        fwd_id=fwd.id,
        routing_rule_id=routing_rule.id,
        variant_id=test.variants[1].id,
        sdomain_id=short.id,
    )


async def snapshot(dash: Dash) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with dash.db.transaction(write=False) as tx:
        for table in metadata.sorted_tables:
            rows = await tx.conn.execute(select(table))
            out[table.name] = sorted((tuple(map(repr, r)) for r in rows), key=repr)
    return out


def test_the_matrix_covers_every_post_route() -> None:
    from hoplink.dashboard.app import routes

    posts = {
        r.path
        for r in routes()
        if getattr(r, "methods", None) and "POST" in r.methods  # type: ignore[attr-defined]
    }
    assert posts == set(FORMS)


async def _signed_in_owner(dash: Dash, world: World) -> Browser:
    await dash.user("owner@example.com", world.ws, Role.OWNER)
    b = dash.browser()
    await b.sign_in("owner@example.com")
    return b


ATTACKS = {
    "no token": {"token": ""},
    "bad token": {"token": "x" * 43},
    "foreign origin": {"origin": "https://evil.test"},
    "null origin": {"origin": "null"},
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_csrf_every_post_route_is_refused_without_side_effect(
    dash: Dash, attack: str
) -> None:
    world = await build(dash)
    b = await _signed_in_owner(dash, world)
    before = await snapshot(dash)
    for template, data in FORMS.items():
        files = FILES.get(template)
        response = await b.post(
            world.path(template), world.form(data), files=files, **ATTACKS[attack]
        )
        assert response.status_code == 403, (attack, template, response.status_code)
        assert "This form has expired or was sent from another site" in response.text
        assert "set-cookie" not in response.headers or template == "/app/signin"
    assert await snapshot(dash) == before
    # A foreign Referer without an Origin is refused the same way.
    response = await b.http.post(
        world.path("/app/w/{ws}/links"),
        data={**FORMS["/app/w/{ws}/links"], "csrf_token": b.token},
        headers={"Referer": "https://evil.test/page"},
    )
    assert response.status_code == 403
    assert await snapshot(dash) == before


# Account routes whose valid-looking form is refused by the view itself (the matrix's
# forms never change the owner's password or end a session they did not make).
REFUSED_BY_THE_VIEW: dict[str, tuple[int, ...]] = {
    "/app/account/password": (422,),  # the new password is not confirmed
    "/app/account/2fa/codes": (404,),  # no second factor to renew codes of
    "/app/account/sessions/{session}/end": (404,),  # no such other session
    "/app/reset/{token}": (422,),  # not confirmed
    # not confirmed; or revoked already by the revoke route (earlier in FORMS)
    "/app/invite/{token}": (404, 422),
}


async def test_with_the_token_every_post_route_works(dash: Dash) -> None:
    world = await build(dash)
    b = await _signed_in_owner(dash, world)
    for template, data in FORMS.items():
        if template in ("/app/signin", "/app/signout", *ISSUE_6):
            continue
        response = await b.post(world.path(template), world.form(data), files=FILES.get(template))
        expected = REFUSED_BY_THE_VIEW.get(template, (200, 303))
        assert response.status_code in expected, (template, response.text[-2000:])
        # The JSON preview accepts the token as a header too (what the page's script sends).
    preview = await b.http.post(
        world.path("/app/w/{ws}/links/preview"),
        data={"url": "https://shop.example.com/h"},
        headers={"X-CSRF-Token": b.token, "Origin": ORIGIN},
    )
    assert preview.json()["final_url"] == "https://shop.example.com/h"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
async def test_roles_are_enforced_on_every_write(dash: Dash, role: Role) -> None:
    world = await build(dash)
    email = f"{role.value}@example.com"
    await dash.user(email, world.ws, role)
    b = dash.browser()
    await b.sign_in(email)
    forbidden = EDITS if role is Role.VIEWER else SETTINGS
    before = await snapshot(dash)
    for template in forbidden:
        response = await b.post(world.path(template), world.form(FORMS[template]))
        assert response.status_code == 403, (role, template, response.status_code)
    assert await snapshot(dash) == before
    for page in ["/links/new", "/bulk", "/links/{id}/edit", "/links/{id}/delete"]:
        if role is Role.VIEWER:
            response = await b.get(world.path("/app/w/{ws}" + page))
            assert response.status_code == 403, page
    settings = await b.get(world.path("/app/w/{ws}/settings"))
    assert settings.status_code == 403
    for page in ["/links", "/links/{id}", "/analytics", "/campaigns"]:
        assert (await b.get(world.path("/app/w/{ws}" + page))).status_code == 200


def _body(html: str, *ids: str) -> str:
    """The page without the session's token and the ids that were asked for (the language
    switch echoes the current path)."""
    for value in ids:
        html = html.replace(value, "ID")
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


async def test_another_workspace_answers_like_a_missing_one(dash: Dash) -> None:
    mine = await build(dash, "Mine")
    theirs = await build(dash, "Theirs")
    b = await _signed_in_owner(dash, mine)
    before = await snapshot(dash)
    missing = World(mine.ws, "lnk_" + "0" * 16, "usr_" + "0" * 16, "key_" + "0" * 16)
    crossed = World(
        mine.ws,
        theirs.link_id,
        theirs.user_id,
        theirs.key_id,
        theirs.domain_id,
        theirs.rule_id,
        theirs.ikey_id,
        routing_rule_id=theirs.routing_rule_id,
        variant_id=theirs.variant_id,
        sdomain_id=theirs.sdomain_id,
    )
    gets = [
        "/app/w/{ws}/links/{id}",
        "/app/w/{ws}/links/{id}/edit",
        "/app/w/{ws}/links/{id}/delete",
        "/app/w/{ws}/links/{id}/qr.svg",
        "/app/w/{ws}/links/{id}/qr.png",
    ]
    for template in gets:
        a = await b.get(crossed.path(template))
        m = await b.get(missing.path(template))
        assert a.status_code == m.status_code == 404, template
        assert _body(a.text, theirs.link_id) == _body(m.text, missing.link_id)
    for template in [t for t in EDITS if re.search(r"\{(id|user|key|domain|rule|ikey)\}", t)]:
        a = await b.post(crossed.path(template), FORMS[template])
        m = await b.post(missing.path(template), FORMS[template])
        assert a.status_code == m.status_code == 404, template
    # My own link with their routing rule, or their variant as my test's winner.
    for action in ("move", "delete"):
        template = f"/app/w/{{ws}}/links/{{id}}/rules/{{routing_rule}}/{action}"
        a = await b.post(
            mine.path(template).replace(mine.routing_rule_id, theirs.routing_rule_id), {"to": "up"}
        )
        assert a.status_code == 404, action
    a = await b.post(mine.path("/app/w/{ws}/links/{id}/ab/stop"), {"winner": theirs.variant_id})
    assert a.status_code == 422
    for scope in (f"link:{theirs.link_id}", "tag:nope"):
        a = await b.get(f"/app/w/{mine.ws.slug}/analytics?scope={scope}")
        assert a.status_code == 404, scope
    # Their workspace itself: every page and write answers as if it did not exist.
    for template in ["/app/w/{ws}/links", "/app/w/{ws}/analytics", "/app/w/{ws}/settings"]:
        a = await b.get(theirs.path(template))
        m = await b.get(template.format(ws="no-such-workspace"))
        assert a.status_code == m.status_code == 404
        assert _body(a.text, theirs.ws.slug) == _body(m.text, "no-such-workspace")
    for template in EDITS:
        assert (await b.post(theirs.path(template), FORMS[template])).status_code == 404
    assert await snapshot(dash) == before
