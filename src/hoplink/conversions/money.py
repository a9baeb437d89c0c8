"""Money: ISO 4217 codes (Babel's CLDR list), minor units, and conversion by a given rate.

Two lists of codes. ``CURRENCIES`` holds every code, withdrawn ones too (DEM, FRF, HRK):
orders, exchange rates and spend of their time still carry them. A report currency is
chosen among ``current_currencies``: those legal tender in some territory today (CLDR's
currencies of each territory, with their dates), so no longer the mark or the franc.

Amounts travel and rest as integers in the currency's minor units (cents, yen, fils):
no float ever holds money. Conversion goes through ``Decimal`` and rounds half-even once.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from babel import Locale
from babel.numbers import get_currency_precision, get_territory_currencies, list_currencies

# 10^12 minor units: ten billion dollars in one order is a mistake, not a sale.
MAX_AMOUNT = 10**12
# In CLDR's list but not money a shop is paid in: no currency, testing, metals, SDR.
_NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "XBA", "XBB", "XBC"})
CURRENCIES: frozenset[str] = frozenset(
    c for c in list_currencies() if len(c) == 3 and c.isalpha() and c not in _NOT_MONEY
)


# Every territory CLDR names (its English names: the list is the same in every locale).
_TERRITORIES: tuple[str, ...] = tuple(Locale("en").territories)
# Before any currency CLDR dates (the first ones start in the 18th century).
_EVER = date(1, 1, 1)


def is_currency(code: str) -> bool:
    return code in CURRENCIES


@functools.lru_cache(maxsize=4)
def current_currencies(on: date) -> frozenset[str]:
    """The codes legal tender in some territory on ``on``: what a report can be in."""
    codes: set[str] = set()
    for territory in _TERRITORIES:
        codes.update(get_territory_currencies(territory, start_date=on, end_date=on, tender=True))
    return frozenset(codes & CURRENCIES)


def not_current_reason(code: str, on: date) -> str:
    """Why ``code`` (in ``CURRENCIES``, not in ``current_currencies(on)``) cannot be a
    report currency, naming what replaced it where there is one answer short enough."""
    successors: set[str] = set()
    used = False
    for territory in _TERRITORIES:
        if code in get_territory_currencies(territory, start_date=_EVER, end_date=on, tender=True):
            used = True
            successors.update(get_territory_currencies(territory, start_date=on, tender=True))
    if not used:  # a fund or accounting code (CHE, XEU), never a shop's money
        return f"{code} is not legal tender anywhere; choose a current currency"
    if not successors or len(successors) > 3:
        return f"{code} is no longer in use; choose a current currency"
    *others, last = sorted(successors)
    named = f"{', '.join(others)} or {last}" if others else last
    return f"{code} is no longer in use; use {named}"


@functools.lru_cache(maxsize=512)
def exponent(currency: str) -> int:
    """Digits after the decimal point in the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency))


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def convert(amount: int, currency: str, target: str, rate: Decimal) -> int:
    """``amount`` minor units of ``currency`` in minor units of ``target`` at
    1 ``currency`` = ``rate`` ``target``."""
    if currency == target:
        return amount
    major = to_major(amount, currency) * rate
    return int(major.scaleb(exponent(target)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def factor(currency: str, target: str, rate: Decimal) -> Decimal:
    """``convert`` as one multiplication: the rate shifted by the two minor units (exact)."""
    return rate.scaleb(exponent(target) - exponent(currency))


def convert_by(amount: int, by: Decimal) -> int:
    """``convert(amount, currency, target, rate)`` with ``by = factor(currency, target, rate)``
    (the same digits: scaling by powers of ten rounds nothing)."""
    return int((Decimal(amount) * by).quantize(_ONE, rounding=ROUND_HALF_EVEN))


_ONE = Decimal(1)
