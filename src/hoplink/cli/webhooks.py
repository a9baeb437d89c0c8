"""``hoplink webhook``: a workspace's webhook endpoints and failed messages (issue 10)."""

from __future__ import annotations

from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.webhooks import service
from hoplink.webhooks.models import Endpoint, Message
from hoplink.workspaces.service import find_workspace

app = typer.Typer(
    help="Webhook endpoints of a workspace, their failed messages, and replay.\n\n"
    "Endpoints are added through the API (POST /api/v1/webhooks), which shows the secret"
    " once.\n\nExample:\n\n$ hoplink webhook replay acme",
    no_args_is_help=True,
)

WorkspaceArg = Annotated[str, typer.Argument(metavar="WORKSPACE", help=WORKSPACE_HELP)]


async def _list(settings: Settings, ref: str) -> list[Endpoint]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        ws = await find_workspace(tx, ref)
        return await tx.webhooks(ws.id).endpoints()


@app.command("list")
def list_endpoints(workspace: WorkspaceArg) -> None:
    """List the workspace's endpoints (id, on/off, events, URL).

    Example:
    $ hoplink webhook list acme
    """
    for e in _common.run(_list(_common.settings(), workspace)):
        state = "on " if e.enabled else "off"
        out.print(f"{e.id}  {state}  {' '.join(e.events)}  {e.url}", markup=False, soft_wrap=True)


async def _failed(settings: Settings, ref: str) -> list[Message]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        ws = await find_workspace(tx, ref)
        return await tx.webhooks(ws.id).messages(status="failed", limit=500)


@app.command()
def failed(workspace: WorkspaceArg) -> None:
    """List the workspace's failed messages (newest first, at most 500).

    Example:
    $ hoplink webhook failed acme
    """
    for m in _common.run(_failed(_common.settings(), workspace)):
        out.print(
            f"{m.id}  {m.endpoint_id}  {m.event_type}  {m.attempts} attempts  {m.created_at:%F %T}",
            markup=False,
        )


async def _replay(
    settings: Settings, ref: str, message_id: str | None, endpoint_id: str | None
) -> int:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        if endpoint_id is not None:
            await service.get_endpoint(tx, workspace_id=ws.id, endpoint_id=endpoint_id)
        return await service.replay_failed(
            tx, workspace_id=ws.id, message_id=message_id, endpoint_id=endpoint_id
        )


@app.command()
def replay(
    workspace: WorkspaceArg,
    message: Annotated[
        str | None, typer.Option(help="Replay only this message (msg_...).", show_default=False)
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(help="Replay only this endpoint's messages (whe_...).", show_default=False),
    ] = None,
) -> None:
    """Queue failed messages again: one, those of an endpoint, or all of the workspace.
    The worker sends them at once, with the same webhook-id.

    Example:
    $ hoplink webhook replay acme --endpoint whe_8Fh2...
    """
    n = _common.run(_replay(_common.settings(), workspace, message, endpoint))
    out.print(f"{n} message(s) queued again", markup=False)
