"""Running a stats query: scope check → rollup reads → series and ranked breakdowns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from hoplink.analytics.models import (
    BREAKDOWNS,
    DIMENSIONS,
    LINK_GROUPS,
    BreakdownItem,
    Granularity,
    GroupRow,
    HourRow,
    Metric,
    Point,
    ScopeKind,
    Totals,
)
from hoplink.analytics.query import StatsQuery
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.storage.stats import StatsReader
from hoplink.storage.tx import Tx

MAX_BREAKDOWN_ROWS = 1000
_NOT_FOUND = {
    ScopeKind.LINK: "no link with this id",
    ScopeKind.CAMPAIGN: "no campaign with this id",
    ScopeKind.TAG: "no tag with this name",
}


@dataclass(frozen=True, slots=True)
class StatsResult:
    query: StatsQuery
    totals: Totals
    series: list[Point]
    breakdowns: dict[str, list[BreakdownItem]] = field(default_factory=dict)


async def _reader(tx: Tx, query: StatsQuery) -> StatsReader:
    reader = StatsReader(tx.conn, query.workspace_id)
    # A foreign id gets exactly the answer a missing one gets.
    if not await reader.scope_exists(query.scope):
        raise NotFound(_NOT_FOUND[query.scope.kind])
    return reader


async def run_stats(
    tx: Tx, query: StatsQuery, *, breakdowns: Sequence[str] = BREAKDOWNS
) -> StatsResult:
    reader = await _reader(tx, query)
    start, end, scope = query.start_hour, query.end_hour, query.scope
    totals = await reader.totals(scope, start, end)
    series = build_series(query, await reader.hours(scope, start, end))
    rows: list[GroupRow] = []
    # The workspace rollups hold channel and campaign as dimensions (as of each click);
    # link-level scopes group their links by their current channel and campaign.
    per_link = scope.kind is not ScopeKind.WORKSPACE
    wants_groups = any(name in LINK_GROUPS for name in breakdowns)
    if any(name in DIMENSIONS for name in breakdowns) or (wants_groups and not per_link):
        rows += await reader.dimensions(scope, start, end)
    if wants_groups and per_link:
        rows += await reader.link_groups(scope, start, end)
    ranked = {name: rank(_rows_of(rows, name), query.metric, query.top) for name in breakdowns}
    return StatsResult(query=query, totals=totals, series=series, breakdowns=ranked)


async def run_breakdown(tx: Tx, query: StatsQuery, name: str) -> list[BreakdownItem]:
    """Every value of one breakdown (up to 1,000), for CSV export."""
    if name not in BREAKDOWNS:
        raise InvalidInput(
            FieldError("breakdown", "invalid", f"use one of {', '.join(BREAKDOWNS)}")
        )
    reader = await _reader(tx, query)
    start, end = query.start_hour, query.end_hour
    if name in LINK_GROUPS and query.scope.kind is not ScopeKind.WORKSPACE:
        rows = _rows_of(await reader.link_groups(query.scope, start, end), name)
    else:
        rows = _rows_of(await reader.dimensions(query.scope, start, end), name)
    return rank(rows, query.metric, MAX_BREAKDOWN_ROWS)


def _rows_of(rows: Iterable[GroupRow], name: str) -> list[GroupRow]:
    group = DIMENSIONS.get(name) or LINK_GROUPS[name]
    return [r for r in rows if r.group == group]


def rank(rows: Sequence[GroupRow], metric: Metric, top: int) -> list[BreakdownItem]:
    """The ``top`` values by ``metric``, with their share of the metric's total."""
    if rows and all(r.human_pv == 0 for r in rows) and metric is not Metric.PV:
        metric = Metric.PV  # the bots breakdown has no human traffic to rank by
    total = sum(getattr(r, metric.value) for r in rows)
    ordered = sorted(rows, key=lambda r: (-getattr(r, metric.value), -r.pv, r.value))
    return [
        BreakdownItem(
            value=r.value,
            label=r.label,
            pv=r.pv,
            human_pv=r.human_pv,
            uv=r.uv,
            share=round(getattr(r, metric.value) / total, 4) if total else 0.0,
        )
        for r in ordered[:top]
    ]


def build_series(query: StatsQuery, rows: Sequence[HourRow]) -> list[Point]:
    """Zero-filled points. Hours: UV is distinct visitors in the hour. Days (local, only
    those asked for: ``StatsQuery.local_day``): UV is the visitors first seen that UTC day
    within the local day's hours (see analytics.md)."""
    by_hour = {r.hour: r for r in rows}
    tz = query.tz
    if query.granularity is Granularity.HOUR:
        points = []
        for h in range(query.start_hour, query.end_hour):
            r = by_hour.get(h)
            start = datetime.fromtimestamp(h * 3600, tz)
            if r is None:
                points.append(Point(start, 0, 0, 0))
            else:
                points.append(Point(start, r.pv, r.human_pv, r.uv_hour))
        return points
    days: dict[date, list[int]] = {}
    for h in range(query.start_hour, query.end_hour):
        sums = days.setdefault(query.local_day(h), [0, 0, 0])
        r = by_hour.get(h)
        if r is not None:
            sums[0] += r.pv
            sums[1] += r.human_pv
            sums[2] += r.uv_day
    return [
        Point(datetime.combine(d, time(0), tzinfo=tz), pv, hp, uv)
        for d, (pv, hp, uv) in days.items()
    ]
