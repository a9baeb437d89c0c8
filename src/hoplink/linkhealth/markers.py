"""Marketplace presets: the text that says "sold out" or "not found", and where a delisted
product is sent, per host pattern. Data, not code: ``markers.json`` ships with hoplink and
an operator replaces it with their own copy (``health_markers_file``), read once at start.

A preset applies to a URL whose host is one of its ``hosts`` or a subdomain of one
(``www.amazon.de`` is Amazon); a pattern with ``*`` is a glob over the whole host name.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from hoplink.linkhealth.models import HealthState

_SHIPPED = Path(__file__).with_name("markers.json")
_MARKER_STATES = ("degraded", "broken")


@dataclass(frozen=True, slots=True)
class Marker:
    text: str  # casefolded
    state: HealthState
    reason: str


@dataclass(frozen=True, slots=True)
class Preset:
    key: str
    name: str
    hosts: tuple[str, ...]
    markers: tuple[Marker, ...]
    delisted_paths: tuple[re.Pattern[str], ...]
    delisted_hosts: tuple[str, ...]

    def matches(self, host: str) -> bool:
        return any(host_matches(host, pattern) for pattern in self.hosts)

    def delisted(self, host: str, path: str) -> bool:
        """Whether a redirect to ``host``/``path`` means the product is gone."""
        if any(host_matches(host, pattern) for pattern in self.delisted_hosts):
            return True
        return any(p.search(path) for p in self.delisted_paths)


def host_matches(host: str, pattern: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(host, pattern)
    return host == pattern or host.endswith("." + pattern)


def _strings(raw: Mapping[str, Any], name: str, where: str) -> list[str]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}.{name} must be a list of non-empty strings")
    return value


def parse_presets(text: str) -> tuple[Preset, ...]:
    """The presets of a markers file; ValueError naming the first bad entry."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("presets"), dict):
        raise ValueError("the file must be an object with a 'presets' object")
    found: list[Preset] = []
    for key, raw in data["presets"].items():
        where = f"presets.{key}"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} must be an object")
        markers: list[Marker] = []
        for i, m in enumerate(raw.get("markers", [])):
            at = f"{where}.markers[{i}]"
            if not isinstance(m, dict) or not isinstance(m.get("text"), str) or not m["text"]:
                raise ValueError(f"{at} needs a non-empty 'text'")
            if m.get("state") not in _MARKER_STATES:
                raise ValueError(f"{at}.state must be one of {', '.join(_MARKER_STATES)}")
            reason = m.get("reason", "unavailable")
            if not isinstance(reason, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", reason):
                raise ValueError(f"{at}.reason must be a short snake_case word")
            markers.append(Marker(m["text"].casefold(), m["state"], reason))
        paths: list[re.Pattern[str]] = []
        for p in _strings(raw, "delisted_paths", where):
            try:
                paths.append(re.compile(p))
            except re.error as exc:
                raise ValueError(f"{where}.delisted_paths: {p!r} is not a regex ({exc})") from None
        hosts = _strings(raw, "hosts", where)
        if not hosts:
            raise ValueError(f"{where}.hosts must name at least one host")
        found.append(
            Preset(
                key=key,
                name=str(raw.get("name") or key),
                hosts=tuple(h.lower() for h in hosts),
                markers=tuple(markers),
                delisted_paths=tuple(paths),
                delisted_hosts=tuple(h.lower() for h in _strings(raw, "delisted_hosts", where)),
            )
        )
    return tuple(found)


def load_presets(path: Path | None = None) -> tuple[Preset, ...]:
    """The operator's file, or the shipped presets."""
    return parse_presets((path or _SHIPPED).read_text("utf-8"))


def preset_for(host: str, presets: Sequence[Preset]) -> Preset | None:
    for preset in presets:
        if preset.matches(host):
            return preset
    return None
