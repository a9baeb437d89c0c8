"""``hoplink apikey``: a workspace's keys for the REST API."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from hoplink.accounts.apikeys import create_api_key, parse_scopes, revoke_api_key
from hoplink.accounts.models import ApiKey, Scope
from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.service import find_workspace

app = typer.Typer(help="Manage API keys (access to the REST API).", no_args_is_help=True)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]


async def _create(
    settings: Settings, ref: str, name: str, scopes: list[Scope]
) -> tuple[Workspace, ApiKey, str]:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        key, raw = await create_api_key(
            tx,
            workspace=ws,
            name=name,
            scopes=parse_scopes(s.value for s in scopes),
            created_by="cli",
            operator=True,
        )
        return ws, key, raw


@app.command()
def create(
    workspace: WorkspaceOpt,
    scope: Annotated[
        list[Scope],
        typer.Option(
            help="What the key may do: links:read, links:write, stats:read, conversions:write,"
            " workspace:admin (export, erase, audit log), rates:write (the platform's"
            " exchange rates; operators only). Repeat for more.",
            show_default=False,
        ),
    ],
    name: Annotated[
        str, typer.Option(help="A label to recognise the key by, e.g. the tool using it.")
    ] = "cli",
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the key (for scripts).")
    ] = False,
) -> None:
    """Create an API key. The key is printed once and cannot be shown again.

    Send it as "Authorization: Bearer <key>".

    Examples:
    $ hoplink apikey create -w my-store --name zapier --scope links:read --scope links:write
    $ KEY=$(hoplink apikey create -w my-store --scope links:write --quiet)
    """
    ws, key, raw = _common.run(_create(_common.settings(), workspace, name, scope))
    if quiet:
        out.print(raw, markup=False, soft_wrap=True)
        return
    scopes = ", ".join(sorted(s.value for s in key.scopes))
    out.print(f"Created API key {key.id} ({key.name}) for {ws.slug} with {scopes}:", markup=False)
    out.print(f"\n  {raw}\n", markup=False, soft_wrap=True, style="bold")
    out.print(
        "This is the only time the key is shown: store it now, hoplink keeps only a hash.",
        style="yellow",
    )


async def _revoke(settings: Settings, ref: str, key_id: str) -> Workspace:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        await revoke_api_key(tx, workspace_id=ws.id, key_id=key_id, actor="cli")
        return ws


@app.command()
def revoke(
    key_id: Annotated[
        str, typer.Argument(metavar="KEY_ID", help="The key's id (key_...), from `apikey list`.")
    ],
    workspace: WorkspaceOpt,
) -> None:
    """Revoke an API key: requests with it are refused at once. It cannot be undone.

    Example:
    $ hoplink apikey revoke key_7rXw2kLq9PzA4mNc --workspace my-store
    """
    ws = _common.run(_revoke(_common.settings(), workspace, key_id))
    out.print(f"Revoked API key {key_id} of {ws.slug}", markup=False)


async def _list(settings: Settings, ref: str) -> list[ApiKey]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        ws = await find_workspace(tx, ref)
        return await tx.api_keys.for_workspace(ws.id)


@app.command("list")
def list_(workspace: WorkspaceOpt) -> None:
    """List a workspace's API keys (never the keys themselves, only their prefix).

    Times are UTC.

    Example:
    $ hoplink apikey list --workspace my-store
    """
    keys = _common.run(_list(_common.settings(), workspace))
    table = _common.table(
        "id",
        "prefix",
        "name",
        "scopes",
        "created",
        "last used",
        "revoked",
        whole={"id", "prefix", "created", "last used", "revoked"},
    )
    for key in keys:
        table.add_row(
            key.id,
            key.prefix,
            Text(key.name),
            " ".join(sorted(s.value for s in key.scopes)),
            _common.when(key.created_at),
            _common.when(key.last_used_at),
            Text(_common.when(key.revoked_at), style="red" if key.revoked_at else ""),
        )
    out.print(table if keys else "No API keys in this workspace yet.")
