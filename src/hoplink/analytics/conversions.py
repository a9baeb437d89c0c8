"""Conversion reports: orders, GMV, net GMV, commission, spend and ROAS per group.

A report reads the same validated ``StatsQuery`` as the click stats (range, scope, time
zone, granularity) plus an attribution model. Orders come weighted per model (last-click
and first-click credit one touch, linear splits an order evenly over its touches); amounts
are converted into the workspace currency with each order's UTC-day rate; commission is
the net GMV times the rate of the link's campaign override, else its highest tag override,
else the workspace rate. Definitions (docs/attribution.md):

    conversion rate = orders / human UV          AOV  = GMV / orders
    revenue per click = GMV / human clicks       ROAS = net GMV / spend
    CPA = spend / orders                         net GMV = GMV - refunds and cancels
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from hoplink.analytics.models import NONE_VALUE, ScopeKind, Totals
from hoplink.analytics.query import StatsQuery
from hoplink.conversions.models import Model, Settings
from hoplink.conversions.money import convert, convert_by, factor
from hoplink.conversions.rates import Converter
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.storage.conversion_reports import ConversionReader, LinkInfo, OrderSums, RateRepo
from hoplink.storage.tx import Tx

GROUPS = ("link", "campaign", "channel", "tag", "ad_group", "utm_campaign")
UNATTRIBUTED = "(unattributed)"


@dataclass
class Metrics:
    clicks: int = 0
    human_clicks: int = 0
    uv: int = 0
    orders: float = 0.0
    gmv: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    spend: int | None = None

    def add_spend(self, amount: int) -> None:
        self.spend = (self.spend or 0) + amount

    def out(self) -> dict[str, object]:
        gmv, net = _round(self.gmv), _round(self.gmv - self.refunded)
        orders = round(self.orders, 4) if self.orders % 1 else int(self.orders)
        return {
            "clicks": self.clicks,
            "human_clicks": self.human_clicks,
            "uv": self.uv,
            "orders": orders,
            "conversion_rate": _ratio(self.orders, self.uv),
            "gmv": gmv,
            "net_gmv": net,
            "aov": _money(gmv, self.orders),
            "revenue_per_click": _money(gmv, self.human_clicks),
            "commission": _round(self.commission),
            "spend": self.spend,
            "roas": _ratio(net, self.spend),
            "cpa": _money(self.spend, self.orders) if self.spend is not None else None,
        }


def _round(d: Decimal) -> int:
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _ratio(a: float | int, b: float | int | None) -> float | None:
    return round(a / b, 4) if b else None


def _money(a: int | None, b: float | int) -> int | None:
    if a is None or not b:
        return None
    return _round(Decimal(a) / Decimal(str(b)))


@dataclass
class ConversionReport:
    query: StatsQuery
    model: Model
    currency: str
    totals: Metrics
    series: list[tuple[datetime, Metrics]]
    groups: dict[str, list[tuple[str, str | None, Metrics]]] = field(default_factory=dict)
    missing_rates: list[tuple[str, date]] = field(default_factory=list)


def parse_model(value: str | None, default: Model) -> Model:
    if value is None:
        return default
    try:
        return Model(value)
    except ValueError:
        raise InvalidInput(
            FieldError("model", "invalid", "use last_click, first_click or linear")
        ) from None


def parse_groups(values: Iterable[str]) -> list[str]:
    groups = []
    for v in values:
        if v not in GROUPS:
            raise InvalidInput(FieldError("group", "invalid", f"use one of {', '.join(GROUPS)}"))
        groups.append(v)
    return groups


def commission_bp(
    link: LinkInfo | None, settings: Settings, rules: dict[tuple[str, str], int]
) -> int:
    if link is not None:
        if link.campaign_id and ("campaign", link.campaign_id) in rules:
            return rules[("campaign", link.campaign_id)]
        tag_rates = [rules[("tag", tag)] for tag in link.tags if ("tag", tag) in rules]
        if tag_rates:
            return max(tag_rates)
    return settings.commission_bp


def _keys(group: str, link: LinkInfo | None) -> list[tuple[str, str | None]]:
    """The (value, label) pairs of ``group`` a link's orders count towards."""
    if link is None:
        return [(UNATTRIBUTED, None)]
    if group == "link":
        return [(link.id, link.code)]
    if group == "campaign":
        return [(link.campaign_id or NONE_VALUE, link.campaign_name)]
    if group == "channel":
        return [(link.channel or NONE_VALUE, None)]
    if group == "tag":
        return [(tag, None) for tag in link.tags] or [(NONE_VALUE, None)]
    if group == "ad_group":
        return [(link.utm_content or NONE_VALUE, None)]
    return [(link.utm_campaign or NONE_VALUE, None)]


async def run_report(
    tx: Tx,
    query: StatsQuery,
    *,
    model: str | None = None,
    groups: Iterable[str] = (),
    fx_max_age_days: int = 7,
) -> ConversionReport:
    reader = ConversionReader(tx.conn, query.workspace_id)
    scope = query.scope
    if not await reader.stats.scope_exists(scope):
        raise NotFound("no such link, campaign or tag in this workspace")
    repo = tx.conversions(query.workspace_id)
    settings = await repo.settings()
    chosen = parse_model(model, settings.model)
    wanted = parse_groups(groups)
    rules = {(r.kind, r.ref): r.rate_bp for r in await repo.rules()}
    start, end = query.start_hour, query.end_hour
    first_day = datetime.fromtimestamp(start * 3600, UTC).date()
    last_day = datetime.fromtimestamp((end - 1) * 3600, UTC).date()
    rates = await RateRepo(tx.conn).between(first_day - timedelta(days=fx_max_age_days), last_day)
    fx = Converter(rates, settings.currency, max_age_days=fx_max_age_days)

    by_day = await reader.order_sums(
        scope, chosen, start, end, hourly=False, whole_range_in=settings.currency
    )
    hourly = await reader.order_sums(scope, chosen, start, end, hourly=True, per_link=False)
    clicks = await reader.clicks_per_link(scope, start, end)
    links = await reader.links([s.link_id for s in by_day if s.link_id] + list(clicks))

    totals = Metrics()
    table: dict[str, dict[str, tuple[str | None, Metrics]]] = {g: {} for g in wanted}

    def bucket(g: str, key: str, label: str | None) -> Metrics:
        found = table[g].get(key)
        if found is None:
            found = table[g][key] = (label, Metrics())
        return found[1]

    epoch = date(1970, 1, 1).toordinal()
    # Each (link, day, currency) converted at its day's rate, summed per link in minor units
    # of the workspace currency; then per link, once, into the groups its orders count
    # towards, with its commission rate (commission is linear in net GMV). A 30-day report
    # over 1 M orders reads ~20,000 rows: per row only a rate look-up and two conversions.
    per_link: dict[str | None, list[float]] = {}
    sums_of: dict[str | None, list[int]] = {}
    factors: dict[tuple[str, int], Decimal | None] = {}
    for s in by_day:
        count = per_link.get(s.link_id)
        if count is None:
            count = per_link[s.link_id] = [0.0]
            sums_of[s.link_id] = [0, 0]
        count[0] += s.orders
        money = sums_of[s.link_id]
        gmv, refunded = round(s.gmv), round(s.refunded)
        if s.currency == settings.currency:
            money[0] += gmv
            money[1] += refunded
            continue
        key = (s.currency, s.bucket)
        if key not in factors:
            rate = fx.rate(s.currency, date.fromordinal(epoch + s.bucket))
            factors[key] = None if rate is None else factor(s.currency, settings.currency, rate)
        by = factors[key]
        if by is not None:
            money[0] += convert_by(gmv, by)
            money[1] += convert_by(refunded, by) if refunded else 0
    for link_id, (orders,) in per_link.items():
        link = links.get(link_id) if link_id else None
        targets = [totals] + [bucket(g, k, lb) for g in wanted for k, lb in _keys(g, link)]
        gmv_d, refunded_d = (Decimal(v) for v in sums_of[link_id])
        commission = (gmv_d - refunded_d) * commission_bp(link, settings, rules) / 10_000
        for m in targets:
            m.orders += orders
            m.gmv += gmv_d
            m.refunded += refunded_d
            m.commission += commission
    if scope.kind is ScopeKind.WORKSPACE:
        workspace_clicks = await reader.stats.totals(scope, start, end)
    else:
        workspace_clicks = Totals(
            pv=sum(c.pv for c in clicks.values()),
            human_pv=sum(c.human_pv for c in clicks.values()),
            uv=sum(c.uv for c in clicks.values()),
        )
    totals.clicks, totals.human_clicks = workspace_clicks.pv, workspace_clicks.human_pv
    totals.uv = workspace_clicks.uv
    for link_id, c in clicks.items():
        link = links.get(link_id)
        if link is None:
            continue
        for g in wanted:
            for k, lb in _keys(g, link):
                m = bucket(g, k, lb)
                m.clicks += c.pv
                m.human_clicks += c.human_pv
                m.uv += c.uv

    await _spend(reader, query, fx, settings, totals, table, links, wanted)
    series = _series(query, hourly, fx, settings)
    return ConversionReport(
        query=query,
        model=chosen,
        currency=settings.currency,
        totals=totals,
        series=series,
        groups={
            g: sorted(
                ((k, lb, m) for k, (lb, m) in rows.items()),
                key=lambda r: (-r[2].gmv, -r[2].clicks, r[0]),
            )
            for g, rows in table.items()
        },
        missing_rates=sorted(fx.missing),
    )


async def _spend(
    reader: ConversionReader,
    query: StatsQuery,
    fx: Converter,
    settings: Settings,
    totals: Metrics,
    table: dict[str, dict[str, tuple[str | None, Metrics]]],
    links: dict[str, LinkInfo],
    wanted: list[str],
) -> None:
    """Spend per day and campaign/ad group, linked by utm_campaign / utm_content: to the
    totals (workspace and campaign scopes), utm_campaign, ad_group and campaign groups."""
    scope = query.scope
    start, end = _spend_days(query)
    campaign_of: dict[str, tuple[str, str | None]] = {}
    for link in links.values():
        if link.utm_campaign and link.campaign_id:
            campaign_of.setdefault(link.utm_campaign, (link.campaign_id, link.campaign_name))
        if link.campaign_id and link.campaign_name:
            campaign_of.setdefault(link.campaign_name, (link.campaign_id, link.campaign_name))
    in_scope_campaigns = {link.utm_campaign for link in links.values() if link.utm_campaign} | {
        link.campaign_name for link in links.values() if link.campaign_name
    }
    counts_total = scope.kind is ScopeKind.WORKSPACE
    if scope.kind is ScopeKind.CAMPAIGN:
        counts_total = True
    for day, campaign, ad_group, currency, amount in await reader.spend(start, end):
        rate = fx.rate(currency, day)
        if rate is None:
            continue
        value = convert(amount, currency, settings.currency, rate)
        if counts_total and (scope.kind is ScopeKind.WORKSPACE or campaign in in_scope_campaigns):
            totals.add_spend(value)
        for g in wanted:
            if g == "utm_campaign" and campaign in table[g]:
                table[g][campaign][1].add_spend(value)
            elif g == "ad_group" and ad_group and ad_group in table[g]:
                table[g][ad_group][1].add_spend(value)
            elif g == "campaign" and campaign in campaign_of:
                cid, _ = campaign_of[campaign]
                if cid in table[g]:
                    table[g][cid][1].add_spend(value)


def _spend_days(query: StatsQuery) -> tuple[date, date]:
    """The spend days a report counts, ``[start, end)``. An ad platform's daily spend is a
    day of the seller's calendar (the workspace's time zone), counted in the range its
    first hour starts in, as the orders of a UTC hour count on the local day it starts: a
    one-day report has that day's spend only, and adjacent ranges never share a day."""
    tz = query.tz

    def first_hour(d: date) -> int:
        return math.ceil(datetime.combine(d, time(0), tzinfo=tz).timestamp() / 3600)

    day = datetime.fromtimestamp(query.start_hour * 3600, tz).date() - timedelta(days=1)
    while first_hour(day) < query.start_hour:
        day += timedelta(days=1)
    start = day
    while first_hour(day) < query.end_hour:
        day += timedelta(days=1)
    return start, day


def _series(
    query: StatsQuery, rows: list[OrderSums], fx: Converter, settings: Settings
) -> list[tuple[datetime, Metrics]]:
    """Zero-filled points in the workspace's time zone (hours, or local days)."""
    tz = query.tz
    by_day = query.granularity.value == "day"
    # Keyed by the local day or the UTC hour, not by the local time: aware datetimes of one
    # zone compare as wall-clock times, so the hour that repeats when clocks go back would
    # merge with the one before it.
    points: dict[date | int, tuple[datetime, Metrics]] = {}

    def key(h: int) -> date | int:
        return query.local_day(h) if by_day else h

    for h in range(query.start_hour, query.end_hour):
        k = key(h)
        if k not in points:
            at = (
                datetime.combine(query.local_day(h), time(0), tzinfo=tz)
                if by_day
                else datetime.fromtimestamp(h * 3600, tz)
            )
            points[k] = (at, Metrics())
    for s in rows:
        found = points.get(key(s.bucket))
        if found is None:
            continue
        m = found[1]
        m.orders += s.orders
        rate = fx.rate(s.currency, datetime.fromtimestamp(s.bucket * 3600, UTC).date())
        if rate is not None:
            m.gmv += Decimal(convert(round(s.gmv), s.currency, settings.currency, rate))
            m.refunded += Decimal(convert(round(s.refunded), s.currency, settings.currency, rate))
    return list(points.values())
