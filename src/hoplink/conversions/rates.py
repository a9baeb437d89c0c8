"""Exchange rates: the operator's daily CSV, and conversion into a workspace's currency.

Rates are never downloaded: the operator uploads them (CLI, API or dashboard) as
``date,base,quote,rate`` rows meaning 1 base = rate quote on that UTC day. A report uses the
newest rate on or before the order's day (at most HOPLINK_FX_MAX_AGE_DAYS older), direct,
inverse, or across a common base (USD→CNY and USD→EUR give CNY→EUR); without one the amount
is left out of converted totals and the report names the missing (currency, day).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from hoplink import csvtext
from hoplink.conversions.money import CURRENCIES
from hoplink.errors import FieldError, InvalidInput
from hoplink.ids import utcnow
from hoplink.storage.conversion_reports import RateRepo
from hoplink.storage.tx import Tx

MAX_ROWS = 100_000
Rate = tuple[date, str, str, Decimal]


def _check(
    field: str, cells: Sequence[object], errors: list[FieldError], names: Sequence[str]
) -> Rate | None:
    """One rate from (date, base, quote, rate); None with its error added to ``errors``.
    ``names`` are how the source calls the four parts (CSV columns, JSON members)."""
    day_s, base, quote, rate_s = (str(c).strip() if c is not None else "" for c in cells)
    try:
        day = date.fromisoformat(day_s)
    except ValueError:
        errors.append(FieldError(f"{field}.{names[0]}", "invalid", "use YYYY-MM-DD"))
        return None
    base, quote = base.upper(), quote.upper()
    for name, code in ((names[1], base), (names[2], quote)):
        if code not in CURRENCIES:
            errors.append(FieldError(f"{field}.{name}", "invalid_currency", "not ISO 4217"))
            return None
    if base == quote:
        errors.append(FieldError(f"{field}.{names[2]}", "invalid_currency", "same as the base"))
        return None
    try:
        rate = Decimal(rate_s)
    except InvalidOperation:
        rate = Decimal(0)
    if not rate.is_finite() or rate <= 0 or rate > Decimal(10) ** 9:
        errors.append(FieldError(f"{field}.{names[3]}", "invalid", "a positive decimal number"))
        return None
    return day, base, quote, rate


def _done(rows: list[Rate], errors: list[FieldError], where: str) -> list[Rate]:
    if errors:
        raise InvalidInput(errors[:50])
    if not rows:
        raise InvalidInput(FieldError(where, "empty", "no rates given"))
    return rows


_CSV_NAMES = ("date", "currency", "currency", "rate")
_JSON_NAMES = ("date", "base", "quote", "rate")


def parse_rates_csv(text: str) -> list[Rate]:
    """``date,base,quote,rate`` rows (a header line is optional); every bad row named."""
    rows: list[Rate] = []
    errors: list[FieldError] = []
    try:
        records = csvtext.numbered_rows(text)
    except csvtext.UnreadableCsv as exc:
        raise InvalidInput(FieldError("rows", exc.code, str(exc))) from None
    for n, cells in records:
        if not cells or all(not c.strip() for c in cells):
            continue
        if n == 1 and cells[0].strip().lower() in ("date", "day"):
            continue
        field = f"rows.{n}"
        if len(cells) != 4:
            errors.append(FieldError(field, "invalid", "give date,base,quote,rate"))
            continue
        rate = _check(field, cells, errors, _CSV_NAMES)
        if rate is not None:
            rows.append(rate)
        if len(rows) > MAX_ROWS:
            raise InvalidInput(FieldError("rows", "too_many", f"at most {MAX_ROWS} rows"))
    return _done(rows, errors, "rows")


def parse_rates_json(body: object) -> list[Rate]:
    """``{"rates": [{"date", "base", "quote", "rate"}, ...]}``: the CSV's rules, as JSON.
    A rate is a string ("7.1234", exact) or a number."""
    if not isinstance(body, dict) or not isinstance(body.get("rates"), list):
        raise InvalidInput(FieldError("rates", "list_type", 'send {"rates": [...]}'))
    extra = sorted(set(body) - {"rates"})
    if extra:
        raise InvalidInput(FieldError(extra[0], "extra_forbidden", "is not a known field"))
    items: list[object] = body["rates"]
    if len(items) > MAX_ROWS:
        raise InvalidInput(FieldError("rates", "too_many", f"at most {MAX_ROWS} rates"))
    rows: list[Rate] = []
    errors: list[FieldError] = []
    for n, item in enumerate(items):
        field = f"rates.{n}"
        if not isinstance(item, dict):
            errors.append(FieldError(field, "dict_type", "must be an object"))
            continue
        bad = sorted(set(item) - set(_JSON_NAMES))
        if bad:
            errors.append(
                FieldError(f"{field}.{bad[0]}", "extra_forbidden", "is not a known field")
            )
            continue
        values = [item.get(k) for k in _JSON_NAMES]
        wrong = next(
            (
                k
                for k, v in zip(_JSON_NAMES, values, strict=True)
                if not isinstance(v, str)
                and not (k == "rate" and isinstance(v, int | float) and not isinstance(v, bool))
            ),
            None,
        )
        if wrong is not None:
            errors.append(FieldError(f"{field}.{wrong}", "string_type", "must be a string"))
            continue
        rate = _check(field, values, errors, _JSON_NAMES)
        if rate is not None:
            rows.append(rate)
    return _done(rows, errors, "rates")


class Converter:
    """Rates into one target currency, looked up per (currency, day)."""

    def __init__(self, rates: Iterable[Rate], target: str, *, max_age_days: int) -> None:
        self.target = target
        self.max_age = max_age_days
        self._by_day: dict[date, dict[tuple[str, str], Decimal]] = {}
        for day, base, quote, rate in rates:
            self._by_day.setdefault(day, {})[(base, quote)] = rate
        self._cache: dict[tuple[str, date], Decimal | None] = {}
        self.missing: set[tuple[str, date]] = set()

    def _on(self, day: date, currency: str) -> Decimal | None:
        table = self._by_day.get(day)
        if not table:
            return None
        w = self.target
        if (currency, w) in table:
            return table[(currency, w)]
        if (w, currency) in table:
            return 1 / table[(w, currency)]
        for (base, quote), r in table.items():  # across a common base
            if quote == currency and (base, w) in table:
                return table[(base, w)] / r
        return None

    def rate(self, currency: str, day: date) -> Decimal | None:
        if currency == self.target:
            return Decimal(1)
        key = (currency, day)
        if key not in self._cache:
            found = None
            for back in range(self.max_age + 1):
                found = self._on(day - timedelta(days=back), currency)
                if found is not None:
                    break
            self._cache[key] = found
            if found is None:
                self.missing.add(key)
        return self._cache[key]


async def import_rates(tx: Tx, *, text: str) -> int:
    """Store the rates of a CSV (a day's rate uploaded again replaces it)."""
    return await store_rates(tx, rows=parse_rates_csv(text))


async def store_rates(tx: Tx, *, rows: Sequence[Rate]) -> int:
    """Store checked rates (``parse_rates_csv`` / ``parse_rates_json``); all or none."""
    return await RateRepo(tx.conn).upsert(rows, utcnow())


async def latest_rates(tx: Tx, *, limit: int = 200) -> list[Rate]:
    return await RateRepo(tx.conn).latest(limit)
