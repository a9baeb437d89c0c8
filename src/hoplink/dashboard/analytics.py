"""Analytics pages for the workspace, a link, a campaign, a channel or a tag.

The page is a stats query object (``parse_stats_query``) run by ``run_stats`` on the
rollups. Ranges are read in the workspace's time zone. ``?partial=1`` answers only the
numbers (the fragment the page's script swaps in every few seconds); ``/analytics.csv``
exports exactly what the page shows, ``/analytics/orders.csv`` its orders panel (the API's
conversions CSV of the same query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from hoplink.analytics.conversion_csv import report_csv
from hoplink.analytics.conversions import ConversionReport, run_report
from hoplink.analytics.models import BREAKDOWNS, Granularity, ScopeKind, StatsScope
from hoplink.analytics.query import StatsQuery, parse_scope, parse_stats_query
from hoplink.analytics.service import StatsResult, run_stats
from hoplink.attachments import attachment, safe_name_part
from hoplink.dashboard.charts import NARROW, WIDE, series_svg
from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.conversions import MODEL_NAMES
from hoplink.dashboard.csvcells import csv_text
from hoplink.dashboard.i18n import N_, Formatter, translations
from hoplink.dashboard.pages import describe_error, locale_of, render, render_fragment
from hoplink.errors import InvalidInput
from hoplink.storage.tx import Tx

RANGES = ("24h", "7d", "30d", "custom")
HOURLY_UP_TO_DAYS = 31  # longer custom ranges are drawn per day
TOP = 10
# Shown in this order; bots get a section of their own, apart from people's traffic.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("countries", N_("Countries")),
    ("devices", N_("Devices")),
    ("os", N_("Operating systems")),
    ("browsers", N_("Browsers")),
    ("referrers", N_("Referrers")),
    ("channels", N_("Channels")),
    ("campaigns", N_("Campaigns")),
    ("utm_content", N_("Ad groups (utm_content)")),
    ("utm_term", N_("Ads (utm_term)")),
    ("languages", N_("Languages")),
    ("bots", N_("Bots and link previews")),
    ("rules", N_("Routing rules")),
    ("variants", N_("A/B test variants")),
)
SPECIAL_VALUES = {
    "(direct)": N_("Direct / none"),
    "(unknown)": N_("Unknown"),
    "(none)": N_("None"),
    "mobile": N_("Mobile"),
    "tablet": N_("Tablet"),
    "desktop": N_("Desktop"),
    "bot": N_("Bot"),
    "default": N_("Default destination"),
    "other": N_("Other"),
    "": N_("Unknown"),
}
assert {name for name, _ in SECTIONS} == set(BREAKDOWNS)


@dataclass(frozen=True, slots=True)
class Selection:
    """What the reader picked: scope, range and, for a custom range, the dates."""

    scope: str  # "workspace", "link:<id>", "campaign:<id>", "channel:<name>", "tag:<name>"
    range: str
    from_: str
    to: str

    @classmethod
    def of(cls, params: Any) -> Selection:
        scope = str(params.get("scope", "workspace"))[:100] or "workspace"
        chosen = str(params.get("range", "7d"))
        return cls(
            scope=scope,
            range=chosen if chosen in RANGES else "7d",
            from_=str(params.get("from", ""))[:40],
            to=str(params.get("to", ""))[:40],
        )

    def query_string(self) -> str:
        values = {"scope": self.scope, "range": self.range}
        if self.range == "custom":
            values |= {"from": self.from_, "to": self.to}
        return urlencode(values)

    def stats_scope(self) -> StatsScope:
        kind, _, ref = self.scope.partition(":")
        return parse_scope(kind, ref or None)

    def query(self, workspace_id: str, timezone: str, now: datetime) -> StatsQuery:
        scope = self.stats_scope()
        common: dict[str, Any] = {
            "workspace_id": workspace_id,
            "timezone": timezone,
            "scope": scope,
            "top": TOP,
            "metric": "human_pv",
            "now": now,
        }
        if self.range == "24h":
            end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            start = end - timedelta(hours=24)
            return parse_stats_query(
                **common, from_=start.isoformat(), to=end.isoformat(), granularity="hour"
            )
        if self.range in ("7d", "30d"):
            days = 7 if self.range == "7d" else 30
            today = now.astimezone(ZoneInfo(timezone)).date()
            start_day = today - timedelta(days=days - 1)
            return parse_stats_query(
                **common, from_=start_day.isoformat(), to=today.isoformat(), granularity="hour"
            )
        query = parse_stats_query(**common, from_=self.from_ or None, to=self.to or None)
        hourly = query.end_hour - query.start_hour <= HOURLY_UP_TO_DAYS * 24
        return parse_stats_query(
            **common,
            from_=self.from_ or None,
            to=self.to or None,
            granularity="hour" if hourly else "day",
        )


async def _scope_choices(tx: Tx, v: Viewer, selection: Selection) -> dict[str, Any]:
    ws = v.workspace.id
    choices: dict[str, Any] = {
        "campaigns": await tx.campaigns(ws).all(),
        "channels": v.workspace.channels,
        "tags": await tx.links(ws).tag_names(),
        "link": None,
    }
    kind, _, ref = selection.scope.partition(":")
    if kind == ScopeKind.LINK.value and ref:
        choices["link"] = await tx.links(ws).get(ref)
    return choices


def _chart(request: Request, result: StatsResult) -> Any:
    """The chart twice: drawn for a phone's width and for a wider screen (see charts)."""
    fmt = Formatter(locale_of(request))
    _ = translations(fmt.locale).gettext
    hourly = result.query.granularity is Granularity.HOUR
    return Markup("").join(
        series_svg(
            result.series,
            hour_label=fmt.clock,
            day_label=fmt.day,
            tip_label=fmt.hour if hourly else fmt.day,
            number=fmt.number,
            title=_("Page views and unique visitors"),
            names=(_("PV"), _("Bot PV"), _("UV")),
            hourly=hourly,
            layout=layout,
        )
        for layout in (NARROW, WIDE)
    )


def _value_label(request: Request, section: str, value: str, label: str | None) -> str:
    _ = translations(locale_of(request)).gettext
    if section == "campaigns" and label:
        return label
    if value in SPECIAL_VALUES:
        return _(SPECIAL_VALUES[value])
    if section == "countries":
        return Formatter(locale_of(request)).country(value)
    return value


def _body_context(
    request: Request, v: Viewer, selection: Selection, result: StatsResult
) -> dict[str, Any]:
    return {
        "viewer": v,
        "selection": selection,
        "result": result,
        "chart": _chart(request, result),
        "sections": SECTIONS,
        "value_label": lambda section, item: _value_label(request, section, item.value, item.label),
        "tz": result.query.tz,
        "updated_at": datetime.now(UTC),
        "model_names": MODEL_NAMES,
    }


async def _run(
    request: Request, *, conversions: bool = False, selection: Selection | None = None
) -> tuple[Viewer, Selection, StatsResult | InvalidInput, dict[str, Any]]:
    selection = selection or Selection.of(request.query_params)
    runtime = services(request).runtime
    async with runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        choices = await _scope_choices(tx, v, selection)
        try:
            query = selection.query(v.workspace.id, v.workspace.timezone, datetime.now(UTC))
            result: StatsResult | InvalidInput = await run_stats(tx, query)
            if conversions:
                # The conversions panel: the same query object, orders beside the clicks.
                choices["conv"] = await run_report(
                    tx, query, fx_max_age_days=runtime.settings.fx_max_age_days
                )
        except InvalidInput as exc:
            result = exc
    return v, selection, result, choices


def _range_error(request: Request, selection: Selection, error: InvalidInput) -> str | None:
    """What is wrong with a custom range, for the reader; None if the error is elsewhere."""
    if selection.range != "custom" or any(e.field not in ("from", "to") for e in error.errors):
        return None
    _ = translations(locale_of(request)).gettext
    if any(e.code == "after_to" for e in error.errors):
        return _(
            "The range is reversed: it starts on %(start)s, after its end on %(end)s. "
            "Pick an end date on or after the start date. Shown meanwhile: the last 7 days."
        ) % {"start": selection.from_, "end": selection.to}
    reasons = " ".join(describe_error(request, e) for e in error.errors)
    return _("The custom range cannot be used: %(reasons)s Shown meanwhile: the last 7 days.") % {
        "reasons": reasons
    }


async def analytics_page(request: Request) -> Response:
    v, selection, result, choices = await _run(request, conversions=True)
    shown = selection
    range_error = None
    if isinstance(result, InvalidInput):
        range_error = _range_error(request, selection, result)
        if range_error is not None:
            # Explain the range and keep the page useful: the last 7 days, the same scope;
            # the fields keep what the reader typed so it can be corrected.
            shown = Selection(scope=selection.scope, range="7d", from_="", to="")
            v, _shown, result, choices = await _run(request, conversions=True, selection=shown)
    conv = choices.pop("conv", None)
    if isinstance(result, InvalidInput):
        errors = [describe_error(request, e) for e in result.errors]
        return render(
            request,
            "analytics/page.html",
            viewer=v,
            selection=selection,
            shown=shown,
            ranges=RANGES,
            errors=errors,
            range_error=range_error,
            body=None,
            status_code=422,
            **choices,
        )
    body = render_fragment(
        request,
        "analytics/_body.html",
        conv=conv,
        **_body_context(request, v, shown, result),
    )
    if request.query_params.get("partial") == "1":
        return HTMLResponse(body)
    return render(
        request,
        "analytics/page.html",
        viewer=v,
        selection=selection,
        shown=shown,
        ranges=RANGES,
        errors=[],
        range_error=range_error,
        body=body,
        status_code=422 if range_error else 200,
        **choices,
    )


async def analytics_csv(request: Request) -> Response:
    v, _selection, result, _ = await _run(request)
    if isinstance(result, InvalidInput):
        raise result
    rows: list[tuple[object, ...]] = [
        ("section", "key", "label", "pv", "human_pv", "bot_pv", "uv", "share")
    ]
    for p in result.series:
        rows.append(("series", p.start.isoformat(), "", p.pv, p.human_pv, p.bot_pv, p.uv, ""))
    for name, _ in SECTIONS:
        for item in result.breakdowns.get(name, []):
            rows.append(
                (
                    name,
                    item.value,
                    item.label or "",
                    item.pv,
                    item.human_pv,
                    item.bot_pv,
                    item.uv,
                    item.share,
                )
            )
    t = result.totals
    rows.append(("totals", "", "", t.pv, t.human_pv, t.bot_pv, t.uv, ""))
    q = result.query
    safe = safe_name_part(q.scope.label)
    filename = f"hoplink-{v.workspace.slug}-{safe}-{q.start.date()}-{q.end.date()}.csv"
    return Response(
        "\ufeff" + csv_text(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(filename)},
    )


async def orders_csv(request: Request) -> Response:
    """The orders panel as the API's conversions CSV: the page's scope, range, granularity,
    attribution model and currency (the workspace's), its totals in the last row."""
    v, _selection, result, choices = await _run(request, conversions=True)
    if isinstance(result, InvalidInput):
        raise result
    report: ConversionReport = choices["conv"]
    q = report.query
    safe = safe_name_part(q.scope.label)
    last_day = (q.end - timedelta(microseconds=1)).date()  # the range's end is exclusive
    filename = f"hoplink-{v.workspace.slug}-orders-{safe}-{q.start.date()}-{last_day}.csv"
    return Response(
        "\ufeff" + report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(filename)},
    )
