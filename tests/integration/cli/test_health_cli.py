"""``hoplink health status|check|fallback|presets``."""

from __future__ import annotations

import re

from cli_harness import Cli

from hoplink.links.models import LinkQuery
from hoplink.links.service import update_link
from hoplink.links.spec import LinkEdit
from hoplink.storage.tx import Tx


def test_health_commands(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    made = cli.ok("link", "create", "https://shop.example.com/item/1", "-w", "acme").stdout
    found = re.search(r"hop\.test/(\w+)", made)
    assert found is not None, made
    code = found.group(1)

    async def link_of(tx: Tx) -> str:
        ws = await tx.workspaces.find("acme")
        assert ws is not None
        return next(
            link.id for link in (await tx.links(ws.id).search(LinkQuery()))[0] if link.code == code
        )

    link_id = cli.query(link_of)

    async def add_expiry_url(tx: Tx) -> None:
        ws = await tx.workspaces.find("acme")
        assert ws is not None
        change = LinkEdit(expiry_url="https://shop.example.com/")
        await update_link(tx, workspace=ws, link_id=link_id, edit=change, actor="t")

    cli.query(add_expiry_url)

    shown = cli.ok("health", "status", "-w", "acme", link_id).stdout
    assert "unknown" in shown and "automatic fallback: off" in shown
    assert "1 link(s) due" in cli.ok("health", "check", "-w", "acme", link_id).stdout
    cli.ok("health", "check", "-w", "acme")
    assert (
        "automatic fallback: broken"
        in cli.ok("health", "fallback", link_id, "broken", "-w", "acme").stdout
    )
    failed = cli.fails("health", "fallback", link_id, "sometimes", "-w", "acme")
    assert "auto_fallback" in failed.output

    async def mode(tx: Tx) -> str:
        ws = await tx.workspaces.find("acme")
        assert ws is not None
        health = await tx.health(ws.id).get(link_id)
        assert health is not None
        return health.auto_fallback

    assert cli.query(mode) == "broken"
    assert "1 unknown" in cli.ok("health", "status", "-w", "acme").stdout
    listing = cli.ok("health", "presets").stdout
    assert all(name in listing for name in ("Amazon", "Shopee", "Lazada", "Mercado Libre"))
