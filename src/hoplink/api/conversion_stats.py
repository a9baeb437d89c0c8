"""/api/v1/stats/conversions — orders, GMV, net GMV, commission, spend and ROAS
(``stats:read``), per link, campaign, channel, tag, ad group (utm_content) or utm_campaign,
by hour or local day, in the workspace's time zone and currency."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from hoplink.analytics.conversions import GROUPS, ConversionReport, run_report
from hoplink.analytics.models import StatsScope
from hoplink.analytics.query import parse_scope
from hoplink.api.deps import RuntimeDep
from hoplink.api.schemas import problem_responses
from hoplink.api.stats import Params, StatsRead
from hoplink.csvformula import neutralise_text
from hoplink.errors import FieldError, InvalidInput

router = APIRouter(prefix="/stats/conversions", tags=["stats"], responses=problem_responses(404))


class MetricsOut(BaseModel):
    clicks: int
    human_clicks: int
    uv: int
    orders: float = Field(description="Whole under last/first click; fractional under linear")
    conversion_rate: float | None = Field(description="orders / human UV")
    gmv: int = Field(description="Minor units of the report currency")
    net_gmv: int = Field(description="GMV minus refunds and cancellations")
    aov: int | None
    revenue_per_click: int | None = Field(description="GMV / human clicks")
    commission: int
    spend: int | None = Field(description="Imported ad spend; null when none applies")
    roas: float | None = Field(description="net GMV / spend")
    cpa: int | None = Field(description="spend / orders")


class GroupOut(MetricsOut):
    value: str
    label: str | None = None


class PointOut(BaseModel):
    t: str
    orders: float
    gmv: int
    net_gmv: int


class MissingRate(BaseModel):
    currency: str
    day: str


class ConversionReportOut(BaseModel):
    scope: dict[str, str | None]
    from_: str = Field(serialization_alias="from")
    to: str
    timezone: str
    currency: str
    model: str
    totals: MetricsOut
    series: list[PointOut]
    groups: dict[str, list[GroupOut]]
    missing_rates: list[MissingRate] = Field(
        description="Amounts in these currencies on these days had no exchange rate and are"
        " left out of the converted figures"
    )


def _out(r: ConversionReport) -> dict[str, Any]:
    q = r.query
    return {
        "scope": {"type": q.scope.kind.value, "id": q.scope.ref},
        "from": q.start.isoformat(),
        "to": q.end.isoformat(),
        "timezone": q.tz.key,
        "currency": r.currency,
        "model": r.model.value,
        "totals": r.totals.out(),
        "series": [
            {"t": t.isoformat(), **{k: m.out()[k] for k in ("orders", "gmv", "net_gmv")}}
            for t, m in r.series
        ],
        "groups": {
            g: [{"value": v, "label": lb, **m.out()} for v, lb, m in rows]
            for g, rows in r.groups.items()
        },
        "missing_rates": [{"currency": c, "day": d.isoformat()} for c, d in r.missing_rates],
    }


_CSV_COLUMNS = tuple(MetricsOut.model_fields)


def _csv(r: ConversionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if r.groups:
        name, rows = next(iter(r.groups.items()))
        writer.writerow((name, "label", *_CSV_COLUMNS))
        for v, lb, m in rows:
            values = m.out()
            # Campaign names and tags are typed by sellers: never a spreadsheet formula.
            cells = (neutralise_text(v), neutralise_text(lb))
            writer.writerow((*cells, *(values[c] for c in _CSV_COLUMNS)))
    else:
        writer.writerow(("time", "orders", "gmv", "net_gmv"))
        for t, m in r.series:
            values = m.out()
            writer.writerow((t.isoformat(), values["orders"], values["gmv"], values["net_gmv"]))
    return out.getvalue()


Model = Annotated[
    str | None,
    Query(max_length=16, description="last_click, first_click or linear (default: settings)"),
]
Group = Annotated[
    list[str],
    Query(
        description=f"Breakdowns to include, any of {', '.join(GROUPS)} (repeatable;"
        " one with format=csv)"
    ),
]


async def _report(
    scope: StatsScope, who: Any, runtime: RuntimeDep, p: Any, model: str | None, group: list[str]
) -> Response:
    if p.format == "csv" and len(set(group)) > 1:
        # The CSV's columns are one breakdown's: a second one has nowhere to go.
        raise InvalidInput(
            FieldError("group", "one_group_in_csv", "a CSV holds one group; ask once per group")
        )
    query = p.query(who, scope)
    async with runtime.db.transaction(write=False) as tx:
        report = await run_report(
            tx,
            query,
            model=model,
            groups=group,
            fx_max_age_days=runtime.settings.fx_max_age_days,
        )
    if p.format == "csv":
        return Response(
            _csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="hoplink-conversions.csv"'},
        )
    return Response(orjson.dumps(_out(report)), media_type="application/json")


_SUMMARY = "Orders, GMV, commission, spend and ROAS"


@router.get("/workspace", response_model=ConversionReportOut, summary=f"{_SUMMARY}: workspace")
async def workspace_report(
    who: StatsRead,
    runtime: RuntimeDep,
    p: Params,
    model: Model = None,
    group: Group = [],  # noqa: B006
) -> Response:
    return await _report(parse_scope("workspace"), who, runtime, p, model, group)


@router.get(
    "/{kind}/{ref}", response_model=ConversionReportOut, summary=f"{_SUMMARY}: links of a scope"
)
async def scoped_report(
    kind: Literal["link", "campaign", "channel", "tag"],
    ref: str,
    who: StatsRead,
    runtime: RuntimeDep,
    p: Params,
    model: Model = None,
    group: Group = [],  # noqa: B006
) -> Response:
    return await _report(parse_scope(kind, ref), who, runtime, p, model, group)
