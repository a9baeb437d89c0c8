"""Link pages: list (and its CSV), create with live preview, detail with QR, edit, archive,
delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from hoplink.dashboard import forms
from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.counts import link_totals
from hoplink.dashboard.csvcells import csv_line
from hoplink.dashboard.forms import PRESETS, errors_by_field, form_values, link_values, spec_from
from hoplink.dashboard.pages import describe_error, flash, gettext, render
from hoplink.dashboard.qr import qr_png, qr_svg
from hoplink.domains import domain_for
from hoplink.errors import FieldError, InvalidInput
from hoplink.links import service
from hoplink.links.models import LINK_SORTS, Link, LinkQuery
from hoplink.links.service import preview_link
from hoplink.links.urls import UTM_FIELDS
from hoplink.ratelimit import enforce, parse_limit
from hoplink.safety.policy import policy_from_settings
from hoplink.storage.tx import Tx

PER_PAGE_CHOICES = (25, 50, 100)
EXPORT_PAGE = 1000
ARCHIVED_CHOICES = {"active": False, "archived": True, "all": None}


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
    }
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
    )
    return query, shown


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
        totals = await link_totals(tx, v.workspace.id, links)
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
    "created_at",
)


async def export_links(request: Request) -> Response:
    """Every link matching the list's filters (not just the page), streamed."""
    runtime = services(request).runtime
    query, _ = list_query(request.query_params, per_page=EXPORT_PAGE)
    async with runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        names = {c.id: c.name for c in await tx.campaigns(v.workspace.id).all()}

    async def rows() -> AsyncIterator[str]:
        yield "\ufeff" + csv_line(_EXPORT_COLUMNS)  # BOM: Excel then reads UTF-8 (CJK) right
        page = 1
        while True:
            async with runtime.db.transaction(write=False) as tx:
                batch, _ = await tx.links(v.workspace.id).search(replace(query, page=page))
            for link in batch:
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
                        link.created_at.isoformat(),
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
    values = form_values({"preset": request.query_params.get("preset", "")})
    return render(request, "links/new.html", viewer=v, values=values, errors={}, **pickers)


async def create_link(request: Request) -> Response:
    runtime = services(request).runtime
    form = await request.form()
    values = form_values(form)
    if form.get("action") == "preview":  # the form's preview without JavaScript
        return await _preview_page(request, values)
    # Links created per client address, shared with the API (HOPLINK_RATE_LIMIT_CREATE_IP);
    # RateLimited becomes a 429 page with Retry-After, nothing created.
    await enforce(
        runtime.rate_limiter,
        parse_limit("create_ip", runtime.settings.rate_limit_create_ip),
        services(request).client_ip(request.scope),
        message="Too many links were created from your address",
    )
    errors: dict[str, list[FieldError]] | None = None
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        try:
            link = await service.create_link(
                tx,
                workspace=v.workspace,
                domain=await domain_for(tx, v.workspace, None),
                spec=spec_from(values),
                actor=v.actor,
                code_length=runtime.settings.code_length,
                require_verified=runtime.settings.require_verified_workspace,
                policy=policy_from_settings(runtime.settings),
            )
        except InvalidInput as exc:
            pickers = await _pickers(tx, v)
            errors = errors_by_field(exc)
    if errors is None:
        return RedirectResponse(f"{v.base}/links/{link.id}?created=1", status_code=303)
    return render(
        request,
        "links/new.html",
        viewer=v,
        values=values,
        errors=errors,
        status_code=422,
        **pickers,
    )


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
            policy=policy_from_settings(services(request).runtime.settings),
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
            policy=policy_from_settings(services(request).runtime.settings),
        )
    body: dict[str, Any] = {"final_url": None, "errors": {}, "values": values}
    if isinstance(result, InvalidInput):
        body["errors"] = {
            name: [describe_error(request, e) for e in errs]
            for name, errs in errors_by_field(result).items()
        }
    else:
        body["final_url"] = result
    return Response(orjson.dumps(body), media_type="application/json")


async def _link_page(request: Request, template: str, **extra: Any) -> Response:
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
    return render(
        request,
        template,
        viewer=v,
        link=link,
        history=history,
        totals=totals,
        members=members,
        campaign=campaign,
        short_url=_short(request, link),
        created=request.query_params.get("created") == "1",
        **pickers,
        **extra,
    )


async def link_detail(request: Request) -> Response:
    return await _link_page(request, "links/detail.html")


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
                changes=forms.changes_from(values),
                actor=v.actor,
                policy=policy_from_settings(services(request).runtime.settings),
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
            changes={"archived": archived},
            actor=v.actor,
            policy=policy_from_settings(services(request).runtime.settings),
        )
    flash(
        request,
        gettext(request, "Link archived.") if archived else gettext(request, "Link restored."),
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
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        link = await service.get_link(tx, workspace=v.workspace, link_id=request.path_params["id"])
    url = _short(request, link)
    headers = {}
    if request.query_params.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="qr-{link.code}.{kind}"'
    if kind == "svg":
        return Response(qr_svg(url), media_type="image/svg+xml", headers=headers)
    return Response(qr_png(url), media_type="image/png", headers=headers)
