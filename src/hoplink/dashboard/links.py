"""Link pages: list (and its CSV), create with live preview, detail with QR, edit, archive,
delete."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from hoplink.dashboard import forms, linktools
from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.counts import link_totals, link_totals_since
from hoplink.dashboard.csvcells import csv_line
from hoplink.dashboard.forms import (
    PRESETS,
    errors_by_field,
    form_values,
    link_values,
    spec_from,
    suggested_channel,
)
from hoplink.dashboard.health import link_health_section
from hoplink.dashboard.limits import limit_message
from hoplink.dashboard.pages import describe_error, flash, gettext, render
from hoplink.dashboard.qrcodes import qr_context, qr_image
from hoplink.domains import domain_for
from hoplink.errors import FieldError, InvalidInput, RateLimited
from hoplink.links import service
from hoplink.links.models import LINK_SORTS, Link, LinkQuery
from hoplink.links.service import preview_link
from hoplink.links.spec import LinkEdit
from hoplink.links.urls import UTM_FIELDS
from hoplink.ratelimit import charge, parse_limit, refuse_if_spent
from hoplink.storage.tx import Tx
from hoplink.workspaces.quotas import quota_from_settings

PER_PAGE_CHOICES = (25, 50, 100)
EXPORT_PAGE = 1000
ARCHIVED_CHOICES = {"active": False, "archived": True, "all": None}
# The span the click columns (and the count sorts) read, in days; None: all time.
RANGE_CHOICES: dict[str, int | None] = {"all": None, "24h": 1, "7d": 7, "30d": 30}
DEFAULT_SHOWN = {
    "q": "",
    "tag": "",
    "channel": "",
    "campaign": "",
    "archived": "active",
    "sort": "-created",
    "range": "all",
}


def _int(value: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return min(hi, max(lo, int(value or default)))
    except ValueError:
        return default


def list_query(params: Any, *, per_page: int | None = None) -> tuple[LinkQuery, dict[str, str]]:
    """The list's filters from the query string; anything odd falls back to the default."""
    shown = {
        "q": str(params.get("q", ""))[:200].strip(),
        "tag": str(params.get("tag", ""))[:64],
        "channel": str(params.get("channel", ""))[:32],
        "campaign": str(params.get("campaign", ""))[:32],
        "archived": str(params.get("archived", "active")),
        "sort": str(params.get("sort", "-created")),
        "range": str(params.get("range", "all")),
    }
    if shown["range"] not in RANGE_CHOICES:
        shown["range"] = "all"
    if shown["archived"] not in ARCHIVED_CHOICES:
        shown["archived"] = "active"
    if shown["sort"] not in LINK_SORTS:
        shown["sort"] = "-created"
    size = per_page or _int(params.get("per_page"), 50, 1, 100)
    if per_page is None and size not in PER_PAGE_CHOICES:
        size = 50
    shown["per_page"] = str(size)
    query = LinkQuery(
        text=shown["q"] or None,
        tag=shown["tag"] or None,
        channel=shown["channel"] or None,
        campaign_id=shown["campaign"] or None,
        archived=ARCHIVED_CHOICES[shown["archived"]],
        sort=shown["sort"],
        page=_int(params.get("page"), 1, 1, 1_000_000),
        per_page=size,
        clicks_from_hour=_range_start(shown["range"]),
        clicks_to_hour=int(time.time() // 3600) + 2,  # a node whose clock runs ahead
    )
    return query, shown


def _range_start(name: str) -> int:
    days = RANGE_CHOICES[name]
    return 0 if days is None else int(time.time() // 3600) - days * 24


async def _totals(tx: Tx, v: Viewer, links: list[Link], shown: dict[str, str]) -> dict[str, Any]:
    if shown["range"] == "all":
        return await link_totals(tx, v.workspace.id, links)
    return await link_totals_since(tx, v.workspace.id, links, _range_start(shown["range"]))


async def _pickers(tx: Tx, v: Viewer) -> dict[str, Any]:
    return {
        "campaigns": await tx.campaigns(v.workspace.id).all(),
        "channels": v.workspace.channels,
        "presets": PRESETS,
    }


def _short(request: Request, link: Link) -> str:
    return services(request).runtime.short_url(link.domain, link.code)


async def list_links(request: Request) -> Response:
    query, shown = list_query(request.query_params)
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        repo = tx.links(v.workspace.id)
        links, total = await repo.search(query)
        totals = await _totals(tx, v, links, shown)
        tags = await repo.tag_counts()
        pickers = await _pickers(tx, v)
    pages = max(1, -(-total // query.per_page))
    return render(
        request,
        "links/list.html",
        viewer=v,
        links=links,
        total=total,
        totals=totals,
        tags=tags,
        shown=shown,
        page=query.page,
        pages=pages,
        short_urls={link.id: _short(request, link) for link in links},
        campaign_names={c.id: c.name for c in pickers["campaigns"]},
        sorts=LINK_SORTS,
        per_page_choices=PER_PAGE_CHOICES,
        ranges=tuple(RANGE_CHOICES),
        filtered=any(shown[k] != value for k, value in DEFAULT_SHOWN.items()),
        **pickers,
    )


_EXPORT_COLUMNS = (
    "short_url",
    "code",
    "destination_url",
    "final_url",
    *UTM_FIELDS,
    "channel",
    "campaign",
    "tags",
    "title",
    "archived",
    "disabled",
    "created_at",
    # In the list's click span ("range"; all time by default).
    "clicks",
    "human_clicks",
    "bot_clicks",
    "visitors",
)


async def export_links(request: Request) -> Response:
    """Every link matching the list's filters (not just the page), streamed."""
    runtime = services(request).runtime
    query, shown = list_query(request.query_params, per_page=EXPORT_PAGE)
    async with runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        names = {c.id: c.name for c in await tx.campaigns(v.workspace.id).all()}

    async def rows() -> AsyncIterator[str]:
        yield "\ufeff" + csv_line(_EXPORT_COLUMNS)  # BOM: Excel then reads UTF-8 (CJK) right
        page = 1
        while True:
            async with runtime.db.transaction(write=False) as tx:
                batch, _ = await tx.links(v.workspace.id).search(replace(query, page=page))
                counts = await _totals(tx, v, batch, shown)
            for link in batch:
                c = counts[link.id]
                yield csv_line(
                    (
                        runtime.short_url(link.domain, link.code),
                        link.code,
                        link.destination_url,
                        link.final_url,
                        *(link.utm.get(name) or "" for name in UTM_FIELDS),
                        link.channel or "",
                        names.get(link.campaign_id or "", ""),
                        ", ".join(link.tags),
                        link.title or "",
                        "yes" if link.archived else "no",
                        "yes" if link.disabled else "no",
                        link.created_at.isoformat(),
                        c.pv,
                        c.human_pv,
                        c.bot_pv,
                        c.uv,
                    )
                )
            if len(batch) < EXPORT_PAGE:
                return
            page += 1

    filename = f"hoplink-{v.workspace.slug}-links.csv"
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def new_link(request: Request) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        pickers = await _pickers(tx, v)
        domain = await domain_for(tx, v.workspace, None)
    values = form_values({"preset": request.query_params.get("preset", "")})
    if domain.forward_query:  # the default domain's default, shown so it can be changed
        values["forward_query"] = "on"
    return render(request, "links/new.html", viewer=v, values=values, errors={}, **pickers)


async def create_link(request: Request) -> Response:
    runtime = services(request).runtime
    form = await request.form()
    values = form_values(form)
    if form.get("action") == "preview":  # the form's preview without JavaScript
        return await _preview_page(request, values)
    # Refused creations per client address, shared with the API
    # (HOPLINK_RATE_LIMIT_CREATE_IP); created links count against the workspace's quota.
    create_ip = parse_limit("create_ip", runtime.settings.rate_limit_create_ip)
    ip = services(request).client_ip(request.scope)
    errors: dict[str, list[FieldError]] | None = None
    refused: RateLimited | None = None
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        try:
            await refuse_if_spent(runtime.rate_limiter, create_ip, ip, message="refused")
            link = await service.create_link(
                tx,
                workspace=v.workspace,
                domain=await domain_for(tx, v.workspace, None),
                spec=spec_from(values),
                actor=v.actor,
                rules=runtime.link_rules,
                quota=quota_from_settings(runtime.settings),
            )
        except InvalidInput as exc:
            errors = errors_by_field(exc)
        except RateLimited as exc:  # the form stays as typed, with why and when to retry
            errors, refused = {}, exc
        if errors is not None:
            pickers = await _pickers(tx, v)
    if errors is None:
        return RedirectResponse(f"{v.base}/links/{link.id}?created=1", status_code=303)
    if refused is None:
        await charge(runtime.rate_limiter, create_ip, ip, 1)
    response = render(
        request,
        "links/new.html",
        viewer=v,
        values=values,
        errors=errors,
        page_error=limit_message(request, refused, ZoneInfo(v.workspace.timezone))
        if refused
        else None,
        status_code=422 if refused is None else 429,
        **pickers,
    )
    if refused is not None:
        response.headers["Retry-After"] = str(refused.retry_after)
    return response


async def _preview_page(request: Request, values: dict[str, str]) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        domain = await domain_for(tx, v.workspace, None)
        result = await preview_link(
            tx,
            workspace=v.workspace,
            domain=domain,
            spec=spec_from(values),
            policy=services(request).runtime.link_rules.policy,
        )
        pickers = await _pickers(tx, v)
    errors = errors_by_field(result) if isinstance(result, InvalidInput) else {}
    return render(
        request,
        "links/new.html",
        viewer=v,
        values=values,
        errors=errors,
        preview_url=None if isinstance(result, InvalidInput) else result,
        **pickers,
    )


async def preview(request: Request) -> Response:
    """JSON for the form's script: ``{"final_url": …, "errors": {field: [message]}}``."""
    values = form_values(await request.form())
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        domain = await domain_for(tx, v.workspace, None)
        spec = spec_from(values)
        if request.query_params.get("edit"):  # an edit keeps its code: nothing to check
            spec = replace(spec, code=None)
        result = await preview_link(
            tx,
            workspace=v.workspace,
            domain=domain,
            spec=spec,
            policy=services(request).runtime.link_rules.policy,
        )
    body: dict[str, Any] = {"final_url": None, "errors": {}, "values": values}
    body["channel_hint"] = suggested_channel(values, v.workspace.channels)
    if isinstance(result, InvalidInput):
        body["errors"] = {
            name: [describe_error(request, e) for e in errs]
            for name, errs in errors_by_field(result).items()
        }
    else:
        body["final_url"] = result
    return Response(orjson.dumps(body), media_type="application/json")


async def link_page(
    request: Request, *, status_code: int = 200, tools: dict[str, Any] | None = None
) -> Response:
    """The link's page; ``tools``: a refused campaign-tools form (dashboard/linktools.py)."""
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        link = await service.get_link(tx, workspace=v.workspace, link_id=request.path_params["id"])
        history = await tx.links(v.workspace.id).history(link.id)
        totals = (await link_totals(tx, v.workspace.id, [link]))[link.id]
        members = {
            f"user:{uid}": email for uid, email, _ in await tx.workspaces.members(v.workspace.id)
        }
        campaign = (
            await tx.campaigns(v.workspace.id).get(link.campaign_id) if link.campaign_id else None
        )
        pickers = await _pickers(tx, v)
        qr = await qr_context(tx, request, v.workspace.id, link)
        campaign_tools = await linktools.page_context(tx, request, v, link, **(tools or {}))
        health = await link_health_section(tx, v.workspace, link.id)
        public_since = await tx.public_stats.since(workspace_id=v.workspace.id, link_id=link.id)
    return render(
        request,
        "links/detail.html",
        status_code=status_code,
        **qr,
        viewer=v,
        link=link,
        public_since=public_since,
        history=history,
        **health,
        totals=totals,
        members=members,
        campaign=campaign,
        short_url=_short(request, link),
        created=request.query_params.get("created") == "1",
        **pickers,
        **campaign_tools,
    )


async def link_detail(request: Request) -> Response:
    return await link_page(request)


async def edit_form(request: Request) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link = await service.get_link(tx, workspace=v.workspace, link_id=request.path_params["id"])
        service.check_not_banned(link)  # read-only while banned
        pickers = await _pickers(tx, v)
        history = await tx.links(v.workspace.id).history(link.id)
    return render(
        request,
        "links/edit.html",
        viewer=v,
        link=link,
        values=link_values(link),
        errors={},
        history=history,
        **pickers,
    )


async def update(request: Request) -> Response:
    values = form_values(await request.form())
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        link = await service.get_link(tx, workspace=v.workspace, link_id=link_id)
        try:
            saved = await service.update_link(
                tx,
                workspace=v.workspace,
                link_id=link_id,
                edit=forms.edit_from(values),
                actor=v.actor,
                policy=services(request).runtime.link_rules.policy,
            )
        except InvalidInput as exc:
            saved = None
            errors = errors_by_field(exc)
            pickers = await _pickers(tx, v)
            history = await tx.links(v.workspace.id).history(link_id)
    if saved is not None:
        flash(request, gettext(request, "Link saved."))
        return RedirectResponse(f"{v.base}/links/{link_id}", status_code=303)
    values["code"] = link.code
    return render(
        request,
        "links/edit.html",
        viewer=v,
        link=link,
        values=values,
        errors=errors,
        history=history,
        status_code=422,
        **pickers,
    )


async def archive(request: Request) -> Response:
    form = await request.form()
    archived = form.get("archived") == "1"
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        await service.update_link(
            tx,
            workspace=v.workspace,
            link_id=link_id,
            edit=LinkEdit(archived=archived),
            actor=v.actor,
            policy=services(request).runtime.link_rules.policy,
        )
    flash(
        request,
        gettext(
            request, "Link archived. It is hidden from the list and reports and still redirects."
        )
        if archived
        else gettext(request, "Link restored."),
    )
    return RedirectResponse(f"{v.base}/links/{link_id}", status_code=303)


async def disable_form(request: Request) -> Response:
    """Turning a link off breaks whatever ad carries it, so it is confirmed first."""
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link = await service.get_link(tx, workspace=v.workspace, link_id=request.path_params["id"])
        service.check_not_banned(link)
    return render(
        request, "links/disable.html", viewer=v, link=link, short_url=_short(request, link)
    )


async def disable(request: Request) -> Response:
    form = await request.form()
    disabled = form.get("disabled", "1") == "1"
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        await service.update_link(
            tx,
            workspace=v.workspace,
            link_id=link_id,
            edit=LinkEdit(disabled=disabled),
            actor=v.actor,
            policy=services(request).runtime.link_rules.policy,
        )
    flash(
        request,
        gettext(request, "Link turned off. Visitors now see a “link turned off” page.")
        if disabled
        else gettext(request, "Link turned back on. It redirects again."),
    )
    return RedirectResponse(f"{v.base}/links/{link_id}", status_code=303)


async def delete_form(request: Request) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link = await service.get_link(tx, workspace=v.workspace, link_id=request.path_params["id"])
        service.check_not_banned(link)  # read-only while banned
    return render(
        request, "links/delete.html", viewer=v, link=link, short_url=_short(request, link)
    )


async def delete(request: Request) -> Response:
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        await service.delete_link(tx, workspace=v.workspace, link_id=request.path_params["id"])
    flash(request, gettext(request, "Link deleted. Its short URL no longer redirects."))
    return RedirectResponse(f"{v.base}/links", status_code=303)


async def qr(request: Request, *, kind: str) -> Response:
    return await qr_image(request, kind=kind, short_url=_short)
