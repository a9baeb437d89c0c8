"""``hoplink workspace verify|suspend|reinstate|export|erase`` and the eligibility gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_harness import Cli

from hoplink import audit
from hoplink.storage.tx import Tx

PRODUCT = "https://shop.example.com/item/1"


def test_only_verified_workspaces_create_links_and_status_changes_are_audited(
    cli: Cli,
) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    refused = cli.fails("link", "create", PRODUCT, "-w", "acme")
    assert "acme is not verified yet" in refused.stderr
    cli.ok("workspace", "verify", "acme", "--reason", "licence checked")
    cli.ok("link", "create", PRODUCT, "-w", "acme")
    cli.ok("workspace", "suspend", "acme", "--reason", "phishing")
    assert "is suspended" in cli.fails("link", "create", PRODUCT, "-w", "acme").stderr
    out = cli.ok("workspace", "reinstate", "acme", "--reason", "cleaned up").stdout
    assert "acme is reinstated (verified)" in out
    again = cli.fails("workspace", "reinstate", "acme")
    assert "acme is not suspended" in again.stderr

    async def entries(tx: Tx) -> list[tuple[str, str | None, dict[str, str]]]:
        found = await tx.audit.search()
        return [(e.action, e.actor, e.detail) for e in found]

    log = cli.query(entries)
    assert [(a, actor) for a, actor, _ in log] == [
        (audit.WORKSPACE_REINSTATED, "cli"),
        (audit.WORKSPACE_SUSPENDED, "cli"),
        (audit.WORKSPACE_VERIFIED, "cli"),
    ]
    assert log[1][2]["reason"] == "phishing"


def test_export_then_erase(cli: Cli, tmp_path: Path) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    made = cli.ok("link", "create", PRODUCT, "-w", "acme", "--tag", "summer").stdout
    code = re.search(r"/([A-Za-z0-9]{7})\b", made)
    assert code
    cli.ok("apikey", "create", "-w", "acme", "--scope", "links:read")
    target = tmp_path / "acme.json"
    out = cli.ok("workspace", "export", "acme", "--to", str(target)).stdout
    assert f"Exported acme to {target}" in out
    data = json.loads(target.read_text())
    assert [lnk["code"] for lnk in data["links"]] == [code.group(1)]
    assert [k["created_by"] for k in data["api_keys"]] == ["cli"]
    assert "key_hash" not in target.read_text()
    assert {a["action"] for a in data["audit_log"]} == {
        audit.APIKEY_CREATED,
        audit.WORKSPACE_EXPORTED,
    }

    refused = cli.fails("workspace", "erase", "acme", code=2)
    assert "add --yes" in refused.stderr
    erased = cli.ok("workspace", "erase", "acme", "--yes").stdout
    assert "Erased workspace acme" in erased and "links: 1" in erased
    assert "No workspaces yet" in cli.ok("workspace", "list").stdout
    assert "no workspace" in cli.fails("workspace", "export", "acme", "--to", "x.json").stderr
