"""``hoplink health``: destination health of a workspace's links (checked by the worker)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.cli.rules import LinkArg, _link_id
from hoplink.config import Settings
from hoplink.linkhealth import service
from hoplink.linkhealth.markers import load_presets
from hoplink.linkhealth.models import HealthEvent, LinkHealth
from hoplink.workspaces.service import find_workspace

app = typer.Typer(
    help="Destination health: states, history, check now, automatic fallback.",
    no_args_is_help=True,
)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
_STYLE = {"healthy": "green", "degraded": "yellow", "broken": "red", "unknown": "dim"}


def _events(events: list[HealthEvent]) -> None:
    if not events:
        out.print("No state changes yet.")
        return
    table = _common.table("at", "link", "from", "to", "reason", "url", "fallback", whole={"at"})
    for e in events:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M"), e.link_id, e.old_state,
            Text(e.new_state, style=_STYLE[e.new_state]), e.reason or "-", Text(e.url or "-"),
            e.switch or "-",
        )  # fmt: skip
    out.print(table)


def _one(h: LinkHealth) -> None:
    out.print(Text(f"{h.state}", style=_STYLE[h.state]), Text(f"({h.reason or 'not checked'})"))
    if h.url:
        out.print(Text(f"url: {h.url}"))
    if h.detail:
        out.print(Text(f"detail: {h.detail}"))
    checked = h.checked_at.strftime("%Y-%m-%d %H:%M UTC") if h.checked_at else "never"
    out.print(f"checked: {checked}; next: {h.next_check_at.strftime('%Y-%m-%d %H:%M UTC')}")
    out.print(f"automatic fallback: {h.auto_fallback}")
    if h.switched_from:
        out.print(Text(f"on the fallback URL; the original is {h.switched_from}"))


async def _status(settings: Settings, ref: str, link: str | None) -> None:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        if link is not None:
            found, history = await service.link_health(
                tx, workspace=ws, link_id=await _link_id(tx, ws, link)
            )
            _one(found)
            _events(history)
            return
        counts = await service.summary(tx, workspace=ws)
        out.print(", ".join(f"{n} {state}" for state, n in counts.items()))
        _events(await service.notifications(tx, workspace=ws, limit=20))


@app.command()
def status(
    workspace: WorkspaceOpt,
    link: Annotated[
        str | None,
        typer.Argument(metavar="[LINK]", help="A link's id or code; omitted: the workspace."),
    ] = None,
) -> None:
    """Show the workspace's counts per state and recent changes, or one link's health.

    Example:
    $ hoplink health status -w my-store lnk_0123456789abcdef
    """
    _common.run(_status(_common.settings(), workspace, link))


async def _check(settings: Settings, ref: str, link: str | None) -> int:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        link_id = None if link is None else await _link_id(tx, ws, link)
        return await service.check_now(tx, workspace=ws, link_id=link_id)


@app.command()
def check(
    workspace: WorkspaceOpt,
    link: Annotated[
        str | None,
        typer.Argument(metavar="[LINK]", help="A link's id or code; omitted: every link."),
    ] = None,
) -> None:
    """Check now: make a link (or every link) due; a running worker checks it within
    seconds (HOPLINK_HEALTH_POLL_INTERVAL).

    Example:
    $ hoplink health check -w my-store lnk_0123456789abcdef
    """
    due = _common.run(_check(_common.settings(), workspace, link))
    out.print(f"{due} link(s) due for a check now.")


async def _fallback(settings: Settings, ref: str, link: str, mode: str) -> LinkHealth:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        return await service.set_auto_fallback(
            tx, workspace=ws, link_id=await _link_id(tx, ws, link), mode=mode, actor="cli",
            policy=rt.link_rules.policy,
        )  # fmt: skip


@app.command()
def fallback(
    link: LinkArg,
    mode: Annotated[
        str,
        typer.Argument(
            metavar="MODE",
            help="off, broken (switch while broken) or degraded (while degraded or broken).",
        ),
    ],
    workspace: WorkspaceOpt,
) -> None:
    """Send visitors to the link's fallback URL (its expiry URL, else the workspace's
    fallback URL) while the destination is broken, and back when it is healthy.

    Example:
    $ hoplink health fallback lnk_0123456789abcdef broken -w my-store
    """
    _one(_common.run(_fallback(_common.settings(), workspace, link, mode)))


@app.command()
def presets() -> None:
    """List the marketplace presets: hosts, unavailable markers, delisted pages
    (HOPLINK_HEALTH_MARKERS_FILE replaces them).

    Example:
    $ hoplink health presets
    """
    settings = _common.settings()
    table = _common.table("preset", "hosts", "markers", "delisted paths")
    for p in load_presets(settings.health_markers_file):
        table.add_row(
            p.name,
            Text(", ".join(p.hosts[:3]) + (f" (+{len(p.hosts) - 3})" if len(p.hosts) > 3 else "")),
            Text("; ".join(f"{m.reason}: {m.text}" for m in p.markers[:3])),
            Text(" ".join(r.pattern for r in p.delisted_paths)),
        )
    out.print(table)
