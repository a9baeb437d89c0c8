"""``hoplink workspace``: sellers' workspaces, their verification and suspension."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from hoplink import privacy
from hoplink.cli import _common, destination_domains
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.ids import utcnow
from hoplink.moderation import service as moderation
from hoplink.workspaces.models import Workspace, WorkspaceStatus
from hoplink.workspaces.quotas import QuotaUsage, quota_from_settings, quota_usage, set_quota
from hoplink.workspaces.service import create_workspace, find_workspace

app = typer.Typer(help="Manage workspaces (one per seller).", no_args_is_help=True)
app.add_typer(destination_domains.app, name="domain")

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


async def _create(
    settings: Settings,
    *,
    name: str,
    slug: str | None,
    seller_id: str | None,
    timezone: str,
    param_template: dict[str, str],
    status: WorkspaceStatus,
) -> Workspace:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        return await create_workspace(
            tx,
            name=name,
            slug=slug,
            seller_id=seller_id,
            timezone=timezone,
            param_template=param_template,
            status=status,
        )


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


ReasonOpt = Annotated[
    str,
    typer.Option(help="Why (kept in the audit log; shown to the seller while suspended)."),
]
_NO_REASON = "no reason given (CLI)"


async def _set_status(settings: Settings, ref: str, action: str, reason: str) -> Workspace:
    changes = {
        "verify": moderation.verify_workspace,
        "suspend": moderation.suspend_workspace,
        "reinstate": moderation.reinstate_workspace,
    }
    # The change reaches other nodes after commit when the cache invalidation is shared
    # (production mode); otherwise web processes see it within HOPLINK_REDIRECT_CACHE_TTL.
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        return await changes[action](tx, ref=ref, reason=reason, actor="cli")


@app.command()
def verify(
    ref: Annotated[str, typer.Argument(metavar="REF", help=WORKSPACE_HELP)],
    reason: ReasonOpt = "",
) -> None:
    """Mark a workspace's seller as verified: it may create links (also lifts a suspension).

    Example:
    $ hoplink workspace verify acme --reason "business licence checked"
    """
    ws = _common.run(_set_status(_common.settings(), ref, "verify", reason))
    out.print(f"{ws.slug} is now verified", markup=False)


@app.command()
def suspend(
    ref: Annotated[str, typer.Argument(metavar="REF", help=WORKSPACE_HELP)],
    reason: ReasonOpt = _NO_REASON,
) -> None:
    """Suspend a workspace: its links answer 410 Gone and its API keys are refused.

    Undo with `hoplink workspace reinstate` (back to the status it had).

    Example:
    $ hoplink workspace suspend acme --reason "phishing reports"
    """
    ws = _common.run(_set_status(_common.settings(), ref, "suspend", reason or _NO_REASON))
    out.print(f"{ws.slug} is now suspended", markup=False)


@app.command()
def reinstate(
    ref: Annotated[str, typer.Argument(metavar="REF", help=WORKSPACE_HELP)],
    reason: ReasonOpt = _NO_REASON,
) -> None:
    """Lift a suspension: the workspace gets back the status it had before.

    Example:
    $ hoplink workspace reinstate acme --reason "seller removed the listings"
    """
    ws = _common.run(_set_status(_common.settings(), ref, "reinstate", reason or _NO_REASON))
    out.print(f"{ws.slug} is reinstated ({ws.status.value})", markup=False)


async def _quota(
    settings: Settings, ref: str, per_day: int | None, per_month: int | None, reset: bool
) -> QuotaUsage:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        if reset or per_day is not None or per_month is not None:
            await set_quota(
                tx,
                workspace=ws,
                per_day=None if reset else (per_day or ws.links_per_day),
                per_month=None if reset else (per_month or ws.links_per_month),
            )
            ws = await find_workspace(tx, ref)
        return await quota_usage(
            tx, workspace=ws, defaults=quota_from_settings(settings), now=utcnow()
        )


@app.command()
def quota(
    ref: Annotated[str, typer.Argument(metavar="REF", help=WORKSPACE_HELP)],
    per_day: Annotated[
        int | None, typer.Option(min=1, help="Links it may create per UTC day.")
    ] = None,
    per_month: Annotated[
        int | None, typer.Option(min=1, help="Links it may create per UTC month.")
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Back to HOPLINK_QUOTA_LINKS_PER_DAY/_MONTH.")
    ] = False,
) -> None:
    """Show or set a workspace's creation quota (links per day and per month) and its usage.

    Example:
    $ hoplink workspace quota acme --per-day 200000 --per-month 2000000
    """
    if default and (per_day is not None or per_month is not None):
        _common.fail("give either --default or --per-day/--per-month, not both", code=2)
    u = _common.run(_quota(_common.settings(), ref, per_day, per_month, default))
    out.print(
        f"per day: {u.used_today:,} of {u.per_day:,} used"
        f" (resets {u.day_resets_at:%Y-%m-%d %H:%M} UTC)\n"
        f"per month: {u.used_this_month:,} of {u.per_month:,} used"
        f" (resets {u.month_resets_at:%Y-%m-%d %H:%M} UTC)",
        markup=False,
    )


async def _export(settings: Settings, ref: str, to: Path) -> tuple[Workspace, int]:
    async with _common.runtime(settings) as rt:
        async with rt.db.transaction() as tx:
            ws = await find_workspace(tx, ref)
            await privacy.record_export(tx, workspace=ws, actor="cli")
        opener = gzip.open if to.suffix == ".gz" else open
        size = 0
        partial = to.with_name(f".{to.name}.part")
        with opener(partial, "wb") as f:
            async with rt.db.transaction(write=False) as tx:
                async for chunk in privacy.export_chunks(tx, workspace=ws):
                    f.write(chunk)
                    size += len(chunk)
        partial.replace(to)
        return ws, size


@app.command()
def export(
    ref: Annotated[str, typer.Argument(metavar="REF", help=WORKSPACE_HELP)],
    to: Annotated[
        Path,
        typer.Option(
            "--to",
            help="File to write: JSON, gzip-compressed when the name ends in .gz.",
            dir_okay=False,
            writable=True,
        ),
    ],
) -> None:
    """Export everything a workspace holds (links, history, campaigns, tags, clicks,
    rollups, API key metadata, members, audit log) as one JSON document.

    Example:
    $ hoplink workspace export acme --to acme-export.json.gz
    """
    ws, size = _common.run(_export(_common.settings(), ref, to))
    out.print(f"Exported {ws.slug} to {to} ({size:,} bytes of JSON)", markup=False)


async def _erase(settings: Settings, ref: str) -> privacy.Erased:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        return await privacy.erase_workspace(tx, ref=ref, actor="cli")


@app.command()
def erase(
    ref: Annotated[str, typer.Argument(metavar="REF", help=WORKSPACE_HELP)],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: the erase cannot be undone.")
    ] = False,
) -> None:
    """Erase a workspace and all its data: links, clicks, rollups, keys, campaigns, tags,
    members' access, audit entries. It cannot be undone; export first if in doubt.

    Its short codes are retired, never given to anyone else.

    Example:
    $ hoplink workspace erase acme --yes
    """
    if not yes:
        _common.fail("erasing cannot be undone: add --yes to confirm", code=2)
    erased = _common.run(_erase(_common.settings(), ref))
    total = sum(erased.rows.values())
    out.print(f"Erased workspace {erased.slug}: {total:,} rows deleted", markup=False)
    for name, n in sorted(erased.rows.items()):
        out.print(f"  {name}: {n:,}", markup=False)


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
