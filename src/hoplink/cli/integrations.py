"""``hoplink integration``: a workspace's ad platform destinations (GA4, Meta CAPI,
TikTok Events API), their journal, dead letters, replay and a test event (issue 11)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.forwarding import service
from hoplink.forwarding.delivery import endpoints_from_settings, send_test
from hoplink.forwarding.models import Destination, Entry
from hoplink.net.fetch import SafeFetcher
from hoplink.webhooks.secrets import SecretBox
from hoplink.workspaces.service import find_workspace

app = typer.Typer(
    help="Ad platform integrations of a workspace (GA4, Meta, TikTok): add, list, the"
    " journal of what was sent, replay of dead letters, a test event.\n\nExample:\n\n"
    "$ hoplink integration list acme",
    no_args_is_help=True,
)

WorkspaceArg = Annotated[str, typer.Argument(metavar="WORKSPACE", help=WORKSPACE_HELP)]


async def _list(settings: Settings, ref: str) -> list[Destination]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        ws = await find_workspace(tx, ref)
        return await tx.forwarding(ws.id).destinations()


@app.command("list")
def list_destinations(workspace: WorkspaceArg) -> None:
    """List the workspace's integrations (id, on/off, kind, account, events, credential
    masked).

    Example:
    $ hoplink integration list acme
    """
    for d in _common.run(_list(_common.settings(), workspace)):
        state = "on " if d.enabled else "off"
        out.print(
            f"{d.id}  {state}  {d.kind.value}  {d.account_id}  {' '.join(d.events)}"
            f"  sample={d.click_sample_rate:g}  {d.masked_credential}",
            markup=False,
        )


async def _add(settings: Settings, ref: str, values: dict[str, Any]) -> Destination:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        return await service.create_destination(
            tx,
            workspace_id=ws.id,
            box=SecretBox(settings.resolve_secret_key()),
            actor="cli",
            **values,
        )


@app.command()
def add(
    workspace: WorkspaceArg,
    kind: Annotated[str, typer.Argument(help="ga4, meta or tiktok")],
    account_id: Annotated[
        str, typer.Argument(help="GA4 measurement id, Meta pixel id or TikTok pixel code")
    ],
    credential: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            help="GA4 API secret or Meta / TikTok access token (asked for when not given)",
        ),
    ],
    events: Annotated[str, typer.Option(help="Space-separated")] = "click purchase refund lead",
    sample: Annotated[float, typer.Option(help="Share of clicks sent, 0 to 1")] = 1.0,
    name: Annotated[str | None, typer.Option(help="Shown in lists")] = None,
    test_code: Annotated[
        str | None, typer.Option(help="Meta / TikTok test event code", show_default=False)
    ] = None,
) -> None:
    """Add an integration; the credential is kept encrypted and never shown again.

    Example:
    $ hoplink integration add acme meta 1234567890 --events "purchase refund"
    """
    parsed = service.parse_kind(kind)
    values = {
        "kind": parsed,
        "name": name or parsed.value,
        "account_id": account_id,
        "credential": credential,
        "events": service.parse_events(events.split()),
        "click_sample_rate": sample,
        "test_code": test_code,
    }
    d = _common.run(_add(_common.settings(), workspace, values))
    out.print(f"{d.id}  {d.kind.value}  {d.account_id}  {d.masked_credential}", markup=False)


async def _journal(
    settings: Settings, ref: str, destination_id: str | None, status: str | None
) -> list[Entry]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        ws = await find_workspace(tx, ref)
        return await tx.forwarding(ws.id).entries(
            destination_id=destination_id, status=status, limit=500
        )


@app.command()
def journal(
    workspace: WorkspaceArg,
    destination: Annotated[
        str | None, typer.Option(help="Only this integration (fwd_...)", show_default=False)
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(help="pending, sent, dead or rejected", show_default=False),
    ] = None,
) -> None:
    """What was forwarded (newest first, at most 500): event id, kind, status, when, the
    platform's answer or the rule that refused it.

    Example:
    $ hoplink integration journal acme --status dead
    """
    for e in _common.run(_journal(_common.settings(), workspace, destination, status)):
        when = f"{e.sent_at:%F %T}" if e.sent_at else "-"
        out.print(
            f"{e.id}  {e.destination_id}  {e.kind}  {e.event_key}  {e.status}  {when}"
            f"  {e.answer_status or '-'}  {e.error or e.answer or ''}",
            markup=False,
            soft_wrap=True,
        )


async def _replay(
    settings: Settings, ref: str, entry_id: str | None, destination_id: str | None
) -> int:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        return await service.replay(
            tx, workspace_id=ws.id, entry_id=entry_id, destination_id=destination_id
        )


@app.command()
def replay(
    workspace: WorkspaceArg,
    event: Annotated[
        str | None, typer.Option(help="Only this journal row (fwe_...)", show_default=False)
    ] = None,
    destination: Annotated[
        str | None, typer.Option(help="Only this integration (fwd_...)", show_default=False)
    ] = None,
) -> None:
    """Queue dead letters again (one, an integration's, or all); the worker sends them
    with the same event ids, which the platforms dedupe by.

    Example:
    $ hoplink integration replay acme --destination fwd_8Fh2...
    """
    n = _common.run(_replay(_common.settings(), workspace, event, destination))
    out.print(f"{n} event(s) queued again", markup=False)


async def _test(settings: Settings, ref: str, destination_id: str) -> dict[str, Any]:
    async with _common.runtime(settings) as rt:
        async with rt.db.transaction(write=False) as tx:
            ws = await find_workspace(tx, ref)
            dest = await service.get_destination(
                tx, workspace_id=ws.id, destination_id=destination_id
            )
        return await send_test(
            dest,
            fetcher=SafeFetcher.from_settings(settings),
            box=SecretBox(settings.resolve_secret_key()),
            endpoints=endpoints_from_settings(settings),
        )


@app.command()
def test(
    workspace: WorkspaceArg,
    destination: Annotated[str, typer.Argument(help="The integration (fwd_...)")],
) -> None:
    """Send a made-up click now and print the exact payload and the platform's answer.

    Example:
    $ hoplink integration test acme fwd_8Fh2...
    """
    result = _common.run(_test(_common.settings(), workspace, destination))
    out.print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode(), markup=False)
    if not result["ok"]:
        raise typer.Exit(1)
