"""Ad spend exports → rows of (day, campaign, ad group, currency, spend in minor units).

Accepted columns (the first matching header wins; names are compared case-insensitively):

========== ======================================= ===================================
format     day / campaign / ad group               spend / currency / impressions / clicks
========== ======================================= ===================================
meta       Day (or Reporting starts) / Campaign    Amount spent (XXX) — the currency
           name / Ad set name                      is the code in the header, or the
                                                   Currency column / Impressions /
                                                   Link clicks
tiktok     Date (or By Day, Stat time day) /       Cost (or Total cost, Spend) /
           Campaign name / Ad group name           Currency / Impressions / Clicks
                                                   (destination) or Clicks
google     Day / Campaign / Ad group               Cost / Currency code / Impr. or
                                                   Impressions / Clicks
generic    date / campaign / ad_group              spend / currency / impressions /
                                                   clicks
========== ======================================= ===================================

Google Ads puts a title and a date-range line above the header; lines before the header
row are skipped in every format. Spend is in major units ("1,234.56"); the campaign name is
matched to links' ``utm_campaign`` and the ad group (ad set) name to their ``utm_content``.
Totals rows ("Total: …", an empty day) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from hoplink import csvtext
from hoplink.conversions.money import CURRENCIES, MAX_AMOUNT, exponent
from hoplink.errors import FieldError, InvalidInput
from hoplink.ids import utcnow
from hoplink.storage.spend import SpendRepo
from hoplink.storage.tx import Tx

FORMATS = ("meta", "tiktok", "google", "generic")
MAX_ROWS = 50_000

_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "meta": {
        "day": ("day", "reporting starts", "date"),
        "campaign": ("campaign name",),
        "ad_group": ("ad set name",),
        "spend": ("amount spent",),
        "currency": ("currency",),
        "impressions": ("impressions",),
        "clicks": ("link clicks", "clicks (all)"),
        "day_end": ("reporting ends",),
    },
    "tiktok": {
        "day": ("date", "by day", "stat time day"),
        "campaign": ("campaign name",),
        "ad_group": ("ad group name",),
        "spend": ("cost", "total cost", "spend"),
        "currency": ("currency",),
        "impressions": ("impressions",),
        "clicks": ("clicks (destination)", "clicks"),
    },
    "google": {
        "day": ("day", "date"),
        "campaign": ("campaign",),
        "ad_group": ("ad group",),
        "spend": ("cost",),
        "currency": ("currency code", "currency"),
        "impressions": ("impr.", "impressions"),
        "clicks": ("clicks",),
    },
    "generic": {
        "day": ("date", "day"),
        "campaign": ("campaign", "utm_campaign"),
        "ad_group": ("ad_group", "utm_content"),
        "spend": ("spend", "cost"),
        "currency": ("currency",),
        "impressions": ("impressions",),
        "clicks": ("clicks",),
    },
}
_REQUIRED = ("day", "campaign", "spend")
_HEADER_CURRENCY = re.compile(r"\(([A-Za-z]{3})\)\s*$")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")  # two in a day cell: a range of days


@dataclass(frozen=True, slots=True)
class SpendRow:
    day: date
    campaign: str
    ad_group: str
    currency: str
    spend: int
    impressions: int
    clicks: int


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        for i, h in enumerate(lowered):
            if h == name or h.startswith(name + " ("):
                return i
    return None


def _day(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y", "%b %d, %Y"):
        try:
            return datetime.strptime(text[:12].strip(), fmt).date()
        except ValueError:
            continue
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _int(text: str) -> int:
    digits = text.replace(",", "").replace(" ", "").strip()
    try:
        return max(0, int(Decimal(digits))) if digits and digits != "--" else 0
    except InvalidOperation:
        return 0


def parse_spend_csv(text: str, *, fmt: str, default_currency: str) -> list[SpendRow]:
    if fmt not in FORMATS:
        raise InvalidInput(FieldError("format", "invalid", f"use one of {', '.join(FORMATS)}"))
    cols = _COLUMNS[fmt]
    try:
        lines = csvtext.rows(text.lstrip("\ufeff"))
    except csvtext.UnreadableCsv as exc:
        raise InvalidInput(FieldError("file", exc.code, str(exc))) from None
    start = None
    index: dict[str, int | None] = {}
    for n, cells in enumerate(lines[:20]):
        index = {k: _find(cells, names) for k, names in cols.items()}
        if all(index[k] is not None for k in _REQUIRED):
            start = n
            break
    if start is None:
        wanted = ", ".join(cols[k][0] for k in _REQUIRED)
        raise InvalidInput(
            FieldError("file", "no_header", f"no header row with the {fmt} columns: {wanted}")
        )
    header = lines[start]
    header_currency = None
    spend_i = index["spend"]
    assert spend_i is not None
    m = _HEADER_CURRENCY.search(header[spend_i])
    if m:
        header_currency = m.group(1).upper()
    # Without a Day column Meta's rows run from "Reporting starts" to "Reporting ends"
    # (beside a Day column those are the whole report's range, the same on every row).
    day_i = index["day"]
    assert day_i is not None
    ranged = header[day_i].strip().lower().startswith("reporting starts")
    rows: list[SpendRow] = []
    errors: list[FieldError] = []

    def cell(cells: list[str], key: str) -> str:
        i = index.get(key)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    for n, cells in enumerate(lines[start + 1 :], start=start + 2):
        if not cells or all(not c.strip() for c in cells):
            continue
        raw_day = cell(cells, "day")
        if not raw_day or raw_day.lower().startswith("total"):
            continue
        field = f"rows.{n}"
        day = _day(raw_day)
        if day is None:
            errors.append(FieldError(f"{field}.day", "invalid", "is not a date"))
            continue
        last = _day(cell(cells, "day_end")) if ranged else day
        if len(_YEAR.findall(raw_day)) > 1 or last not in (None, day):
            errors.append(
                FieldError(
                    f"{field}.day", "not_daily", "is more than one day: export a breakdown by day"
                )
            )
            continue
        campaign = cell(cells, "campaign")
        if not campaign or campaign.lower().startswith("total"):
            continue
        if len(campaign) > 200:  # never a link's utm_campaign (at most 200): say so
            errors.append(FieldError(f"{field}.campaign", "too_long", "is over 200 characters"))
            continue
        currency = (cell(cells, "currency") or header_currency or default_currency).upper()
        if currency not in CURRENCIES:
            errors.append(FieldError(f"{field}.currency", "invalid_currency", "not ISO 4217"))
            continue
        raw_spend = cell(cells, "spend").replace(",", "").replace(" ", "")
        try:
            major = Decimal(raw_spend or "0")
        except InvalidOperation:
            errors.append(FieldError(f"{field}.spend", "invalid", "is not a number"))
            continue
        if not major.is_finite() or major < 0:
            errors.append(FieldError(f"{field}.spend", "invalid", "is not a positive number"))
            continue
        minor = int(major.scaleb(exponent(currency)).to_integral_value())
        if minor > MAX_AMOUNT:
            errors.append(FieldError(f"{field}.spend", "too_large", "is too large"))
            continue
        rows.append(
            SpendRow(
                day=day,
                campaign=campaign,
                ad_group=cell(cells, "ad_group")[:200],
                currency=currency,
                spend=minor,
                impressions=_int(cell(cells, "impressions")),
                clicks=_int(cell(cells, "clicks")),
            )
        )
        if len(rows) > MAX_ROWS:
            raise InvalidInput(FieldError("file", "too_many", f"at most {MAX_ROWS} rows"))
    if errors:
        raise InvalidInput(errors[:50])
    return rows


async def import_spend(
    tx: Tx, *, workspace_id: str, text: str, fmt: str, default_currency: str
) -> list[SpendRow]:
    """Parse and store an export; rows of the same day, campaign and ad group are summed
    (an export broken down by ad), a re-import of a day replaces it."""
    parsed = parse_spend_csv(text, fmt=fmt, default_currency=default_currency)
    merged: dict[tuple[date, str, str, str], SpendRow] = {}
    for r in parsed:
        key = (r.day, r.campaign, r.ad_group, r.currency)
        prev = merged.get(key)
        if prev is not None:
            r = SpendRow(
                r.day,
                r.campaign,
                r.ad_group,
                r.currency,
                prev.spend + r.spend,
                prev.impressions + r.impressions,
                prev.clicks + r.clicks,
            )
        merged[key] = r
    rows = list(merged.values())
    await SpendRepo(tx.conn, workspace_id).put(fmt, rows, utcnow())
    return rows
