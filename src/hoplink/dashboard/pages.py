"""Rendering: one Jinja2 environment per language, autoescaping everything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hoplink import __version__
from hoplink.dashboard import csrf, history
from hoplink.dashboard.forms import ERROR_HINTS, suggested_channel
from hoplink.dashboard.i18n import (
    LANG_COOKIE,
    LANGUAGE_NAMES,
    LOCALES,
    N_,
    Formatter,
    negotiate,
    translations,
)
from hoplink.errors import FieldError
from hoplink.workspaces.models import Role

TEMPLATES = Path(__file__).parent / "templates"


def describe(locale: str, error: FieldError) -> str:
    """An error for a reader: in English the service's message (it names the position,
    limit or value); otherwise the translated hint for its code, never English words."""
    if locale == "en":
        return error.message
    hint = ERROR_HINTS.get(error.code, ERROR_HINTS["invalid"])
    return translations(locale).gettext(hint)


def describe_error(request: Request, error: FieldError) -> str:
    return describe(locale_of(request), error)


ROLE_NAMES = {
    Role.OWNER: N_("Owner"),
    Role.ADMIN: N_("Admin"),
    Role.MEMBER: N_("Member"),
    Role.VIEWER: N_("Viewer"),
}


def _without_page(query: str) -> str:
    return urlencode([(k, v) for k, v in parse_qsl(query) if k != "page"])


def _from_timestamp(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        # Every template, whatever its name: values are text unless marked safe in Python.
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    fmt = Formatter(locale)
    env.filters.update(
        number=fmt.number,
        percent=fmt.percent,
        money=fmt.money,
        datetime=fmt.timestamp,
        date=fmt.date,
        country=fmt.country,
        field_error=lambda error: describe(locale, error),
        replace_page=_without_page,
        fromtimestamp=_from_timestamp,
        # scheduled | live | expired (issue 12), as of now
        state=lambda link: link.state(datetime.now(UTC)),
    )
    gettext = translations(locale).gettext
    env.globals.update(
        LOCALE=locale,
        HTML_LANG="zh-Hans" if locale == "zh_CN" else "en",
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        VERSION=__version__,
        fmt=fmt,
        role_name=lambda role: gettext(ROLE_NAMES[Role(role)]),
        suggested_channel=suggested_channel,
        # a link's change history: labels and values as the form shows them
        history_field=lambda field: history.field_label(field, gettext),
        history_value=lambda field, value, campaigns, tz: history.shown_value(
            field,
            value,
            gettext=gettext,
            campaigns={c.id: c.name for c in campaigns},
            timestamp=fmt.timestamp,
            tz=tz,
        ),
    )
    return env


_ENVIRONMENTS = {locale: _environment(locale) for locale in LOCALES}


def locale_of(request: Request) -> str:
    locale: str | None = getattr(request.state, "locale", None)
    if locale is None:
        locale = negotiate(
            request.headers.get("accept-language", ""), request.cookies.get(LANG_COOKIE)
        )
        request.state.locale = locale
    return locale


def gettext(request: Request, message: str, **params: Any) -> str:
    text = translations(locale_of(request)).gettext(message)
    return text % params if params else text


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A one-time message for the next page (already in the reader's language)."""
    request.session.setdefault("flash", []).append([kind, message])


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    locale = locale_of(request)
    env = _ENVIRONMENTS[locale]
    flashes = request.session.pop("flash", [])
    viewer = context.get("viewer")
    if viewer is not None:
        services = getattr(request.app.state, "services", None)
        context.setdefault(
            "require_verified",
            services is None or services.runtime.settings.require_verified_workspace,
        )
    if viewer is not None and "tz" not in context:
        context["tz"] = ZoneInfo(viewer.workspace.timezone)
    body = env.get_template(template).render(
        request=request,
        csrf_token=csrf.session_token(request.session),
        path=request.url.path,
        query=request.url.query,
        flashes=flashes,
        **context,
    )
    return HTMLResponse(body, status_code=status_code)


def render_fragment(request: Request, template: str, **context: Any) -> Markup:
    """A template as markup to embed in a page (the analytics body the script swaps in)."""
    env = _ENVIRONMENTS[locale_of(request)]
    html = env.get_template(template).render(request=request, **context)
    return Markup(html)  # noqa: S704 - the output of an autoescaping template
