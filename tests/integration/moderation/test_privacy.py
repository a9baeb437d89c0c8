"""Export and erase of one workspace: everything it owns, and nothing of anyone else's."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api_client import Api, assert_problem
from hoplink import audit
from hoplink.accounts import invitations
from hoplink.accounts.models import Scope
from hoplink.accounts.users import add_member, create_user
from hoplink.conversions.ingest_keys import create_ingest_key
from hoplink.links import public_stats
from hoplink.moderation import reports
from hoplink.moderation import service as moderation
from hoplink.storage.tables import metadata
from hoplink.webhooks import service as webhooks
from hoplink.webhooks.secrets import SecretBox
from hoplink.workspaces.models import Role, Workspace

ADMIN = frozenset(Scope)


async def _populate(api: Api, name: str) -> tuple[Workspace, dict[str, str], list[dict[str, Any]]]:
    """A workspace with links, tags, a campaign, history, clicks and rollups, a member,
    a report, a ban and audit entries."""
    ws, auth = await api.tenant(name, scopes=ADMIN)
    campaign = await api.http.post("/api/v1/campaigns", json={"name": f"{name} sale"}, headers=auth)
    assert campaign.status_code == 201, campaign.text
    links = []
    for i in range(3):
        r = await api.http.post(
            "/api/v1/links",
            json={
                "url": f"https://shop.example.com/{name}/{i}",
                "tags": ["summer", name],
                "campaign_id": campaign.json()["id"],
                "utm_source": "facebook",
            },
            headers=auth,
        )
        assert r.status_code == 201, r.text
        links.append(r.json())
    edited = await api.http.patch(
        f"/api/v1/links/{links[0]['id']}",
        json={"url": f"https://shop.example.com/{name}/new"},
        headers=auth,
    )
    assert edited.status_code == 200
    for link in links:
        for ua in ("Mozilla/5.0 (iPhone)", "Mozilla/5.0 (Android)"):
            r = await api.http.get(f"/{link['code']}", headers={"User-Agent": ua})
            assert r.status_code == 302
    # An ad platform integration (its credential is a secret) and an order it forwards.
    integration = await api.http.post(
        "/api/v1/integrations",
        json={"kind": "meta", "name": f"{name} pixel", "account_id": "1234567890",
              "credential": f"EAA{name}Token1234567890abcd", "events": ["purchase"]},
        headers=auth,
    )  # fmt: skip
    assert integration.status_code == 201, integration.text
    order = await api.http.post(
        "/api/v1/conversions",
        json={"type": "purchase", "order_id": f"{name}-1", "amount": 500, "currency": "USD",
              "customer": {"email": "buyer@example.com"}},
        headers=auth,
    )  # fmt: skip
    assert order.status_code == 201, order.text
    async with api.db.transaction() as tx:
        user = await create_user(tx, email=f"staff@{name.lower()}.example", password="x" * 16)
        await add_member(tx, user=user, workspace=ws, role=Role.MEMBER, actor="test")
        await reports.submit_report(
            tx,
            link=f"http://hop.test/{links[1]['code']}",
            category="scam",
            message="fake shop",
            contact_email="visitor@example.com",
            reporter_hash="0" * 32,
            default_host="hop.test",
        )
        await moderation.ban_link(tx, link_id=links[2]["id"], reason="scam", actor="user:adm")
    return ws, auth, links


async def _wait_for_clicks(api: Api, workspace_ids: list[str], expected: int) -> None:
    t = metadata.tables
    for _ in range(200):
        async with api.db.transaction(write=False) as tx:
            counts = [
                await tx.conn.scalar(
                    select(func.count())
                    .select_from(t["rollup_workspace_hours"])
                    .where(t["rollup_workspace_hours"].c.workspace_id == ws_id)
                )
                for ws_id in workspace_ids
            ]
            clicks = await tx.conn.scalar(select(func.count()).select_from(t["clicks"]))
        if clicks == expected and all(counts):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the worker wrote {clicks} clicks, expected {expected}")


async def _rows_mentioning(api: Api, value: str) -> dict[str, int]:
    """Every row of every table in which some column holds ``value`` (or contains it)."""
    found: dict[str, int] = {}
    async with api.db.transaction(write=False) as tx:
        for table in metadata.sorted_tables:
            for row in await tx.conn.execute(select(table)):
                if any(value in json.dumps(v, default=str) for v in row._mapping.values()):
                    found[table.name] = found.get(table.name, 0) + 1
    return found


async def _table_counts(api: Api) -> dict[str, int]:
    async with api.db.transaction(write=False) as tx:
        return {
            table.name: int(await tx.conn.scalar(select(func.count()).select_from(table)) or 0)
            for table in metadata.sorted_tables
        }


async def test_export_holds_all_of_the_workspace_and_nothing_else(api: Api) -> None:
    ws, auth, links = await _populate(api, "Acme")
    other, _, other_links = await _populate(api, "Other")
    await _wait_for_clicks(api, [ws.id, other.id], expected=12)
    r = await api.http.get("/api/v1/workspace/export", headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["format"] == "hoplink.workspace-export" and data["version"] == 1
    assert [w["id"] for w in data["workspace"]] == [ws.id]
    assert {lnk["id"] for lnk in data["links"]} == {lnk["id"] for lnk in links}
    assert len(data["clicks"]) == 6 and len(data["rollup_link_hours"]) == 3
    assert data["rollup_workspace_hours"][0]["pv"] == 6
    assert {h["field"] for h in data["link_history"]} >= {"destination_url"}
    assert len(data["link_tags"]) == 6 and {t["name"] for t in data["tags"]} == {"summer", "Acme"}
    assert [c["name"] for c in data["campaigns"]] == ["Acme sale"]
    assert sorted(m["email"] for m in data["members"]) == ["staff@acme.example"]
    assert [b["reason"] for b in data["link_bans"]] == ["scam"]
    assert [rep["message"] for rep in data["link_reports"]] == ["fake shop"]
    assert {a["action"] for a in data["audit_log"]} >= {
        audit.APIKEY_CREATED,
        audit.LINK_DESTINATION_CHANGED,
        audit.MEMBER_ADDED,
        audit.LINK_BANNED,
    }
    [key] = data["api_keys"]
    assert "key_hash" not in key and key["prefix"].startswith("hl_")
    [integration] = data["forward_destinations"]
    assert integration["account_id"] == "1234567890"
    assert "credential_enc" not in integration and "credential_hint" not in integration
    assert "EAAAcmeToken" not in r.text
    [batch] = data["forward_batches"]
    [events] = data["forward_batch_events"]
    assert events["batch_id"] == batch["id"] and batch["size"] == 1
    assert [e["key"] for e in json.loads(events["events"])] == [
        data["conversion_events"][0]["event_id"]
    ]
    text = r.text
    # Never: another tenant's rows, secrets, visitors' addresses or hashes.
    assert other.id not in text and all(lnk["id"] not in text for lnk in other_links)
    assert "visitor@example.com" not in text and "visitor_hash" not in text
    assert "password" not in text
    async with api.db.transaction(write=False) as tx:
        [entry] = await tx.audit.search(workspace_id=ws.id, action=audit.WORKSPACE_EXPORTED)
    assert entry.actor is not None and entry.actor.startswith("key:")


async def test_erase_removes_every_row_of_the_workspace_only(api: Api) -> None:
    ws, auth, links = await _populate(api, "Acme")
    other, other_auth, _ = await _populate(api, "Other")
    await _wait_for_clicks(api, [ws.id, other.id], expected=12)
    assert set(await _rows_mentioning(api, ws.id)) >= {
        "workspaces",
        "links",
        "clicks",
        "rollup_link_hours",
        "rollup_workspace_days",
        "api_keys",
        "audit_log",
        "link_bans",
        "link_reports",
        "memberships",
        "tags",
        "campaigns",
        "link_history",
        "forward_destinations",
        "forward_batches",
        "forward_batch_events",
    }
    other_before = await _rows_mentioning(api, other.id)

    wrong = await api.http.request(
        "DELETE", "/api/v1/workspace", json={"confirm": "other"}, headers=auth
    )
    assert_problem(wrong, 422, "invalid_input", field="confirm")
    missing = await api.http.request("DELETE", "/api/v1/workspace", json={}, headers=auth)
    assert_problem(missing, 422, "invalid_input", field="confirm")
    r = await api.http.request(
        "DELETE", "/api/v1/workspace", json={"confirm": ws.slug}, headers=auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["erased"] == ws.slug and r.json()["rows"]["links"] == 3

    assert await _rows_mentioning(api, ws.id) == {}
    for link in links:  # no row, visitor set or tag pair of its links is left either
        assert await _rows_mentioning(api, link["id"]) == {}
    assert await _rows_mentioning(api, other.id) == other_before
    # The key is gone with the workspace; its links are gone from the redirect (cache too).
    assert (await api.http.get("/api/v1/workspace", headers=auth)).status_code == 401
    assert (await api.http.get(f"/{links[0]['code']}")).status_code == 404
    # Its codes are never handed to anyone else.
    taken = await api.http.post(
        "/api/v1/links",
        json={"url": "https://evil.example.com/", "code": links[0]["code"]},
        headers=other_auth,
    )
    assert_problem(taken, 409, "code_taken")
    # The erase itself is in the log, by slug, never by id.
    async with api.db.transaction(write=False) as tx:
        [entry] = await tx.audit.search(action=audit.WORKSPACE_ERASED)
        staff = await tx.users.by_email("staff@acme.example")
    assert entry.workspace_id is None and entry.detail["slug"] == ws.slug
    assert entry.detail["rows.links"] == "3"
    assert staff is None  # an account of this workspace alone goes with it


async def test_cli_export_and_erase(api: Api, tmp_path: Path) -> None:
    # The CLI's functions on the running app's database (the CLI tests run the command).
    from hoplink.cli import workspaces as cli

    ws, _, links = await _populate(api, "Acme")
    assert api.app.runtime is not None
    settings = api.app.runtime.settings
    target = tmp_path / "acme.json.gz"
    exported, size = await cli._export(settings, ws.slug, target)
    assert exported.id == ws.id and size > 1000
    data = json.loads(gzip.decompress(target.read_bytes()))
    assert {lnk["id"] for lnk in data["links"]} == {lnk["id"] for lnk in links}
    erased = await cli._erase(settings, ws.slug)
    assert erased.rows["links"] == 3
    assert await _rows_mentioning(api, ws.id) == {}


# Columns named like a secret that an export may carry: a domain's verification token is
# what the workspace itself publishes (DNS TXT, well-known file).
_PUBLIC = {("domains", "token"), ("workspace_domains", "token")}
_SECRET_LIKE = re.compile(r"hash|_enc$|secret|credential|token|password")


async def test_export_leaves_out_every_secret_in_any_form(api: Api) -> None:
    """Ingest key hashes, invitation and public-stats token hashes and sealed webhook
    secrets were exported (API key hashes and ad credentials already were not)."""
    ws, auth, links = await _populate(api, "Acme")
    settings = api.app.settings
    async with api.db.transaction() as tx:
        endpoint, raw_secret = await webhooks.create_endpoint(
            tx,
            workspace_id=ws.id,
            url="https://hooks.example.com/in",
            events=("link.created",),
            box=SecretBox(settings.resolve_secret_key()),
        )
        _, raw_ingest = await create_ingest_key(
            tx, workspace_id=ws.id, name="shop", created_by=None
        )
        await public_stats.enable(tx, workspace=ws, link_id=links[0]["id"])
        await invitations.invite(
            tx,
            workspace=ws,
            email="new@acme.example",
            role=Role.VIEWER,
            lifetime=timedelta(days=1),
            actor=None,
        )
    r = await api.http.get("/api/v1/workspace/export", headers=auth)
    assert r.status_code == 200, r.text
    data = r.json()
    assert [e["id"] for e in data["webhook_endpoints"]] == [endpoint.id]
    assert len(data["ingest_keys"]) == 1 and len(data["invitations"]) == 1
    assert len(data["public_stats"]) == 1
    async with api.db.transaction(write=False) as tx:
        sealed = await tx.conn.scalar(select(metadata.tables["webhook_endpoints"].c.secret_enc))
    assert sealed not in r.text and raw_secret not in r.text and raw_ingest not in r.text
    for section, rows in data.items():
        if not isinstance(rows, list):
            continue
        for row in rows:
            named = {c for c in row if _SECRET_LIKE.search(c)} - {"previous_secret_until"}
            assert all((section, c) in _PUBLIC for c in named), (section, named)
