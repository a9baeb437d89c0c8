"""The ad platforms' click ids that arrive on a short link's query string.

Facebook, TikTok, Google and others append their own click id to the links they send
visitors to (``?fbclid=…``); a store reports it back to the platform's conversion API.
hoplink keeps them with the click and, for links that ask (``pass_ad_click_ids``), passes
them on to the destination. ``AD_CLICK_IDS`` is the whole list: to support another
platform, add a row (docs/attribution.md, "Click identity").

A value is kept only when it fits the row's length and character set; anything else is
dropped and counted by reason (``AdIdCounters``), never repaired. Kept values are
printable ASCII from a small alphabet, so they are safe to append to a Location as they
are. The values identify a person's ad click: they are never logged.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote

# Base64url plus "." (Google's gclid/gbraid and Meta's fbclid use these).
_TOKEN = re.compile(r"[A-Za-z0-9_\-.]+")
_HEX_DASH = re.compile(r"[A-Fa-f0-9\-]+")  # LinkedIn's li_fat_id is a UUID
_SNAP = re.compile(r"[A-Za-z0-9_\-]+")
_EPIK = re.compile(r"[A-Za-z0-9_\-.!*~]+")  # Pinterest's epik is a signed token

MAX_AD_CLICK_IDS = 4  # per click: a real visitor arrives with one, rarely two


@dataclass(frozen=True, slots=True)
class AdClickId:
    param: str  # the query parameter, exactly as the platform spells it
    platform: str
    max_length: int
    charset: re.Pattern[str]


AD_CLICK_IDS: tuple[AdClickId, ...] = (
    AdClickId("fbclid", "meta", 512, _TOKEN),
    AdClickId("ttclid", "tiktok", 512, _TOKEN),
    AdClickId("gclid", "google", 512, _TOKEN),
    AdClickId("gbraid", "google", 512, _TOKEN),
    AdClickId("wbraid", "google", 512, _TOKEN),
    AdClickId("msclkid", "microsoft", 64, _TOKEN),
    AdClickId("twclid", "x", 128, _TOKEN),
    AdClickId("li_fat_id", "linkedin", 64, _HEX_DASH),
    AdClickId("ScCid", "snapchat", 128, _SNAP),
    AdClickId("epik", "pinterest", 512, _EPIK),
)
BY_PARAM: dict[str, AdClickId] = {a.param: a for a in AD_CLICK_IDS}
# Names matched case-insensitively: some platforms' links differ in case (ScCid / sccid).
_BY_LOWER: dict[str, AdClickId] = {a.param.lower(): a for a in AD_CLICK_IDS}
AD_CLICK_ID_PARAMS: frozenset[str] = frozenset(_BY_LOWER)  # lower-case
# One scan in C of the raw query for any of the names followed by "=": most redirects carry
# none, and they should pay for nothing more than this.
_ANY_NAME = re.compile(
    rb"(?i)(?:^|&)(?:" + b"|".join(re.escape(n.encode()) for n in sorted(_BY_LOWER)) + rb")="
)


class AdIdDrop(StrEnum):
    TOO_LONG = "too_long"
    BAD_CHARSET = "bad_charset"  # outside the platform's alphabet (or not valid escapes)
    EMPTY = "empty"
    REPEATED = "repeated"  # the same parameter twice: the first one is kept
    TOO_MANY = "too_many"  # more than MAX_AD_CLICK_IDS different ones


@dataclass(slots=True)
class AdIdCounters:
    """Drops by reason since the process started (exported as metrics)."""

    counts: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)


def parse_ad_click_ids(query_string: bytes, counters: AdIdCounters) -> dict[str, str] | None:
    """The valid ad click ids of a raw query string, keyed by canonical name; None if none.

    Fast when there are none: one regex scan of the raw bytes before any decoding."""
    if not query_string or _ANY_NAME.search(query_string) is None:
        return None
    text = query_string.decode("latin-1")
    found: dict[str, str] | None = None
    for piece in text.split("&"):
        raw_name, eq, raw_value = piece.partition("=")
        spec = _BY_LOWER.get(raw_name.lower())
        if spec is None or not eq:
            continue
        if found is not None and spec.param in found:
            counters.counts[AdIdDrop.REPEATED.value] += 1
            continue
        reason = _problem(spec, raw_value)
        if reason is not None:
            counters.counts[reason.value] += 1
            continue
        if found is None:
            found = {}
        elif len(found) >= MAX_AD_CLICK_IDS:
            counters.counts[AdIdDrop.TOO_MANY.value] += 1
            continue
        found[spec.param] = unquote(raw_value)
    return found


def _problem(spec: AdClickId, raw_value: str) -> AdIdDrop | None:
    if not raw_value:
        return AdIdDrop.EMPTY
    # Escapes are decoded once; the decoded value must then be in the alphabet, which
    # contains no "%", so a double-encoded value is refused rather than stored half-decoded.
    try:
        value = unquote(raw_value, errors="strict") if "%" in raw_value else raw_value
    except UnicodeDecodeError:
        return AdIdDrop.BAD_CHARSET
    if len(value) > spec.max_length or len(raw_value) > 3 * spec.max_length:
        return AdIdDrop.TOO_LONG
    if not spec.charset.fullmatch(value):
        return AdIdDrop.BAD_CHARSET
    return None


def check_ad_click_ids(values: object) -> dict[str, str] | None:
    """Re-validate ids read from a queue (the worker trusts nothing it did not make)."""
    if not isinstance(values, dict) or not values:
        return None
    kept: dict[str, str] = {}
    for name, value in values.items():
        spec = BY_PARAM.get(name) if isinstance(name, str) else None
        if spec is None or not isinstance(value, str):
            continue
        if 0 < len(value) <= spec.max_length and spec.charset.fullmatch(value):
            kept[name] = value
        if len(kept) >= MAX_AD_CLICK_IDS:
            break
    return kept or None
