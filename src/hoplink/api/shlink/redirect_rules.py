"""Shlink's redirect rules ↔ hoplink's routing rules (links/routing.py), as far as they map.

A Shlink rule is a long URL with conditions that must all match (``priority`` = position):

| Shlink condition | hoplink condition |
|---|---|
| ``device`` ``android`` / ``ios`` | ``os`` ``android`` / ``ios`` |
| ``device`` ``mobile`` / ``desktop`` | ``device`` ``mobile`` / ``desktop`` |
| ``language`` ``es-ES`` | ``language`` ``es-es`` |
| ``query-param`` key = value | ``query`` name equals value |
| ``any-value-query-param`` key | ``query`` name (any value) |
| ``geolocation-country-code`` ``ES`` | ``country`` ``ES`` |

Everything else (``device`` linux / windows / macos / chromeos, ``valueless-query-param``,
``ip-address``, ``geolocation-city-name``) is refused with Shlink's ``invalid-data``
naming the condition. hoplink rules Shlink cannot express (an app hand-off, in-app
browsers, time windows, "any" matching, several values, tablet) are not shown to a Shlink
client, and a Shlink client cannot overwrite a link that has any (refused, not lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hoplink.errors import FieldError
from hoplink.links.routing import Rule

_DEVICES = {"android": ("os", "android"), "ios": ("os", "ios")}
_DEVICES |= {"mobile": ("device", "mobile"), "desktop": ("device", "desktop")}
_BACK = {value: key for key, value in _DEVICES.items()}


def to_hoplink(raw: Sequence[Any]) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """Shlink's ``redirectRules`` as hoplink rule input (validated by the rule service
    afterwards), or what cannot be mapped, each error naming its place."""
    rules: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for i, item in enumerate(raw):
        at = f"redirectRules.{i}"
        if not isinstance(item, dict):
            errors.append(FieldError(at, "invalid", "must be an object"))
            continue
        conditions: list[dict[str, Any]] = []
        for j, cond in enumerate(item.get("conditions") or []):
            mapped = _condition(cond, f"{at}.conditions.{j}", errors)
            if mapped is not None:
                conditions.append(mapped)
        url = item.get("longUrl")
        if not isinstance(url, str):
            errors.append(FieldError(f"{at}.longUrl", "invalid", "the URL this rule sends to"))
            continue
        rules.append(
            {"match": "all", "conditions": conditions, "action": {"type": "url", "url": url}}
        )
    return rules, errors


def _condition(cond: Any, at: str, errors: list[FieldError]) -> dict[str, Any] | None:
    if not isinstance(cond, dict):
        errors.append(FieldError(at, "invalid", "must be an object with a type"))
        return None
    kind, key, value = cond.get("type"), cond.get("matchKey"), cond.get("matchValue")
    if kind == "device" and isinstance(value, str) and value.lower() in _DEVICES:
        ours, what = _DEVICES[value.lower()]
        return {"type": ours, "values": [what]}
    if kind == "language" and isinstance(value, str):
        return {"type": "language", "values": [value]}
    if kind == "geolocation-country-code" and isinstance(value, str):
        return {"type": "country", "values": [value]}
    if kind == "query-param" and isinstance(key, str) and isinstance(value, str):
        return {"type": "query", "name": key, "equals": value}
    if kind == "any-value-query-param" and isinstance(key, str):
        return {"type": "query", "name": key, "equals": None}
    errors.append(
        FieldError(
            f"{at}.type",
            "not_supported",
            f"hoplink cannot route on {kind!r} {value!r}; see docs/shlink-compat.md",
        )
    )
    return None


def to_shlink(rules: Sequence[Rule]) -> tuple[list[dict[str, Any]], bool]:
    """The rules Shlink can express, in its shape, and whether any rule was left out."""
    out: list[dict[str, Any]] = []
    left_out = False
    for rule in rules:
        conditions = [_shlink_condition(c) for c in rule.conditions]
        usable = rule.action.type == "url" and (rule.match == "all" or len(conditions) == 1)
        if not usable or any(c is None for c in conditions):
            left_out = True
            continue
        out.append(
            {
                "longUrl": rule.action.url,
                "priority": len(out) + 1,
                "conditions": conditions,
            }
        )
    return out, left_out


def _shlink_condition(c: Any) -> dict[str, Any] | None:
    if c.type == "query":
        if c.equals is None:
            return {"type": "any-value-query-param", "matchKey": c.name, "matchValue": None}
        return {"type": "query-param", "matchKey": c.name, "matchValue": c.equals}
    if len(c.values) != 1:
        return None
    value = c.values[0]
    if c.type in ("os", "device") and (c.type, value) in _BACK:
        return {"type": "device", "matchKey": None, "matchValue": _BACK[(c.type, value)]}
    if c.type == "language":
        return {"type": "language", "matchKey": None, "matchValue": value}
    if c.type == "country":
        return {"type": "geolocation-country-code", "matchKey": None, "matchValue": value}
    return None
