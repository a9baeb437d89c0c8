"""``hoplink link``: create, list and set options of a workspace's short links."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.domains import domain_for
from hoplink.errors import WorkspaceSuspended
from hoplink.links.models import Link, LinkQuery
from hoplink.links.service import create_link, update_link
from hoplink.links.spec import LinkEdit, LinkSpec
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import find_workspace

app = typer.Typer(help="Create and list short links.", no_args_is_help=True)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]


def _utm_option(name: str, example: str) -> Any:
    return typer.Option(
        f"--utm-{name}", help=f"utm_{name}, e.g. {example}. Encoded for you.", show_default=False
    )


async def _create(
    settings: Settings, ref: str, domain: str | None, spec: LinkSpec
) -> tuple[Link, str]:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        if ws.status is WorkspaceStatus.SUSPENDED:
            raise WorkspaceSuspended(f"workspace {ws.slug} is suspended; verify it first")
        link = await create_link(
            tx,
            workspace=ws,
            domain=await domain_for(tx, ws, domain),
            spec=spec,
            actor="cli",
            rules=rt.link_rules,
        )
        return link, rt.short_url(link.domain, link.code)


@app.command()
def create(
    url: Annotated[
        str,
        typer.Argument(metavar="URL", help="The destination, e.g. a product page (http/https)."),
    ],
    workspace: WorkspaceOpt,
    utm_source: Annotated[str | None, _utm_option("source", "facebook")] = None,
    utm_medium: Annotated[str | None, _utm_option("medium", "social")] = None,
    utm_campaign: Annotated[str | None, _utm_option("campaign", '"双11 大促"')] = None,
    utm_term: Annotated[str | None, _utm_option("term", "sneakers")] = None,
    utm_content: Annotated[str | None, _utm_option("content", "video-a")] = None,
    channel: Annotated[
        str | None,
        typer.Option(
            help="Where the link is shared: facebook, tiktok, instagram, google, email, kol,"
            " other, or one of the workspace's own channels.",
            show_default=False,
        ),
    ] = None,
    campaign_id: Annotated[
        str | None,
        typer.Option(help="Id of one of the workspace's campaigns (cmp_...).", show_default=False),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(help="A tag to group links by; repeat for more.", show_default=False),
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="A title to recognise the link by.", show_default=False)
    ] = None,
    code: Annotated[
        str | None,
        typer.Option(help="Your own short code instead of a random one.", show_default=False),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(
            help="Short-link domain, if the workspace has its own. Default: the platform's.",
            show_default=False,
        ),
    ] = None,
    pass_ad_click_ids: Annotated[
        bool,
        typer.Option(help="Pass ad click ids (fbclid, gclid, ttclid, ...) on to the URL."),
    ] = False,
) -> None:
    """Create a short link and print it with the final URL visitors are sent to.

    Example:
    $ hoplink link create "https://shop.example.com/item/1005006?sku=red" -w my-store \\
        --utm-source facebook --utm-medium social --utm-campaign "双11 大促" \\
        --channel facebook --tag summer
    """
    settings = _common.settings()
    spec = LinkSpec(
        url=url,
        utm={
            "utm_source": utm_source,
            "utm_medium": utm_medium,
            "utm_campaign": utm_campaign,
            "utm_term": utm_term,
            "utm_content": utm_content,
        },
        channel=channel,
        campaign_id=campaign_id,
        tags=tag or (),
        title=title,
        code=code,
        pass_ad_click_ids=pass_ad_click_ids,
    )
    link, short_url = _common.run(_create(settings, workspace, domain, spec))
    out.print(f"short URL  {short_url}", markup=False, soft_wrap=True)
    out.print(f"final URL  {link.final_url}", markup=False, soft_wrap=True)


async def _update(settings: Settings, ref: str, link_id: str, edit: LinkEdit) -> Link:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        return await update_link(
            tx, workspace=ws, link_id=link_id, edit=edit, actor="cli",
            policy=rt.link_rules.policy,
        )  # fmt: skip


@app.command("set")
def set_(
    link_id: Annotated[str, typer.Argument(metavar="LINK_ID", help="The link's id (lnk_...).")],
    workspace: WorkspaceOpt,
    pass_ad_click_ids: Annotated[
        bool | None,
        typer.Option(
            help="Pass ad click ids (fbclid, gclid, ttclid, ...) on to the URL, or stop.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Change a link's options (web nodes see the change within the redirect cache TTL).

    Example:
    $ hoplink link set lnk_8Hq2... -w my-store --pass-ad-click-ids
    """
    if pass_ad_click_ids is None:
        raise typer.BadParameter("nothing to change; give an option such as --pass-ad-click-ids")
    edit = LinkEdit(pass_ad_click_ids=pass_ad_click_ids)
    link = _common.run(_update(_common.settings(), workspace, link_id, edit))
    out.print(f"pass ad click ids  {'on' if link.pass_ad_click_ids else 'off'}", markup=False)


async def _search(settings: Settings, ref: str, query: LinkQuery) -> tuple[list[Link], int, str]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        ws = await find_workspace(tx, ref)
        links, total = await tx.links(ws.id).search(query)
        return links, total, ws.slug


@app.command("list")
def list_(
    workspace: WorkspaceOpt,
    tag: Annotated[
        str | None, typer.Option(help="Only links with this tag.", show_default=False)
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help="Only links for this channel.", show_default=False)
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            help="Only links whose code, title, destination or notes contain this text.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(help="Show at most this many links, newest first.", min=1, max=1000)
    ] = 50,
) -> None:
    """List a workspace's links, newest first (archived links are left out).

    Times are UTC.

    Example:
    $ hoplink link list -w my-store --channel tiktok --search sneakers --limit 20
    """
    settings = _common.settings()
    query = LinkQuery(
        text=search or None,
        tag=tag or None,
        channel=channel.strip().lower() if channel else None,
        per_page=limit,
    )
    links, total, slug = _common.run(_search(settings, workspace, query))
    if not links:
        filtered = tag or channel or search
        out.print(f"No links in {slug} {'match' if filtered else 'yet'}.", markup=False)
        return
    table = _common.table(
        "short URL", "title", "destination", "channel", "tags", "created", whole={"short URL"}
    )
    for link in links:
        table.add_row(
            settings.short_url(link.domain, link.code),
            Text(link.title or "-"),
            Text(link.destination_url),
            link.channel or "-",
            Text(", ".join(link.tags) or "-"),
            _common.when(link.created_at),
        )
    out.print(table)
    if total > len(links):
        out.print(f"{len(links)} of {total} links; raise --limit or narrow the search.")
