"""``hoplink short-domain``: the operator's controls of custom short domains (issue 16).

Workspaces add, prove, configure and remove their domains in the dashboard or the API;
approving a workspace for them, its limit, vouching for, suspending, reinstating and
transferring a domain are the operator's alone (docs/domains.md).
"""

from __future__ import annotations

from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.domains import service
from hoplink.domains.models import proof_records
from hoplink.domains.verification import ShortDomainVerifier
from hoplink.links.models import ShortDomain
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.service import find_workspace

app = typer.Typer(
    help="Custom short domains of workspaces: approval, limits, suspension, transfer.\n\n"
    "Example:\n\n$ hoplink short-domain list",
    no_args_is_help=True,
)

DomainArg = Annotated[str, typer.Argument(metavar="DOMAIN", help="go.brand.com or dom_...")]
WorkspaceArg = Annotated[str, typer.Argument(metavar="WORKSPACE", help=WORKSPACE_HELP)]


def _show(d: ShortDomain, settings: Settings) -> None:
    out.print(f"{d.hostname}  {d.status}  ({d.id}, workspace {d.workspace_id})", markup=False)
    if d.status == "pending":
        for record in proof_records(d, settings.custom_domain_cname_target):
            out.print(f"  {record.type} {record.name} {record.value}", markup=False, soft_wrap=True)
    if d.last_error:
        out.print(f"last check: {d.last_error}", markup=False, soft_wrap=True)
    if d.failed_checks and d.failing_since is not None:
        since = d.failing_since.strftime("%Y-%m-%d %H:%M UTC")
        out.print(f"failed checks in a row: {d.failed_checks} since {since}", markup=False)
    if d.status == "verified" and d.next_check_at is not None:
        out.print(f"next check: {d.next_check_at:%Y-%m-%d %H:%M} UTC", markup=False)


async def _list(settings: Settings, workspace: str | None) -> list[ShortDomain]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        if workspace is None:
            return await tx.short_domains.custom()
        ws = await find_workspace(tx, workspace)
        return await tx.short_domains.of_workspace(ws.id)


@app.command("list")
def list_(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Only this workspace's")
    ] = None,
) -> None:
    """List custom short domains (every workspace's, or one's). Times are UTC.

    Example:
    $ hoplink short-domain list --workspace acme
    """
    found = _common.run(_list(_common.settings(), workspace))
    grid = _common.table("hostname", "status", "workspace", "verified", "id", whole={"id"})
    for d in found:
        grid.add_row(d.hostname, d.status, d.workspace_id, _common.when(d.verified_at), d.id)
    out.print(grid if found else "No custom short domains yet.")


async def _verify(settings: Settings, ref: str) -> ShortDomain:
    async with _common.runtime(settings) as rt:
        async with rt.db.transaction(write=False) as tx:
            domain = await service.any_domain(tx, ref)
        outcome = await ShortDomainVerifier.from_settings(settings).check(domain)
        async with rt.db.transaction() as tx:
            return await service.record_check(tx, domain=domain, outcome=outcome, actor="cli")


@app.command()
def verify(domain: DomainArg) -> None:
    """Look up a domain's DNS proof now; exit 1 if it is not verified.

    Example:
    $ hoplink short-domain verify go.brand.com
    """
    settings = _common.settings()
    found = _common.run(_verify(settings, domain))
    _show(found, settings)
    if found.status != "verified":
        raise typer.Exit(1)


@app.command()
def approve(domain: DomainArg) -> None:
    """Mark a pending domain verified without DNS proof (the operator vouches for it).

    Example:
    $ hoplink short-domain approve go.brand.com
    """

    async def work(settings: Settings) -> ShortDomain:
        async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
            return await service.approve_domain(tx, ref=domain, actor="cli")

    settings = _common.settings()
    _show(_common.run(work(settings)), settings)


@app.command()
def suspend(
    domain: DomainArg,
    reason: Annotated[str, typer.Option("--reason", help="Recorded in the audit log")],
) -> None:
    """Take a domain offline: every path on it answers the "gone" page, TLS ask refuses.

    Example:
    $ hoplink short-domain suspend go.brand.com --reason "phishing reports"
    """

    async def work(settings: Settings) -> ShortDomain:
        async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
            return await service.suspend_domain(tx, ref=domain, actor="cli", reason=reason)

    settings = _common.settings()
    _show(_common.run(work(settings)), settings)


@app.command()
def reinstate(domain: DomainArg) -> None:
    """Lift a suspension (the domain is verified again, or pending if it never was).

    Example:
    $ hoplink short-domain reinstate go.brand.com
    """

    async def work(settings: Settings) -> ShortDomain:
        async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
            return await service.reinstate_domain(tx, ref=domain, actor="cli")

    settings = _common.settings()
    _show(_common.run(work(settings)), settings)


@app.command()
def transfer(domain: DomainArg, workspace: WorkspaceArg) -> None:
    """Move a domain to another workspace, which must prove it again. The previous owner's
    links stay on it, their codes reserved (they answer as unknown codes there).

    Example:
    $ hoplink short-domain transfer go.brand.com brand-official
    """

    async def work(settings: Settings) -> ShortDomain:
        async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
            ws = await find_workspace(tx, workspace)
            return await service.transfer_domain(tx, ref=domain, to=ws, actor="cli")

    settings = _common.settings()
    _show(_common.run(work(settings)), settings)


@app.command()
def allow(
    workspace: WorkspaceArg,
    revoke: Annotated[bool, typer.Option("--revoke", help="Withdraw the approval")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=0, max=10_000, help="Its own domain limit")
    ] = None,
) -> None:
    """Approve a workspace for custom short domains (HOPLINK_CUSTOM_DOMAINS=approval) and
    optionally set its own limit.

    Example:
    $ hoplink short-domain allow acme --limit 10
    """

    async def work(settings: Settings) -> Workspace:
        async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
            ws = await find_workspace(tx, workspace)
            if limit is None:
                return await service.set_workspace_rules(tx, workspace=ws, approved=not revoke)
            return await service.set_workspace_rules(
                tx, workspace=ws, approved=not revoke, limit=limit
            )

    settings = _common.settings()
    ws = _common.run(work(settings))
    state = "approved" if ws.short_domains_approved else "not approved"
    out.print(
        f"{ws.slug}: {state} for custom short domains, limit"
        f" {service.limit_of(ws, settings)} (mode: {settings.custom_domains})",
        markup=False,
    )
