"""Money: ISO 4217 codes (Babel's CLDR list), minor units, and conversion by a given rate.

Amounts travel and rest as integers in the currency's minor units (cents, yen, fils):
no float ever holds money. Conversion goes through ``Decimal`` and rounds half-even once.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_EVEN, Decimal

from babel.numbers import get_currency_precision, list_currencies

# 10^12 minor units: ten billion dollars in one order is a mistake, not a sale.
MAX_AMOUNT = 10**12
# In CLDR's list but not money a shop is paid in: no currency, testing, metals, SDR.
_NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "XBA", "XBB", "XBC"})
CURRENCIES: frozenset[str] = frozenset(
    c for c in list_currencies() if len(c) == 3 and c.isalpha() and c not in _NOT_MONEY
)


def is_currency(code: str) -> bool:
    return code in CURRENCIES


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
