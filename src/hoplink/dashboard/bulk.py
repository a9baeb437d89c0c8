"""Bulk creation pages: the upload form, a job's progress and results, the result CSV."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.bulkcsv import COLUMNS, MAX_ROWS, UploadError, decode, parse
from hoplink.dashboard.bulkjobs import BulkJob
from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.csvcells import csv_line
from hoplink.dashboard.limits import limit_message
from hoplink.dashboard.pages import describe, gettext, locale_of, render
from hoplink.errors import NotFound, RateLimited
from hoplink.ids import utcnow
from hoplink.ratelimit import parse_limit, refuse_if_spent
from hoplink.workspaces.quotas import check_quota, quota_from_settings
from hoplink.workspaces.service import check_can_create_links

# Rows of created links shown on the page; all of them are in the CSV.
SHOWN_CREATED = 500
_MAX_UPLOAD = 12 * 1024 * 1024
# Most characters of input shown again in the form after a refusal.
_KEPT_TEXT = 2_000_000


async def _viewer(request: Request, *, edit: bool = False) -> Viewer:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
    if edit:
        v.require_edit()
    return v


async def _form_page(
    request: Request,
    v: Viewer,
    *,
    text: str = "",
    error: str | None = None,
    status_code: int | None = None,
) -> Response:
    return render(
        request,
        "bulk/new.html",
        viewer=v,
        text=text,
        error=error,
        columns=COLUMNS,
        max_rows=MAX_ROWS,
        jobs=await services(request).jobs.recent(services(request).runtime, v.workspace.id),
        status_code=status_code or (422 if error else 200),
    )


async def bulk_form(request: Request) -> Response:
    return await _form_page(request, await _viewer(request, edit=True))


async def bulk_start(request: Request) -> Response:
    svc = services(request)
    v = await _viewer(request, edit=True)
    check_can_create_links(v.workspace, require_verified=svc.runtime.link_rules.require_verified)
    form = await request.form(max_files=1, max_fields=10, max_part_size=_MAX_UPLOAD)
    pasted = str(form.get("text", "") or "")
    upload = form.get("file")
    from_file = isinstance(upload, UploadFile) and bool(upload.filename)
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            text = decode(await upload.read(_MAX_UPLOAD + 1))
        else:
            text = pasted
        rows = parse(text)
    except UploadError as exc:
        message = gettext(request, exc.template, **exc.params)
        return await _form_page(request, v, text=pasted[:_KEPT_TEXT], error=message)
    finally:
        await form.close()

    async def refused(message: str, status: int) -> Response:
        """The form again with what was sent: a browser cannot be given a file back, so an
        upload's rows go into the text box when they fit, or the reader is told to re-choose."""
        if from_file and len(text) <= _KEPT_TEXT:
            message += " " + gettext(request, "Your file's rows are in the box below.")
        elif from_file:
            message += " " + gettext(request, "Choose the file again when you retry.")
        kept = text if len(text) <= _KEPT_TEXT else pasted[:_KEPT_TEXT]
        return await _form_page(request, v, text=kept, error=message, status_code=status)

    if svc.jobs.busy():
        message = gettext(request, "Other uploads are still running; try again in a minute.")
        return await refused(message, 503)
    # An address whose creations keep being refused is stopped here (as in the API); the
    # rows that will be created must fit the workspace's quota.
    create_ip = parse_limit("create_ip", svc.runtime.settings.rate_limit_create_ip)
    ip = svc.client_ip(request.scope)
    try:
        await refuse_if_spent(svc.runtime.rate_limiter, create_ip, ip, message="refused")
        async with svc.runtime.db.transaction(write=False) as tx:
            await check_quota(
                tx,
                workspace=v.workspace,
                defaults=quota_from_settings(svc.runtime.settings),
                wanted=len(rows),
                now=utcnow(),
            )
    except RateLimited as exc:
        response = await refused(limit_message(request, exc, ZoneInfo(v.workspace.timezone)), 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    job = await svc.jobs.start(
        runtime=svc.runtime, workspace=v.workspace, actor=v.actor, rows=rows, ip=ip
    )
    return RedirectResponse(f"{v.base}/bulk/{job.id}", status_code=303)


async def bulk_template(request: Request) -> Response:
    """A CSV with every column and one example row, to fill in with a spreadsheet."""
    await _viewer(request)
    example = {
        "url": "https://shop.example.com/item/1005006",
        "utm_campaign": "spring_sale",
        "channel": "tiktok",
        "tags": "shoes|q2",
        "title": "Running shoes",
    }
    body = "\ufeff" + csv_line(COLUMNS) + csv_line(example.get(c, "") for c in COLUMNS)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hoplink-bulk-template.csv"'},
    )


async def _job(request: Request, v: Viewer, *, with_results: bool = True) -> BulkJob:
    svc = services(request)
    job = await svc.jobs.load(
        svc.runtime, request.path_params["job"], v.workspace.id, with_results=with_results
    )
    if job is None:
        raise NotFound("no such upload (results are kept for 24 hours)")
    return job


async def bulk_job(request: Request) -> Response:
    v = await _viewer(request)
    job = await _job(request, v)
    failed = [r for r in job.results if r.link_id is None]
    created = [r for r in job.results if r.link_id is not None][:SHOWN_CREATED]
    return render(
        request, "bulk/job.html", viewer=v, job=job, failed_rows=failed, created_rows=created
    )


async def bulk_progress(request: Request) -> Response:
    v = await _viewer(request)
    job = await _job(request, v, with_results=False)
    return Response(orjson.dumps(job.progress()), media_type="application/json")


async def bulk_results(request: Request) -> Response:
    v = await _viewer(request)
    job = await _job(request, v)
    locale = locale_of(request)
    lines = [
        "\ufeff" + csv_line(("line", "url", "status", "short_url", "final_url", "field", "error"))
    ]
    for r in job.results:
        if r.link_id is not None:
            lines.append(csv_line((r.line, r.url, "created", r.short_url, r.final_url, "", "")))
        for e in r.errors:
            # The reader's language, like the page (column names and status stay keys).
            lines.append(csv_line((r.line, r.url, "error", "", "", e.field, describe(locale, e))))
    if job.state != "running":
        await services(request).jobs.downloaded(services(request).runtime, job)
    return Response(
        "".join(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="hoplink-bulk-{job.id}.csv"'},
    )
