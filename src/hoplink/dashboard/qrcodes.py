"""QR codes on the dashboard: a link's QR image with the chosen options, and the logo a
workspace puts in the middle of its codes (Settings → QR code logo, owners and admins)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.context import load_viewer, services
from hoplink.dashboard.pages import flash, gettext
from hoplink.dashboard.qr import (
    LOGO_MAX_BYTES,
    QrOptions,
    normalize_logo,
    parse_options,
    qr_png,
    qr_svg,
)
from hoplink.dashboard.settings import render_settings
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.ids import utcnow
from hoplink.links import service
from hoplink.links.models import Link
from hoplink.storage.tx import Tx

NO_LOGO = FieldError(
    "logo", "no_logo", "this workspace has no QR code logo: upload one in Settings"
)


async def _logo(tx: Tx, workspace_id: str) -> bytes | None:
    stored = await tx.qr_logo(workspace_id).get()
    return None if stored is None else base64.b64decode(stored)


async def qr_context(tx: Tx, request: Request, workspace_id: str, link: Link) -> dict[str, Any]:
    """What the link page's QR form shows: the options asked for (or the defaults, with
    the errors), whether the workspace has a logo, and the query string of the images."""
    has_logo = await tx.qr_logo(workspace_id).get() is not None
    errors: list[FieldError] = []
    try:
        options = parse_options(request.query_params)
        if options.logo and not has_logo:
            raise InvalidInput(NO_LOGO)
    except InvalidInput as exc:
        errors = exc.errors
        options = QrOptions()
    return {
        "qr": options,
        "qr_query": urlencode(options.query()),
        "qr_errors": {e.field: e for e in errors},
        "has_logo": has_logo,
    }


async def qr_image(request: Request, *, kind: str, short_url: Any) -> Response:
    """``qr.svg`` / ``qr.png`` of a link; a bad option is a 422 naming it."""
    options = parse_options(request.query_params)
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        link = await service.get_link(tx, workspace=v.workspace, link_id=request.path_params["id"])
        logo = await _logo(tx, v.workspace.id) if options.logo else None
    if options.logo and logo is None:
        raise InvalidInput(NO_LOGO)
    url = short_url(request, link)
    headers = {"Cache-Control": "private, no-cache"}
    if request.query_params.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="qr-{link.code}.{kind}"'
    if kind == "svg":
        return Response(qr_svg(url, options, logo), media_type="image/svg+xml", headers=headers)
    return Response(qr_png(url, options, logo), media_type="image/png", headers=headers)


async def _manager(request: Request) -> Any:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
    v.require_manage()
    return v


async def upload_logo(request: Request) -> Response:
    v = await _manager(request)
    form = await request.form(max_files=1, max_fields=4, max_part_size=LOGO_MAX_BYTES + 1024)
    try:
        upload = form.get("logo")
        data = b""
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(LOGO_MAX_BYTES + 1)
    finally:
        await form.close()
    try:
        png = normalize_logo(data)
    except InvalidInput as exc:
        return await render_settings(request, v, logo_errors=exc.errors, status_code=422)
    async with services(request).runtime.db.transaction() as tx:
        await tx.qr_logo(v.workspace.id).put(
            png_base64=base64.b64encode(png).decode("ascii"), uploaded_by=v.actor, at=utcnow()
        )
    flash(request, gettext(request, "The QR code logo was saved."))
    return RedirectResponse(f"{v.base}/settings#qr-logo", status_code=303)


async def remove_logo(request: Request) -> Response:
    v = await _manager(request)
    async with services(request).runtime.db.transaction() as tx:
        await tx.qr_logo(v.workspace.id).remove()
    flash(request, gettext(request, "The QR code logo was removed."))
    return RedirectResponse(f"{v.base}/settings#qr-logo", status_code=303)


async def logo_png(request: Request) -> Response:
    """The stored logo (our own PNG), for the Settings preview."""
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        logo = await _logo(tx, v.workspace.id)
    if logo is None:
        raise NotFound("this workspace has no QR code logo")
    return Response(logo, media_type="image/png", headers={"Cache-Control": "private, no-cache"})
