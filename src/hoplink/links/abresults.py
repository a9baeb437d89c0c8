"""The results of a link's A/B test, per variant: traffic, orders, conversion rate, GMV, and
each challenger against the control (hoplink.links.abstats).

Traffic comes from the rollups since the test's start day; orders are the conversions
(issue 10) whose attributed click — the order's last touch — is a human click of the
variant, placed since the test started. Definitions (docs/campaigns.md):

    conversions     = distinct human clicks of the variant that led to an order
    conversion rate = conversions / human clicks        (what the z-test compares)
    GMV, net GMV    = the orders' amounts (net: less refunds and cancels), in the
                      workspace currency at each order's UTC-day rate, as the reports do

An order in a currency without a rate counts as an order, not in GMV (``missing_rates``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from hoplink.conversions.attribution import CLOCK_SKEW
from hoplink.conversions.money import convert
from hoplink.conversions.rates import Converter
from hoplink.ids import utcnow
from hoplink.links.abstats import Comparison, compare
from hoplink.links.abtest import AbTest, Variant
from hoplink.storage.conversion_reports import RateRepo
from hoplink.storage.experiments import variant_counts, variant_orders
from hoplink.storage.tx import Tx

_EPOCH = date(1970, 1, 1).toordinal()


@dataclass
class VariantResult:
    variant: Variant
    clicks: int = 0
    human_clicks: int = 0
    human_visitors: int = 0
    orders: int = 0
    conversions: int = 0
    gmv: int = 0  # minor units of the workspace currency
    net_gmv: int = 0
    # Against the control (None for the control itself).
    comparison: Comparison | None = None

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.human_clicks if self.human_clicks else None


@dataclass
class AbResults:
    test: AbTest
    currency: str
    variants: list[VariantResult]
    missing_rates: list[tuple[str, date]] = field(default_factory=list)


async def ab_results(
    tx: Tx, *, workspace_id: str, link_id: str, test: AbTest, fx_max_age_days: int = 7
) -> AbResults:
    ids = [v.id for v in test.variants]
    counts = await variant_counts(
        tx.conn,
        workspace_id=workspace_id,
        link_id=link_id,
        variants=ids,
        from_day=int(test.started_at.timestamp()) // 86400,
    )
    # Every order attributed to a variant's click: a click may be stamped up to CLOCK_SKEW
    # after its order, so an order may predate the test by that much (the bound only lets
    # the query use the orders' time index).
    sums, converted = await variant_orders(
        tx.conn,
        workspace_id=workspace_id,
        link_id=link_id,
        variants=ids,
        since=test.started_at - CLOCK_SKEW,
    )
    settings = await tx.conversions(workspace_id).settings()
    first = test.started_at.date() - timedelta(days=fx_max_age_days)
    rates = await RateRepo(tx.conn).between(first, utcnow().date())
    fx = Converter(rates, settings.currency, max_age_days=fx_max_age_days)
    results = {v.id: VariantResult(v) for v in test.variants}
    for v_id, (pv, human, uv) in counts.items():
        r = results[v_id]
        r.clicks, r.human_clicks, r.human_visitors = pv, human, uv
    for s in sums:
        r = results[s.variant]
        r.orders += s.orders
        rate = fx.rate(s.currency, date.fromordinal(_EPOCH + s.day))
        if rate is not None:
            gmv = convert(s.amount, s.currency, settings.currency, rate)
            r.gmv += gmv
            r.net_gmv += gmv - convert(s.refunded, s.currency, settings.currency, rate)
    for v_id, n in converted.items():
        results[v_id].conversions = n
    ordered = [results[i] for i in ids]
    control = ordered[0]
    for r in ordered[1:]:
        # Conversions are distinct human clicks, so never more than the human clicks; the
        # clamp only guards against raw clicks purged by retention while rollups remain.
        r.comparison = compare(
            min(control.conversions, control.human_clicks),
            control.human_clicks,
            min(r.conversions, r.human_clicks),
            r.human_clicks,
        )
    return AbResults(test, settings.currency, ordered, sorted(fx.missing))
