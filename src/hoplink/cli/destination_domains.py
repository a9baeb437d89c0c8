"""``hoplink workspace domain``: destination domains a workspace verifies (issue 6)."""

from __future__ import annotations

from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.safety import destination_domains
from hoplink.safety.models import DestinationDomain, DestinationDomainStatus
from hoplink.workspaces.service import find_workspace

app = typer.Typer(
    help="Destination domains a workspace has proven it controls (allowlist mode).\n\n"
    "Example:\n\n$ hoplink workspace domain add acme shop.acme.com",
    no_args_is_help=True,
)

WorkspaceArg = Annotated[str, typer.Argument(metavar="WORKSPACE", help=WORKSPACE_HELP)]
DomainArg = Annotated[str, typer.Argument(metavar="DOMAIN", help="shop.example.com or wdm_...")]


def _instructions(d: DestinationDomain) -> None:
    out.print(f"{d.hostname}  {d.status.value}  ({d.id})", markup=False)
    if d.status is not DestinationDomainStatus.VERIFIED:
        out.print("Prove control with either of:", markup=False)
        url = f"https://{d.hostname}{destination_domains.WELL_KNOWN}{d.token}"
        out.print(f"  serve the text {d.token} at {url}", markup=False, soft_wrap=True)
        txt = f"{destination_domains.TXT_PREFIX}{d.token}"
        out.print(f"  or a DNS TXT record on {d.hostname}: {txt}", markup=False, soft_wrap=True)
        out.print(f"then: hoplink workspace domain verify WORKSPACE {d.hostname}", markup=False)
    if d.last_error:
        out.print(f"last check: {d.last_error}", markup=False, soft_wrap=True)


async def _add(settings: Settings, ref: str, hostname: str) -> DestinationDomain:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        policy = rt.link_rules.policy
        return await destination_domains.add_domain(
            tx, workspace=ws, hostname=hostname, policy=policy
        )


@app.command()
def add(workspace: WorkspaceArg, hostname: DomainArg) -> None:
    """Claim a domain for a workspace and print how to verify it.

    Example:
    $ hoplink workspace domain add acme shop.acme.com
    """
    _instructions(_common.run(_add(_common.settings(), workspace, hostname)))


async def _verify(settings: Settings, ref: str, hostname: str) -> DestinationDomain:
    async with _common.runtime(settings) as rt:
        async with rt.db.transaction(write=False) as tx:
            ws = await find_workspace(tx, ref)
            domain = await destination_domains.find_domain(tx, workspace=ws, ref=hostname)
        outcome = await destination_domains.Verifier.from_settings(settings).check(domain)
        async with rt.db.transaction() as tx:
            return await destination_domains.record_outcome(
                tx, workspace=ws, domain=domain, outcome=outcome, actor="cli"
            )


@app.command()
def verify(workspace: WorkspaceArg, hostname: DomainArg) -> None:
    """Check the well-known URL and the DNS TXT record now; exit 1 if neither has the token.

    Example:
    $ hoplink workspace domain verify acme shop.acme.com
    """
    domain = _common.run(_verify(_common.settings(), workspace, hostname))
    _instructions(domain)
    if domain.status is not DestinationDomainStatus.VERIFIED:
        raise typer.Exit(1)


async def _approve(settings: Settings, ref: str, hostname: str) -> DestinationDomain:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        return await destination_domains.approve_domain(tx, workspace=ws, ref=hostname, actor="cli")


@app.command()
def approve(workspace: WorkspaceArg, hostname: DomainArg) -> None:
    """Mark a claimed domain verified without a check (the operator vouches for it).

    Example:
    $ hoplink workspace domain approve acme shop.acme.com
    """
    _instructions(_common.run(_approve(_common.settings(), workspace, hostname)))


async def _list(settings: Settings, ref: str) -> list[DestinationDomain]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        ws = await find_workspace(tx, ref)
        return await tx.destination_domains(ws.id).all()


@app.command("list")
def list_(workspace: WorkspaceArg) -> None:
    """List a workspace's claimed domains. Times are UTC.

    Example:
    $ hoplink workspace domain list acme
    """
    domains = _common.run(_list(_common.settings(), workspace))
    grid = _common.table("hostname", "status", "method", "verified", "id", whole={"hostname", "id"})
    for d in domains:
        method = d.method.value if d.method else "-"
        grid.add_row(d.hostname, d.status.value, method, _common.when(d.verified_at), d.id)
    out.print(grid if domains else "No domains yet: hoplink workspace domain add WORKSPACE HOST")
