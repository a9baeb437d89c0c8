"""Routing rules of a link: what they are, and how a user's input becomes one.

A link may carry an ordered list of rules; the first whose conditions match a visitor
answers, otherwise the link's own destination does. A rule's action is an alternate URL
(checked by the same destination policy as any link) or an app hand-off built from an
operator-editable preset (``app_presets.json``). Every Location a rule can produce is worked
out here, when the rule is saved, and stored with it: the redirect only picks one of them.

Pure domain logic: no HTTP, no SQL. Errors name the field as a dotted path under ``rules``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel import Locale

from hoplink.errors import FieldError, InvalidInput
from hoplink.ids import new_id
from hoplink.links.urls import canonicalize_destination

MAX_RULES = 20
MAX_CONDITIONS = 10
MAX_VALUES = 50

DEVICES = ("mobile", "tablet", "desktop", "other")
OSES = ("ios", "android", "other")
IN_APP = (
    "facebook",
    "instagram",
    "messenger",
    "tiktok",
    "wechat",
    "line",
    "snapchat",
    "pinterest",
    "x",
)
CONDITION_TYPES = ("device", "os", "country", "language", "in_app", "query", "time")
MATCHES = ("all", "any")
_COUNTRY = re.compile(r"[A-Z]{2}")
# The two-letter codes that name a country or territory (CLDR's list: ISO 3166-1 plus
# XK Kosovo and the EU); ZZ is CLDR's "unknown region", which no visitor is recorded with.
COUNTRIES = frozenset(
    c for c in Locale("en").territories if isinstance(c, str) and _COUNTRY.fullmatch(c)
) - {"ZZ"}
_COUNTRY_MIXUPS = {"UK": "GB"}  # a common slip: the United Kingdom's ISO code is GB
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_PARAM = re.compile(r"[A-Za-z0-9_.\-~\[\]]{1,64}")
_PRESET = re.compile(r"[a-z0-9_\-]{1,32}")


@dataclass(frozen=True, slots=True)
class AppPreset:
    """How to open a marketplace's app from a web URL of its site (operator-editable)."""

    name: str
    label: str
    android_package: str | None
    # iOS: a template of a custom-scheme URL, with {host} {path} {query} {url} (URL-encoded
    # web URL); None: iOS visitors get the web URL itself (a universal link).
    ios_template: str | None


def _load_presets(text: str) -> dict[str, AppPreset]:
    raw: dict[str, Any] = json.loads(text)
    out: dict[str, AppPreset] = {}
    for name, p in raw.items():
        if not _PRESET.fullmatch(name):
            raise ValueError(f"app preset name {name!r}: use a-z, 0-9, _ and -")
        out[name] = AppPreset(
            name=name,
            label=str(p.get("label", name)),
            android_package=p.get("android_package"),
            ios_template=p.get("ios_template"),
        )
    return out


@functools.cache
def app_presets(path: Path | None = None) -> dict[str, AppPreset]:
    """The shipped presets, overridden and extended by the operator's file when given."""
    shipped = resources.files("hoplink.links").joinpath("app_presets.json").read_text("utf-8")
    presets = _load_presets(shipped)
    if path is not None:
        presets.update(_load_presets(path.read_text("utf-8")))
    return presets


def app_locations(web_url: str, preset: AppPreset) -> dict[str, str]:
    """The Location per OS for handing ``web_url`` to the app: Android gets an ``intent://``
    URL whose fallback is the web URL (the browser opens it when the app is missing), iOS the
    preset's scheme URL or the universal link, every other OS the web URL."""
    scheme, _, rest = web_url.partition("://")
    host, slash, tail = rest.partition("/")
    path, _, query = ("/" + tail if slash else "/").partition("?")
    path = path.split("#", 1)[0]
    query = query.split("#", 1)[0]
    encoded = quote(web_url, safe="")
    out = {"other": web_url, "ios": web_url, "android": web_url}
    if preset.android_package:
        q = f"?{query}" if query else ""
        out["android"] = (
            f"intent://{host}{path}{q}#Intent;scheme={scheme};"
            f"package={preset.android_package};S.browser_fallback_url={encoded};end"
        )
    if preset.ios_template:
        out["ios"] = preset.ios_template.format(
            host=host, path=path, query=f"?{query}" if query else "", url=encoded
        )
    return out


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    values: tuple[str, ...] = ()
    name: str | None = None  # query: the parameter
    equals: str | None = None  # query: None = present with any value
    start: datetime | None = None  # time window, half-open [start, end)
    end: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.type == "query":
            out |= {"name": self.name, "equals": self.equals}
        elif self.type == "time":
            out |= {"start": _iso(self.start), "end": _iso(self.end)}
        else:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True, slots=True)
class Action:
    type: str  # "url" | "app"
    url: str  # the (web) destination, canonical and policy-checked
    preset: str | None = None
    # Location per OS ("ios", "android", "other"), stored when the rule is saved.
    locations: Mapping[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "url": self.url}
        if self.type == "app":
            out |= {"preset": self.preset, "locations": dict(self.locations or {})}
        return out


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str | None
    match: str  # "all" | "any"
    conditions: tuple[Condition, ...]
    action: Action

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "match": self.match,
            "conditions": [c.to_json() for c in self.conditions],
            "action": self.action.to_json(),
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def rules_from_json(raw: Sequence[Mapping[str, Any]]) -> list[Rule]:
    """Stored rules (trusted: written by ``validate_rule``) back into values."""
    rules: list[Rule] = []
    for r in raw:
        conds = tuple(
            Condition(
                type=c["type"],
                values=tuple(c.get("values") or ()),
                name=c.get("name"),
                equals=c.get("equals"),
                start=_parse_time(c.get("start")),
                end=_parse_time(c.get("end")),
            )
            for c in r["conditions"]
        )
        a = r["action"]
        action = Action(a["type"], a["url"], a.get("preset"), a.get("locations"))
        rules.append(Rule(r["id"], r.get("name"), r["match"], conds, action))
    return rules


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# --- validation ------------------------------------------------------------------------------

DestinationCheck = Callable[[str, str], FieldError | None]  # (url, field) → refusal


class _Errors(list[FieldError]):
    def add(self, field: str, code: str, message: str) -> None:
        self.append(FieldError(field, code, message))


def _values(
    raw: Mapping[str, Any],
    at: str,
    errors: _Errors,
    *,
    allowed: Sequence[str] | None = None,
    pattern: re.Pattern[str] | None = None,
    normal: Callable[[str], str] = str.strip,
    empty_ok: bool = False,
) -> tuple[str, ...]:
    values = raw.get("values")
    if values is None:
        values = []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        errors.add(f"{at}.values", "invalid", "must be a list of strings")
        return ()
    if not values and not empty_ok:
        errors.add(f"{at}.values", "empty", "give at least one value")
    if len(values) > MAX_VALUES:
        errors.add(f"{at}.values", "too_many", f"at most {MAX_VALUES} values")
    out: list[str] = []
    for i, value in enumerate(values):
        v = normal(value)
        if allowed is not None and v not in allowed:
            errors.add(f"{at}.values.{i}", "unknown_value", f"use one of {', '.join(allowed)}")
        elif pattern is not None and not pattern.fullmatch(v):
            errors.add(f"{at}.values.{i}", "invalid", f"{value!r} is not valid here")
        elif pattern is _COUNTRY and v not in COUNTRIES:
            hint = f"; the code for it is {_COUNTRY_MIXUPS[v]}" if v in _COUNTRY_MIXUPS else ""
            errors.add(
                f"{at}.values.{i}",
                "unknown_country",
                f"{value!r} is not an ISO 3166-1 country code{hint}",
            )
        elif v not in out:
            out.append(v)
    return tuple(out)


def _time(raw: Any, at: str, errors: _Errors) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        errors.add(at, "invalid_datetime", "use ISO 8601, e.g. 2026-11-11T00:00:00+08:00")
        return None
    if value.tzinfo is None:
        errors.add(at, "naive_datetime", "give a time zone, e.g. 2026-11-11T00:00:00Z")
        return None
    return value


def _condition(raw: Any, at: str, errors: _Errors) -> Condition | None:
    if not isinstance(raw, Mapping):
        errors.add(at, "invalid", "must be an object with a type")
        return None
    kind = raw.get("type")
    if kind not in CONDITION_TYPES:
        errors.add(f"{at}.type", "unknown_type", f"use one of {', '.join(CONDITION_TYPES)}")
        return None
    known = {"type", "values"} if kind not in ("query", "time") else set()
    known |= {"type", "name", "equals"} if kind == "query" else set()
    known |= {"type", "start", "end"} if kind == "time" else set()
    for extra in sorted(set(raw) - known):
        errors.add(f"{at}.{extra}", "unknown_field", f"not a field of a {kind} condition")
    lower = lambda v: v.strip().lower()  # noqa: E731 - a one-line normaliser
    if kind == "device":
        return Condition(kind, _values(raw, at, errors, allowed=DEVICES, normal=lower))
    if kind == "os":
        return Condition(kind, _values(raw, at, errors, allowed=OSES, normal=lower))
    if kind == "in_app":
        # No values: any in-app browser.
        vals = _values(raw, at, errors, allowed=IN_APP, normal=lower, empty_ok=True)
        return Condition(kind, vals)
    if kind == "country":
        upper = lambda v: v.strip().upper()  # noqa: E731
        return Condition(kind, _values(raw, at, errors, pattern=_COUNTRY, normal=upper))
    if kind == "language":
        lang = lambda v: v.strip().lower().replace("_", "-")  # noqa: E731
        return Condition(kind, _values(raw, at, errors, pattern=_LANGUAGE, normal=lang))
    if kind == "query":
        name, equals = raw.get("name"), raw.get("equals")
        if not isinstance(name, str) or not _PARAM.fullmatch(name):
            errors.add(f"{at}.name", "invalid", "a parameter name: 1-64 of A-Z a-z 0-9 _ . - ~")
            return None
        if equals is not None and (not isinstance(equals, str) or len(equals) > 200):
            errors.add(f"{at}.equals", "invalid", "a string of at most 200 characters, or null")
            return None
        return Condition(kind, name=name, equals=equals)
    start = _time(raw.get("start"), f"{at}.start", errors)
    end = _time(raw.get("end"), f"{at}.end", errors)
    if raw.get("start") is None and raw.get("end") is None:
        errors.add(at, "empty", "give a start, an end, or both")
    if start is not None and end is not None and end <= start:
        errors.add(f"{at}.end", "before_start", "must be after the start")
    return Condition(kind, start=start, end=end)


def validate_rule(
    raw: Mapping[str, Any],
    *,
    default_url: str,
    check: DestinationCheck,
    presets: Mapping[str, AppPreset],
    at: str = "",
    rule_id: str | None = None,
) -> Rule:
    """A rule from user input, or InvalidInput naming every bad field (under ``at``).

    ``default_url``: the link's own destination, the web URL of an app hand-off that gives
    none; ``check``: the destination policy."""
    errors = _Errors()
    p = f"{at}." if at else ""
    for extra in sorted(set(raw) - {"id", "name", "match", "conditions", "action"}):
        errors.add(f"{p}{extra}", "unknown_field", "not a field of a rule")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or len(name.strip()) > 100):
        errors.add(f"{p}name", "invalid", "a text of at most 100 characters")
        name = None
    match = raw.get("match", "all")
    if match not in MATCHES:
        errors.add(f"{p}match", "invalid", "use all or any")
    conds_raw = raw.get("conditions")
    conditions: list[Condition] = []
    if not isinstance(conds_raw, list) or not conds_raw:
        errors.add(f"{p}conditions", "empty", "give at least one condition")
    elif len(conds_raw) > MAX_CONDITIONS:
        errors.add(f"{p}conditions", "too_many", f"at most {MAX_CONDITIONS} conditions per rule")
    else:
        for i, c in enumerate(conds_raw):
            cond = _condition(c, f"{p}conditions.{i}", errors)
            if cond is not None:
                conditions.append(cond)
    action = _action(raw.get("action"), f"{p}action", errors, default_url, check, presets)
    if errors or action is None:
        raise InvalidInput(list(errors))
    clean_name = name.strip() or None if isinstance(name, str) else None
    return Rule(rule_id or new_id("rul"), clean_name, str(match), tuple(conditions), action)


def _action(
    raw: Any,
    at: str,
    errors: _Errors,
    default_url: str,
    check: DestinationCheck,
    presets: Mapping[str, AppPreset],
) -> Action | None:
    if not isinstance(raw, Mapping) or raw.get("type") not in ("url", "app"):
        errors.add(f"{at}.type", "unknown_type", "use url (an alternate URL) or app (hand-off)")
        return None
    kind = raw["type"]
    allowed = {"type", "url"} | ({"preset"} if kind == "app" else set())
    for extra in sorted(set(raw) - allowed):
        errors.add(f"{at}.{extra}", "unknown_field", f"not a field of a {kind} action")
    url_raw = raw.get("url")
    if url_raw is None and kind == "app":
        url = default_url
    elif not isinstance(url_raw, str):
        errors.add(f"{at}.url", "missing", "give the URL to send matching visitors to")
        return None
    else:
        try:
            url = canonicalize_destination(url_raw, field=f"{at}.url")
        except InvalidInput as exc:
            errors.extend(exc.errors)
            return None
        refused = check(url, f"{at}.url")
        if refused is not None:
            errors.append(refused)
            return None
    if kind == "url":
        return Action("url", url)
    preset_name = raw.get("preset")
    preset = presets.get(preset_name) if isinstance(preset_name, str) else None
    if preset is None:
        errors.add(f"{at}.preset", "unknown_preset", f"use one of {', '.join(sorted(presets))}")
        return None
    return Action("app", url, preset.name, app_locations(url, preset))
