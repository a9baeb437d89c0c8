"""The import page: a file from another shortener, a dry run first, then the real run."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from hoplink.dashboard.bulk import _viewer
from hoplink.dashboard.bulkcsv import UploadError, decode
from hoplink.dashboard.context import Viewer, services
from hoplink.dashboard.i18n import N_
from hoplink.dashboard.pages import describe, gettext, locale_of, render
from hoplink.errors import FieldError, InvalidInput
from hoplink.imports import formats
from hoplink.imports.models import Action, ImportReport, RowOutcome, Source
from hoplink.imports.runner import run_import
from hoplink.imports.service import mapping_csv

_MAX_UPLOAD = 32 * 1024 * 1024
SHOWN_ROWS = 500
# Kutt is imported through its API (API and CLI); the page takes exported files.
SOURCES = (
    (Source.BITLY.value, N_("Bitly (CSV export)")),
    (Source.SHLINK.value, N_("Shlink (CSV export)")),
    (Source.YOURLS.value, N_("YOURLS (MySQL dump of yourls_url)")),
    (Source.CSV.value, N_("Any CSV with a url column")),
)
ACTIONS = {
    Action.CREATE: N_("New code"),
    Action.KEEP_CODE: N_("Code kept"),
    Action.UNCHANGED: N_("Already imported"),
    Action.DUPLICATE: N_("Duplicate row"),
    Action.CODE_TAKEN: N_("Code taken"),
    Action.REFUSED: N_("Refused"),
}


def _reason(locale: str, row: RowOutcome) -> str:
    """The row's reason for this reader: the service's English words, or the translated
    words for its code (the action column already says what a row without one is)."""
    if locale == "en":
        return row.reason or ""
    if row.reason_code is None:
        return ""
    return describe(locale, FieldError("", row.reason_code, row.reason or ""))


def _page(
    request: Request,
    v: Viewer,
    *,
    source: str = "bitly",
    domain: str = "",
    error: str | None = None,
    report: ImportReport | None = None,
) -> Response:
    rows = report.rows[:SHOWN_ROWS] if report else []
    return render(
        request,
        "imports/page.html",
        reasons=[_reason(locale_of(request), r) for r in rows],
        viewer=v,
        sources=SOURCES,
        source=source,
        domain=domain,
        error=error,
        report=report,
        counts=report.counts() if report else {},
        rows=rows,
        actions=ACTIONS,
        mapping=mapping_csv(report) if report else "",
        status_code=422 if error else 200,
    )


async def import_form(request: Request) -> Response:
    return _page(request, await _viewer(request, edit=True))


async def import_run(request: Request) -> Response:
    svc = services(request)
    v = await _viewer(request, edit=True)
    form = await request.form(max_files=1, max_fields=10, max_part_size=_MAX_UPLOAD)
    try:
        source_name = str(form.get("source", "") or "")
        domain = str(form.get("domain", "") or "").strip()[:253]
        dry_run = form.get("apply") != "1"
        upload = form.get("file")
        if source_name not in {value for value, _ in SOURCES}:
            return _page(request, v, error=gettext(request, "Choose where the file comes from."))
        text = str(form.get("text", "") or "")
        if isinstance(upload, UploadFile) and upload.filename:
            try:
                data = await upload.read(_MAX_UPLOAD + 1)
                if len(data) > _MAX_UPLOAD:
                    raise UploadError(gettext(request, "The file is larger than 32 MB."))
                text = decode(data)
            except UploadError as exc:
                return _page(request, v, source=source_name, domain=domain, error=str(exc))
        if not text.strip():
            message = gettext(request, "Choose the exported file.")
            return _page(request, v, source=source_name, domain=domain, error=message)
    finally:
        await form.close()
    source = Source(source_name)
    try:
        links = formats.read(source, text, domain=domain or None)
    except InvalidInput as exc:  # the old short domain is no host name; an unreadable CSV
        error = exc.errors[0]
        message = describe(locale_of(request), error)
        if error.field == "domain":
            message = gettext(request, "The old short domain: %(reason)s", reason=message)
        return _page(request, v, source=source_name, domain=domain, error=message)
    report = await run_import(
        svc.runtime,
        workspace=v.workspace,
        source=source,
        links=links,
        actor=v.actor,
        dry_run=dry_run,
    )
    return _page(request, v, source=source_name, domain=domain, report=report)
