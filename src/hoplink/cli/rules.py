"""``hoplink rule``: a link's routing rules (first match wins), from JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.domains import domain_for
from hoplink.errors import InvalidInput, NotFound
from hoplink.links import rules as service
from hoplink.links.routing import Rule, app_presets
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.service import find_workspace

app = typer.Typer(help="A link's routing rules (first match wins).", no_args_is_help=True)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
LinkArg = Annotated[
    str,
    typer.Argument(
        metavar="LINK", help="The link's id (lnk_...) or its code on the default domain."
    ),
]
RuleJson = Annotated[
    str,
    typer.Argument(
        metavar="JSON",
        help="The rule (or, for set, the list of rules) as JSON, or @file.json. See "
        "docs/campaigns.md.",
    ),
]


def _json(text: str, field: str) -> Any:
    try:
        raw = Path(text[1:]).read_text("utf-8") if text.startswith("@") else text
        return json.loads(raw)
    except (OSError, ValueError) as exc:
        _common.fail(f"error: {field}: not readable JSON ({exc})")


def _print(rules: list[Rule]) -> None:
    if not rules:
        out.print("No rules: every visitor gets the link's destination.")
        return
    table = _common.table("#", "id", "name", "match", "conditions", "goes to", whole={"id"})
    for i, r in enumerate(rules):
        conds = "; ".join(
            f"{c['type']} {c.get('values') or c.get('name') or ''}".strip()
            + (f"={c['equals']}" if c.get("equals") else "")
            for c in (c.to_json() for c in r.conditions)
        )
        goes = r.action.url if r.action.type == "url" else f"app:{r.action.preset} {r.action.url}"
        table.add_row(str(i), r.id, Text(r.name or "-"), r.match, Text(conds), Text(goes))
    out.print(table)


async def _link_id(tx: Tx, ws: Workspace, ref: str) -> str:
    if ref.startswith("lnk_"):
        return ref
    link = await tx.links(ws.id).by_code((await domain_for(tx, ws, None)).id, ref)
    if link is None:
        raise NotFound(f"no link with the code {ref!r} on the default domain")
    return link.id


async def _list(settings: Settings, ref: str, link: str) -> list[Rule]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        ws = await find_workspace(tx, ref)
        link_id = await _link_id(tx, ws, link)
        return (await service.list_rules(tx, workspace=ws, link_id=link_id))[1]


@app.command("list")
def list_(link: LinkArg, workspace: WorkspaceOpt) -> None:
    """Show a link's rules in the order they are checked.

    Example:
    $ hoplink rule list lnk_0123456789abcdef -w my-store
    """
    _print(_common.run(_list(_common.settings(), workspace, link)))


async def _change(settings: Settings, ref: str, link_ref: str, how: str, data: Any) -> list[Rule]:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        common: dict[str, Any] = {
            "workspace": ws,
            "link_id": await _link_id(tx, ws, link_ref),
            "actor": "cli",
        }
        policy = rt.link_rules.policy
        presets = app_presets(settings.app_presets_file)
        if how == "add":
            position = data.pop("position", None) if isinstance(data, dict) else None
            link, _ = await service.add_rule(
                tx, **common, rule=data, position=position, policy=policy, presets=presets
            )
        elif how == "set":
            if not isinstance(data, list):
                raise InvalidInput.one("rules", "invalid", "give a JSON list of rules")
            link, _ = await service.set_rules(
                tx, **common, rules=data, policy=policy, presets=presets
            )
        else:
            link = await service.delete_rule(tx, **common, rule_id=str(data))
        return service.rules_of(link)


@app.command()
def add(link: LinkArg, rule: RuleJson, workspace: WorkspaceOpt) -> None:
    """Add a rule (last, or at "position": 0 to check it first).

    Example:
    $ hoplink rule add lnk_0123456789abcdef -w my-store \\
        '{"conditions": [{"type": "in_app", "values": ["tiktok"]}],
          "action": {"type": "app", "preset": "amazon"}}'
    """
    data = _json(rule, "rule")
    if not isinstance(data, dict):
        _common.fail("error: a rule is a JSON object")
    _print(_common.run(_change(_common.settings(), workspace, link, "add", data)))


@app.command("set")
def set_(link: LinkArg, rules: RuleJson, workspace: WorkspaceOpt) -> None:
    """Replace all of a link's rules with a JSON list ([] removes them all).

    Example:
    $ hoplink rule set lnk_0123456789abcdef -w my-store @rules.json
    """
    data = _json(rules, "rules")
    _print(_common.run(_change(_common.settings(), workspace, link, "set", data)))


@app.command()
def delete(
    link: LinkArg,
    rule_id: Annotated[str, typer.Argument(metavar="RULE", help="The rule's id (rul_...).")],
    workspace: WorkspaceOpt,
) -> None:
    """Delete one rule.

    Example:
    $ hoplink rule delete lnk_0123456789abcdef rul_0123456789abcdef -w my-store
    """
    _print(_common.run(_change(_common.settings(), workspace, link, "delete", rule_id)))


@app.command()
def presets() -> None:
    """List the app hand-off presets (HOPLINK_APP_PRESETS_FILE adds to them).

    Example:
    $ hoplink rule presets
    """
    settings = _common.settings()
    table = _common.table("name", "label", "android package", "ios template")
    for p in sorted(app_presets(settings.app_presets_file).values(), key=lambda p: p.name):
        table.add_row(p.name, p.label, p.android_package or "-", Text(p.ios_template or "-"))
    out.print(table)
