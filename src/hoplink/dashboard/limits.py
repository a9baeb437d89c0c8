"""What a reader is told when a limit refuses them: in their language, what was refused,
and when to retry. The pages that hit a limit show this on the same page, above the form
as it was filled in, instead of an error page that loses the input."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from starlette.requests import Request

from hoplink.dashboard.i18n import Formatter
from hoplink.dashboard.pages import gettext, locale_of
from hoplink.errors import RateLimited
from hoplink.workspaces.quotas import QuotaExceeded


def limit_message(request: Request, exc: RateLimited, tz: ZoneInfo | None = None) -> str:
    if isinstance(exc, QuotaExceeded):
        when = Formatter(locale_of(request)).timestamp(exc.resets_at, tz)
        params = {
            "limit": f"{exc.limit:,}",
            "used": f"{exc.used:,}",
            "wanted": f"{exc.wanted:,}",
            "time": when,
        }
        if exc.period == "day":
            return gettext(
                request,
                "Nothing was created: this workspace may create %(limit)s links a day and has"
                " created %(used)s today, so %(wanted)s more would pass the limit."
                " Try again after %(time)s, or ask the platform operator for a higher quota.",
                **params,
            )
        return gettext(
            request,
            "Nothing was created: this workspace may create %(limit)s links a month and has"
            " created %(used)s this month, so %(wanted)s more would pass the limit."
            " Try again after %(time)s, or ask the platform operator for a higher quota.",
            **params,
        )
    return gettext(
        request,
        "Too many requests came from your address, so this one was refused and nothing was"
        " changed. Try again in %(seconds)s seconds.",
        seconds=exc.retry_after,
    )
