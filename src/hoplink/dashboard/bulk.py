"""Bulk creation pages: the upload form, a job's progress and results, the result CSV."""

from __future__ import annotations

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.bulkcsv import COLUMNS, MAX_ROWS, UploadError, decode, parse
from hoplink.dashboard.bulkjobs import BulkJob
from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.csvcells import csv_line
from hoplink.dashboard.pages import gettext, render
from hoplink.errors import NotFound
from hoplink.ratelimit import enforce, parse_limit
from hoplink.workspaces.service import check_can_create_links

# Rows of created links shown on the page; all of them are in the CSV.
SHOWN_CREATED = 500
_MAX_UPLOAD = 12 * 1024 * 1024


async def _viewer(request: Request, *, edit: bool = False) -> Viewer:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
    if edit:
        v.require_edit()
    return v


def _form_page(
    request: Request, v: Viewer, *, text: str = "", error: str | None = None
) -> Response:
    return render(
        request,
        "bulk/new.html",
        viewer=v,
        text=text,
        error=error,
        columns=COLUMNS,
        max_rows=MAX_ROWS,
        jobs=services(request).jobs.recent(v.workspace.id),
        status_code=422 if error else 200,
    )


async def bulk_form(request: Request) -> Response:
    return _form_page(request, await _viewer(request, edit=True))


async def bulk_start(request: Request) -> Response:
    svc = services(request)
    v = await _viewer(request, edit=True)
    check_can_create_links(
        v.workspace, require_verified=svc.runtime.settings.require_verified_workspace
    )
    form = await request.form(max_files=1, max_fields=10, max_part_size=_MAX_UPLOAD)
    pasted = str(form.get("text", "") or "")
    upload = form.get("file")
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            text = decode(await upload.read(_MAX_UPLOAD + 1))
        else:
            text = pasted
        rows = parse(text)
    except UploadError as exc:
        return _form_page(request, v, text=pasted[:200_000], error=str(exc))
    finally:
        await form.close()
    if svc.jobs.busy():
        message = gettext(request, "Other uploads are still running; try again in a minute.")
        return _form_page(request, v, text=pasted[:200_000], error=message)
    # Each row counts against the address's creation limit, as in the API's bulk call.
    await enforce(
        svc.runtime.rate_limiter,
        parse_limit("create_ip", svc.runtime.settings.rate_limit_create_ip),
        svc.client_ip(request.scope),
        cost=len(rows),
        message="Too many links were created from your address",
    )
    job = svc.jobs.start(runtime=svc.runtime, workspace=v.workspace, actor=v.actor, rows=rows)
    return RedirectResponse(f"{v.base}/bulk/{job.id}", status_code=303)


def _job(request: Request, v: Viewer) -> BulkJob:
    job = services(request).jobs.get(request.path_params["job"], v.workspace.id)
    if job is None:
        raise NotFound("no such upload (uploads are kept for an hour)")
    return job


async def bulk_job(request: Request) -> Response:
    v = await _viewer(request)
    job = _job(request, v)
    failed = [r for r in job.results if r.link is None]
    created = [r for r in job.results if r.link is not None][:SHOWN_CREATED]
    return render(
        request, "bulk/job.html", viewer=v, job=job, failed_rows=failed, created_rows=created
    )


async def bulk_progress(request: Request) -> Response:
    v = await _viewer(request)
    return Response(orjson.dumps(_job(request, v).progress()), media_type="application/json")


async def bulk_results(request: Request) -> Response:
    v = await _viewer(request)
    job = _job(request, v)
    lines = [
        "\ufeff" + csv_line(("line", "url", "status", "short_url", "final_url", "field", "error"))
    ]
    for r in job.results:
        if r.link is not None:
            lines.append(
                csv_line((r.line, r.url, "created", r.short_url, r.link.final_url, "", ""))
            )
        for e in r.errors:
            lines.append(csv_line((r.line, r.url, "error", "", "", e.field, e.message)))
    return Response(
        "".join(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="hoplink-bulk-{job.id}.csv"'},
    )
