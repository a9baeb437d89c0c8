"""Seller eligibility, suspension and link bans, through the real app (API + redirect)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_client import Api, assert_problem, running_api
from hoplink import audit
from hoplink.accounts.models import Scope
from hoplink.moderation import service as moderation
from hoplink.workspaces.models import WorkspaceStatus

LINK = {"url": "https://shop.example.com/item/1"}


async def _link(api: Api, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await api.http.post("/api/v1/links", json={**LINK, **body}, headers=auth)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_unverified_workspaces_cannot_create_links(api: Api) -> None:
    ws = await api.workspace("New Seller", status=WorkspaceStatus.UNVERIFIED)
    auth = {"Authorization": f"Bearer {await api.key(ws)}"}
    body = assert_problem(
        await api.http.post("/api/v1/links", json=LINK, headers=auth), 403, "workspace_not_verified"
    )
    assert "not verified" in body["detail"] and ws.slug in body["detail"]
    bulk = await api.http.post("/api/v1/links/bulk", json={"items": [LINK]}, headers=auth)
    assert_problem(bulk, 403, "workspace_not_verified")
    # Reading still works: the key and the workspace are fine, only creation is gated.
    assert (await api.http.get("/api/v1/links", headers=auth)).status_code == 200
    async with api.db.transaction() as tx:
        await moderation.verify_workspace(tx, ref=ws.slug, reason="licence checked", actor="cli")
    await _link(api, auth)


async def test_the_operator_can_turn_the_verification_gate_off(db_url: str, tmp_path: Path) -> None:
    async with running_api(db_url, tmp_path / "d", require_verified_workspace=False) as api:
        ws = await api.workspace("Open Seller", status=WorkspaceStatus.UNVERIFIED)
        auth = {"Authorization": f"Bearer {await api.key(ws)}"}
        await _link(api, auth)
        async with api.db.transaction() as tx:
            await moderation.suspend_workspace(tx, ref=ws.id, reason="abuse", actor="cli")
        # Suspended workspaces are refused whatever the setting.
        r = await api.http.get("/api/v1/workspace", headers=auth)
        assert_problem(r, 403, "workspace_suspended")


async def test_a_suspended_workspace_is_refused_by_every_api_operation(api: Api) -> None:
    ws, auth = await api.tenant()
    link = await _link(api, auth)
    async with api.db.transaction() as tx:
        await moderation.suspend_workspace(tx, ref=ws.id, reason="phishing", actor="cli")
    spec = (await api.http.get("/api/v1/openapi.json")).json()
    operations = 0
    for path, methods in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", link["id"], path)
        for method in methods:
            r = await api.http.request(method.upper(), concrete, headers=auth, json={})
            assert_problem(r, 403, "workspace_suspended")
            operations += 1
    assert operations >= 10
    # And its links answer 410 Gone.
    assert (await api.http.get(f"/{link['code']}")).status_code == 410


async def test_reinstating_restores_the_previous_status(api: Api) -> None:
    ws = await api.workspace("Seller", status=WorkspaceStatus.UNVERIFIED)
    async with api.db.transaction() as tx:
        await moderation.suspend_workspace(tx, ref=ws.id, reason="spam", actor="user:a")
        back = await moderation.reinstate_workspace(tx, ref=ws.id, reason="ok", actor="user:a")
        assert back.status is WorkspaceStatus.UNVERIFIED
        verified = await moderation.verify_workspace(tx, ref=ws.id, reason="", actor="user:a")
        await moderation.suspend_workspace(tx, ref=ws.id, reason="spam", actor="user:a")
        again = await moderation.suspend_workspace(tx, ref=ws.id, reason="more", actor="user:a")
        assert again.status_reason == "more"
        back = await moderation.reinstate_workspace(tx, ref=ws.id, reason="ok", actor="user:a")
        assert verified.status is back.status is WorkspaceStatus.VERIFIED
        entries = await tx.audit.search(workspace_id=ws.id)
    assert [e.action for e in entries] == [
        audit.WORKSPACE_REINSTATED,
        audit.WORKSPACE_SUSPENDED,
        audit.WORKSPACE_SUSPENDED,
        audit.WORKSPACE_VERIFIED,
        audit.WORKSPACE_REINSTATED,
        audit.WORKSPACE_SUSPENDED,
    ]
    assert entries[-1].detail["reason"] == "spam"


async def test_a_banned_link_answers_410_and_is_read_only_for_its_owner(api: Api) -> None:
    ws, auth = await api.tenant()
    link = await _link(api, auth, title="Sneakers")
    assert (await api.http.get(f"/{link['code']}")).status_code == 302  # cached now
    async with api.db.transaction() as tx:
        ban, ref = await moderation.ban_link(
            tx, link_id=link["id"], reason="counterfeit goods", actor="user:admin"
        )
    assert (ref.domain, ref.code) == ("hop.test", link["code"])
    gone = await api.http.get(f"/{link['code']}")
    assert gone.status_code == 410
    shown = (await api.http.get(f"/api/v1/links/{link['id']}", headers=auth)).json()
    assert shown["banned"] is True and shown["ban_reason"] == "counterfeit goods"
    listed = (await api.http.get("/api/v1/links", headers=auth)).json()["items"]
    assert [item["banned"] for item in listed] == [True]
    for method, body in (("PATCH", {"archived": False}), ("PATCH", {"url": "https://a.test/"})):
        r = await api.http.request(method, f"/api/v1/links/{link['id']}", json=body, headers=auth)
        assert_problem(r, 403, "link_banned")
    assert_problem(
        await api.http.delete(f"/api/v1/links/{link['id']}", headers=auth), 403, "link_banned"
    )
    async with api.db.transaction() as tx:
        with pytest.raises(Exception, match="banned already"):
            await moderation.ban_link(tx, link_id=link["id"], reason="again", actor=None)
    async with api.db.transaction() as tx:
        await moderation.unban_link(tx, ban_id=ban.id, reason="seller appealed", actor="user:a")
    assert (await api.http.get(f"/{link['code']}")).status_code == 302
    edited = await api.http.patch(
        f"/api/v1/links/{link['id']}", json={"url": "https://shop.example.com/item/2"}, headers=auth
    )
    assert edited.status_code == 200 and edited.json()["banned"] is False
    async with api.db.transaction() as tx:
        entries = await tx.audit.search(workspace_id=ws.id)
        history = await tx.moderation.bans(active=False)
    actions = [e.action for e in entries]
    assert actions[:3] == [
        audit.LINK_DESTINATION_CHANGED,
        audit.LINK_UNBANNED,
        audit.LINK_BANNED,
    ]
    assert entries[0].detail == {
        "old": "https://shop.example.com/item/1",
        "new": "https://shop.example.com/item/2",
    }
    assert [(b.ban.reason, b.ban.lift_reason) for b in history] == [
        ("counterfeit goods", "seller appealed")
    ]


async def test_ban_reasons_are_required_and_checked(api: Api) -> None:
    _, auth = await api.tenant()
    link = await _link(api, auth)
    async with api.db.transaction() as tx:
        for reason, code in (("  ", "required"), ("x" * 1001, "too_long"), ("a\x00b", "control")):
            with pytest.raises(Exception) as caught:
                await moderation.ban_link(tx, link_id=link["id"], reason=reason, actor=None)
            assert code in str(getattr(caught.value, "errors", [caught.value])[0])


async def test_audit_log_api_is_scoped_to_the_keys_workspace(api: Api) -> None:
    ws, auth = await api.tenant("Acme", scopes=frozenset(Scope))
    other, other_auth = await api.tenant("Other", scopes=frozenset(Scope))
    await _link(api, other_auth)
    r = await api.http.get("/api/v1/workspace/audit", headers=auth)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    # Creating the two keys was audited, each in its own workspace only.
    assert [i["action"] for i in items] == ["apikey.created"]
    assert all(other.id not in str(i) for i in items)
    filtered = await api.http.get(
        "/api/v1/workspace/audit", params={"action": "link.banned"}, headers=auth
    )
    assert filtered.json() == {"items": [], "next_before": None}
    bad = await api.http.get("/api/v1/workspace/audit", params={"action": "x"}, headers=auth)
    assert_problem(bad, 422, "invalid_input", field="action")
    _, read_only = await api.tenant("Reader", scopes=frozenset({Scope.LINKS_READ}))
    denied = await api.http.get("/api/v1/workspace/audit", headers=read_only)
    body = assert_problem(denied, 403, "forbidden")
    assert "workspace:admin" in body["detail"]
    assert ws.id  # the first tenant exists


async def test_the_redirect_cache_sees_a_suspension_at_once(api: Api) -> None:
    ws, auth = await api.tenant()
    link = await _link(api, auth)
    assert (await api.http.get(f"/{link['code']}")).status_code == 302
    async with api.db.transaction() as tx:
        await moderation.suspend_workspace(tx, ref=ws.id, reason="x", actor=None)
    r = await api.http.get(f"/{link['code']}")
    assert r.status_code == 410 and isinstance(r, httpx.Response)
