"""``hoplink workspace``: sellers' workspaces, their verification and suspension."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.workspaces.models import Workspace, WorkspaceStatus
from hoplink.workspaces.service import create_workspace, set_status

app = typer.Typer(help="Manage workspaces (one per seller).", no_args_is_help=True)

_STATUS_STYLE = {
    WorkspaceStatus.VERIFIED: "green",
    WorkspaceStatus.UNVERIFIED: "yellow",
    WorkspaceStatus.SUSPENDED: "red",
}


def _params(values: list[str]) -> dict[str, str]:
    template: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        template[key] = value
    return template


async def _create(settings: Settings, **kwargs: object) -> Workspace:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        return await create_workspace(tx, **kwargs)  # type: ignore[arg-type]


@app.command()
def create(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Display name, e.g. the seller's shop name.")
    ],
    slug: Annotated[
        str | None,
        typer.Option(
            help="Short name used in commands: 3-64 lowercase letters, digits and '-'."
            " Default: made from the name.",
            show_default=False,
        ),
    ] = None,
    seller_id: Annotated[
        str | None,
        typer.Option(
            help="The seller's id on your marketplace; the {seller_id} of --param.",
            show_default=False,
        ),
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="IANA time zone for the workspace's stats, e.g. Asia/Shanghai.")
    ] = "UTC",
    param: Annotated[
        list[str] | None,
        typer.Option(
            help="A parameter added to every link's final URL, as KEY=VALUE; the value may use"
            " {seller_id}, {channel}, {campaign_id}, {campaign}. Repeat for more.",
            show_default=False,
        ),
    ] = None,
    verified: Annotated[
        bool, typer.Option("--verified", help="Create it verified (skip `workspace verify`).")
    ] = False,
) -> None:
    """Create a workspace for a seller.

    Example:
    $ hoplink workspace create "Acme Store" --slug acme --seller-id S1001 \\
        --timezone Asia/Shanghai --param aff_seller={seller_id} --param aff_ch={channel}
    """
    settings = _common.settings()
    ws = _common.run(
        _create(
            settings,
            name=name,
            slug=slug,
            seller_id=seller_id,
            timezone=timezone,
            param_template=_params(param or []),
            status=WorkspaceStatus.VERIFIED if verified else WorkspaceStatus.UNVERIFIED,
        )
    )
    out.print(f"Created workspace {ws.slug} ({ws.id}), {ws.status.value}", markup=False)
    if ws.status is WorkspaceStatus.UNVERIFIED:
        out.print(f"Once the seller is checked: hoplink workspace verify {ws.slug}", markup=False)


async def _set_status(settings: Settings, ref: str, status: WorkspaceStatus) -> Workspace:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        return await set_status(tx, ref=ref, status=status)


@app.command()
def verify(ref: Annotated[str, typer.Argument(metavar="REF", help=WORKSPACE_HELP)]) -> None:
    """Mark a workspace's seller as verified (also lifts a suspension).

    Example:
    $ hoplink workspace verify acme
    """
    ws = _common.run(_set_status(_common.settings(), ref, WorkspaceStatus.VERIFIED))
    out.print(f"{ws.slug} is now verified", markup=False)


@app.command()
def suspend(ref: Annotated[str, typer.Argument(metavar="REF", help=WORKSPACE_HELP)]) -> None:
    """Suspend a workspace: its links answer 410 Gone and its API keys are refused.

    Undo with `hoplink workspace verify`.

    Example:
    $ hoplink workspace suspend acme
    """
    ws = _common.run(_set_status(_common.settings(), ref, WorkspaceStatus.SUSPENDED))
    out.print(f"{ws.slug} is now suspended", markup=False)


async def _all(settings: Settings) -> list[Workspace]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        return await tx.workspaces.all()


@app.command("list")
def list_() -> None:
    """List all workspaces, oldest first. Times are UTC.

    Example:
    $ hoplink workspace list
    """
    workspaces = _common.run(_all(_common.settings()))
    table = _common.table(
        "id", "slug", "name", "seller id", "status", "created", whole={"id", "slug", "created"}
    )
    for ws in workspaces:
        table.add_row(
            ws.id,
            ws.slug,
            Text(ws.name),
            Text(ws.seller_id or "-"),
            Text(ws.status.value, style=_STATUS_STYLE[ws.status]),
            _common.when(ws.created_at),
        )
    out.print(table if workspaces else "No workspaces yet: hoplink workspace create NAME")
