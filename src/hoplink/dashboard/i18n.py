"""Languages: gettext catalogues (compiled by Babel), negotiation, locale-aware formatting.

The language is the ``hoplink_lang`` cookie if it names one we have, else the best match
of the browser's Accept-Language, else English. Every Chinese variant gets Simplified
Chinese: a Traditional-Chinese reader is better served by it than by English.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

LOCALES: tuple[str, ...] = ("en", "zh_CN")
DEFAULT_LOCALE = "en"
LANG_COOKIE = "hoplink_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
# Shown in the language switch in each language's own name.
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@cache
def translations(locale: str) -> gettext.NullTranslations:
    if locale == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    loaded = Translations.load(str(LOCALE_DIR), [locale], domain="messages")
    if not isinstance(loaded, Translations):
        raise RuntimeError(f"no compiled catalogue for {locale} in {LOCALE_DIR}")
    return loaded


def _match(tag: str) -> str | None:
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary == "zh":
        return "zh_CN"
    if primary == "en":
        return "en"
    return None


def negotiate(accept_language: str, cookie: str | None = None) -> str:
    if cookie in LOCALES:
        return str(cookie)
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        locale = _match(tag)
        if locale is not None and quality > 0:
            ranked.append((-quality, index, locale))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Formatter:
    """Numbers and dates as the reader's locale writes them."""

    locale: str

    @property
    def babel(self) -> Locale:
        return Locale.parse(self.locale)

    def number(self, value: float | int) -> str:
        grouping = _integer_grouping(self.locale)
        if grouping is not None and type(value) is int:
            # What Babel writes, ~30 times faster: a 30-day chart and its table format
            # thousands of counts per page.
            return f"{value:,}".replace(",", grouping)
        return str(format_decimal(value, locale=self.locale))

    def money(self, minor: int | None, currency: str) -> str:
        """Minor units (cents) of ``currency`` as the locale writes money: $1,234.50."""
        if minor is None:
            return "—"
        from hoplink.conversions.money import to_major

        return str(format_currency(to_major(minor, currency), currency, locale=self.locale))

    def percent(self, share: float) -> str:
        return str(format_percent(share, format="#,##0.0%", locale=self.locale))

    def timestamp(self, value: datetime, tz: ZoneInfo | None = None) -> str:
        shown = value.astimezone(tz) if tz is not None else value
        return str(format_datetime(shown, "medium", tzinfo=shown.tzinfo, locale=self.locale))

    def date(self, value: datetime) -> str:
        return str(format_date(value, "medium", locale=self.locale))

    def hour(self, value: datetime) -> str:
        """Day and hour, e.g. "Nov 3 14:00" / "11月3日 14:00"."""
        return f"{self.day(value)} {self.clock(value)}"

    def clock(self, value: datetime) -> str:
        """The hour of an axis tick: "14:00"."""
        return str(format_skeleton("Hm", value, tzinfo=value.tzinfo, locale=self.locale))

    def day(self, value: datetime) -> str:
        """A day as the locale writes it short: "Dec 2" / "12月2日"."""
        return str(format_skeleton("MMMd", value, tzinfo=value.tzinfo, locale=self.locale))

    def country(self, code: str) -> str:
        return str(self.babel.territories.get(code.upper(), code))


_PROBES = (0, 7, 42, 999, 1000, 12345, 999999, 1234567, 10**12, -1, -1000, -1234567)


@cache
def _integer_grouping(locale: str) -> str | None:
    """The locale's group separator if it writes whole numbers as Python's ``{:,}`` does
    with that separator (groups of three, ASCII digits and minus); else None (Babel then
    formats every number)."""
    separator = str(format_decimal(1000, locale=locale))[1:-3]
    if separator and all(
        f"{n:,}".replace(",", separator) == format_decimal(n, locale=locale) for n in _PROBES
    ):
        return separator
    return None


def gettext_for(locale: str) -> Callable[[str], str]:
    return translations(locale).gettext
