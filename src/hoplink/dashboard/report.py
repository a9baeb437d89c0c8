"""The public report form: anyone can report a short link, no account needed.

``/report`` (a reserved code, so no short link hides it) redirects to ``/app/report``:
the form lives under the dashboard's cookie path, where its session (an anonymous one
carries the CSRF token) is sent back, and gets the dashboard's security headers (CSP
without 'unsafe-inline', frame-ancestors 'none') and CSRF check. Each POST counts
against ``HOPLINK_REPORT_RATE_LIMIT`` per client address, valid or not, so the form
cannot be used to probe codes quickly either.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.clicks.salts import visitor_hash
from hoplink.dashboard.context import services
from hoplink.dashboard.forms import errors_by_field
from hoplink.dashboard.i18n import N_
from hoplink.dashboard.pages import gettext, render
from hoplink.errors import InvalidInput
from hoplink.moderation import reports
from hoplink.moderation.models import REPORT_CATEGORIES
from hoplink.ratelimit import parse_limit, retry_after_seconds

PUBLIC_PATH = "/report"
PATH = "/app/report"
FIELDS = ("link", "category", "message", "contact_email")
CATEGORY_NAMES = {
    "phishing": N_("Phishing: it asks for passwords, payment or personal data"),
    "malware": N_("Malware or an unwanted download"),
    "scam": N_("Scam or fraud"),
    "counterfeit": N_("Counterfeit goods"),
    "spam": N_("Spam"),
    "illegal": N_("Illegal content"),
    "other": N_("Something else"),
}


def _page(
    request: Request,
    values: dict[str, str],
    *,
    errors: dict[str, object] | None = None,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "report.html",
        values=values,
        errors=errors or {},
        error=error,
        categories=[(c, gettext(request, CATEGORY_NAMES[c])) for c in REPORT_CATEGORIES],
        max_message=reports.MAX_MESSAGE,
        status_code=status_code,
    )


async def to_form(request: Request) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{PATH}{query}", status_code=303)


async def report_form(request: Request) -> Response:
    values = dict.fromkeys(FIELDS, "")
    values["link"] = request.query_params.get("link", "")[: reports.MAX_LINK]
    return _page(request, values)


async def submit(request: Request) -> Response:
    svc = services(request)
    runtime = svc.runtime
    form = await request.form(max_files=0, max_fields=10)
    values = {name: str(form.get(name, "") or "") for name in FIELDS}
    address = svc.client_ip(request.scope) or "unknown"
    limit = parse_limit("report", runtime.settings.report_rate_limit)
    if limit is not None:
        wait = await runtime.rate_limiter.hit(limit, address)
        if wait > 0:
            seconds = retry_after_seconds(wait)
            response = _page(
                request,
                values,
                status_code=429,
                error=gettext(
                    request,
                    "Too many reports from your network. Try again in %(seconds)s seconds.",
                    seconds=seconds,
                ),
            )
            response.headers["Retry-After"] = str(seconds)
            return response
    now = time.time()
    key = await runtime.salts.key_at(now)
    reporter = visitor_hash(key, "report", address, "")
    try:
        async with runtime.db.transaction() as tx:
            await reports.submit_report(
                tx,
                link=values["link"],
                category=values["category"],
                message=values["message"],
                contact_email=values["contact_email"],
                reporter_hash=reporter,
                default_host=runtime.default_domain.hostname,
            )
    except InvalidInput as exc:
        return _page(request, values, errors=dict(errors_by_field(exc)), status_code=422)
    return render(request, "report_sent.html")
