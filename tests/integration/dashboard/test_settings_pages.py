"""Settings: the workspace, members and roles, API keys shown once."""

from __future__ import annotations

from dashboard_harness import Dash

from hoplink.workspaces.models import Role


async def test_workspace_settings_and_field_errors(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.ADMIN)
    base = f"/app/w/{ws.slug}/settings"
    saved = await b.post(
        f"{base}/workspace",
        {
            "name": "Acme Global",
            "seller_id": "S-1001",
            "timezone": "Asia/Shanghai",
            "param_template": "aff_seller={seller_id}\naff_ch={channel}",
            "custom_channels": "whatsapp, line",
        },
    )
    assert saved.status_code == 303
    page = await b.get(base)
    assert "Acme Global" in page.text and "aff_ch={channel}" in page.text
    assert "Workspace settings saved." in page.text
    preview = await b.post(
        f"/app/w/{ws.slug}/links/preview", {"url": "https://a.test/", "channel": "whatsapp"}
    )
    assert preview.json()["final_url"] == "https://a.test/?aff_seller=S-1001&aff_ch=whatsapp"
    bad = await b.post(
        f"{base}/workspace",
        {"name": "x", "timezone": "Mars/Base", "param_template": "utm_x={nope}"},
    )
    assert bad.status_code == 422
    assert 'id="err-timezone"' in bad.text and "Mars/Base" in bad.text
    assert "unknown placeholder" in bad.text


async def test_members_roles_and_the_last_owner(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.OWNER, email="boss@example.com")
    base = f"/app/w/{ws.slug}/settings"
    # An address without an account gets an invitation link (issue 14), never a password.
    invited = await b.post(f"{base}/members", {"email": "stranger@example.com", "role": "viewer"})
    assert invited.status_code == 200 and 'id="invite-link"' in invited.text
    assert "new-password" not in invited.text
    await dash.user("new@example.com")
    added = await b.post(f"{base}/members", {"email": "new@example.com", "role": "viewer"})
    assert added.status_code == 200 and "new@example.com was added" in added.text
    twice = await b.post(f"{base}/members", {"email": "new@example.com", "role": "viewer"})
    assert twice.status_code == 422 and "already a member" in twice.text
    async with dash.db.transaction() as tx:
        members = {email: (uid, role) for uid, email, role in await tx.workspaces.members(ws.id)}
    new_id, role = members["new@example.com"]
    assert role is Role.VIEWER
    assert (await b.post(f"{base}/members/{new_id}/role", {"role": "member"})).status_code == 303
    boss_id = members["boss@example.com"][0]
    last = await b.post(f"{base}/members/{boss_id}/role", {"role": "viewer"})
    assert last.status_code == 409 and "at least one owner" in last.text
    assert (await b.post(f"{base}/members/{new_id}/remove")).status_code == 303
    # An admin cannot make owners.
    admin, _ = await dash.signed_in(Role.ADMIN, ws=ws, email="admin@example.com")
    refused = await admin.post(f"{base}/members", {"email": "x@example.com", "role": "owner"})
    assert refused.status_code == 403


async def test_api_keys_are_shown_once_and_revoked(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}/settings"
    created = await b.post(f"{base}/keys", {"name": "shopify sync", "scopes": "links:read"})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    key = created.text.split('id="new-key" class="wrap">')[1].split("<")[0]
    assert key.startswith("hl_")
    assert "set-cookie" not in created.headers  # the secret never goes into the cookie
    api = await dash.browser().http.get("/api/v1/links", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200
    page = await b.get(base)
    assert key not in page.text and key[:13] in page.text
    async with dash.db.transaction() as tx:
        [stored] = await tx.api_keys.for_workspace(ws.id)
    # Revoking is confirmed on its own page (the list only links to it).
    assert f'action="/app/w/{ws.slug}/settings/keys/{stored.id}/revoke"' not in page.text
    confirm = await b.get(f"{base}/keys/{stored.id}/revoke")
    assert confirm.status_code == 200 and "shopify sync" in confirm.text
    assert f'action="/app/w/{ws.slug}/settings/keys/{stored.id}/revoke"' in confirm.text
    assert (await b.post(f"{base}/keys/{stored.id}/revoke")).status_code == 303
    assert (await b.get(f"{base}/keys/{stored.id}/revoke")).status_code == 404  # gone now
    api = await dash.browser().http.get("/api/v1/links", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 401
    no_scope = await b.post(f"{base}/keys", {"name": "none"})
    assert no_scope.status_code == 422


async def test_the_time_zone_picker_is_grouped_by_region_without_aliases(dash: Dash) -> None:
    import re

    b, ws = await dash.signed_in(Role.OWNER)
    page = (await b.get(f"/app/w/{ws.slug}/settings")).text
    picker = page[
        page.index('id="f-timezone"') : page.index("</select>", page.index('id="f-timezone"'))
    ]
    groups = re.findall(r'<optgroup label="([^"]+)">', picker)
    assert groups[:3] == ["Asia", "Europe", "Americas"], groups
    values = re.findall(r'<option value="([^"]+)"', picker)
    assert "Asia/Shanghai" in values and "Europe/Kyiv" in values and "UTC" in values
    for alias in ("US/Eastern", "PRC", "Asia/Calcutta", "Europe/Kiev", "GB", "Etc/GMT+5"):
        assert alias not in values, alias
    assert len(values) == len(set(values)) > 300
    assert ">Shanghai (China)</option>" in picker
    zh = (await b.get(f"/app/w/{ws.slug}/settings", headers={"Accept-Language": "zh-CN"})).text
    assert '<optgroup label="亚洲">' in zh and ">Shanghai (中国)</option>" in zh
    # A workspace still on an old alias keeps it selected (nothing changes behind its back).
    saved = await b.post(
        f"/app/w/{ws.slug}/settings/workspace", {"name": ws.name, "timezone": "Asia/Calcutta"}
    )
    assert saved.status_code in (200, 303), saved.text[-500:]
    page = (await b.get(f"/app/w/{ws.slug}/settings")).text
    assert '<option value="Asia/Calcutta" selected>' in page


async def test_only_a_platform_admin_is_offered_and_granted_the_rates_scope(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}/settings"
    assert 'value="rates:write"' not in (await b.get(base)).text
    forged = await b.post(f"{base}/keys", {"name": "sneaky", "scopes": "rates:write"})
    assert forged.status_code == 422 and "platform operator" in forged.text
    async with dash.db.transaction() as tx:
        assert await tx.api_keys.for_workspace(ws.id) == []
    await dash.user("ops@example.com", ws, Role.OWNER, platform_admin=True)
    ops = dash.browser()
    await ops.sign_in("ops@example.com")
    page = (await ops.get(base)).text
    assert 'value="rates:write">' in page  # offered, not ticked by default
    made = await ops.post(f"{base}/keys", {"name": "rates feed", "scopes": "rates:write"})
    assert made.status_code == 200 and 'id="new-key"' in made.text
