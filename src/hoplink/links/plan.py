"""A link's routing, compiled once per cache load into cheap checks the redirect runs.

``compile_plan`` turns the stored routing JSON (the ``links.routing`` column) into a
``Plan``: each condition becomes a closure over a frozenset or a pair of timestamps, so
deciding is a few set lookups and comparisons over a ``Facts`` value — no parsing, no
I/O, no allocation beyond the facts themselves. Every Location a plan can answer was
stored (and policy-checked) when the rule was saved; anything that could not go into a
Location header is dropped here, with the rule, rather than sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from hoplink.links.routing import Condition, Rule, rules_from_json

log = logging.getLogger("hoplink.redirect")

DEFAULT_RULE = "default"  # what a click records when no rule of a routed link matched


@dataclass(frozen=True, slots=True)
class Facts:
    """What rules may look at, derived once per request at the edge (redirect/rules.py)."""

    device: str  # mobile | tablet | desktop | other
    os: str  # ios | android | other
    app: str | None  # in-app browser (facebook, tiktok, …) or None
    language: str  # the most preferred language tag, lower case ("zh-cn"); "" unknown
    country: str | None  # ISO 3166-1 alpha-2 from the edge
    query: Mapping[str, list[str]]  # the request's query parameters (empty unless needed)
    now: float  # unix time


Check = Callable[[Facts], bool]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    check: Check
    ios: str
    android: str
    other: str
    forwardable: bool  # an http(s) URL for every OS: the visitor's query may be appended

    def location(self, os: str) -> str:
        return self.ios if os == "ios" else self.android if os == "android" else self.other


@dataclass(frozen=True, slots=True)
class Plan:
    rules: tuple[CompiledRule, ...]
    needs_agent: bool  # some condition or action depends on the user agent
    needs_language: bool
    needs_query: bool

    def decide(self, facts: Facts) -> CompiledRule | None:
        """The first rule that matches, or None (the link's own destination)."""
        for rule in self.rules:
            if rule.check(facts):
                return rule
        return None


def _emittable(url: str) -> bool:
    return url.isascii() and all(0x21 <= ord(c) <= 0x7E for c in url)


def _language_check(values: frozenset[str]) -> Check:
    def check(f: Facts) -> bool:
        tag = f.language
        while tag:
            if tag in values:
                return True
            tag = tag.rpartition("-")[0]
        return False

    return check


def _condition(c: Condition) -> Check:
    values = frozenset(c.values)
    if c.type == "device":
        return lambda f: f.device in values
    if c.type == "os":
        return lambda f: f.os in values
    if c.type == "country":
        return lambda f: f.country in values
    if c.type == "in_app":
        if not values:
            return lambda f: f.app is not None
        return lambda f: f.app in values
    if c.type == "language":
        return _language_check(values)
    if c.type == "query":
        name, equals = c.name or "", c.equals
        if equals is None:
            return lambda f: name in f.query
        return lambda f: equals in f.query.get(name, ())
    if c.type == "time":
        start = c.start.timestamp() if c.start else float("-inf")
        end = c.end.timestamp() if c.end else float("inf")
        return lambda f: start <= f.now < end
    raise ValueError(f"unknown condition type {c.type!r}")


def _rule_check(rule: Rule) -> Check:
    checks = tuple(_condition(c) for c in rule.conditions)
    if len(checks) == 1:
        return checks[0]
    if rule.match == "any":
        return lambda f: any(check(f) for check in checks)
    return lambda f: all(check(f) for check in checks)


def _compile_rule(rule: Rule) -> CompiledRule | None:
    a = rule.action
    locs = dict(a.locations or {})
    ios, android, other = (locs.get(k, a.url) for k in ("ios", "android", "other"))
    if not all(_emittable(u) for u in (ios, android, other)):
        log.error("rule %s has a Location that cannot be sent; it is skipped", rule.id)
        return None
    forwardable = all(u.startswith(("http://", "https://")) for u in (ios, android, other))
    return CompiledRule(rule.id, _rule_check(rule), ios, android, other, forwardable)


_AGENT = frozenset({"device", "os", "in_app"})


def compile_plan(routing: str | None) -> Plan | None:
    """The plan of a link's stored routing JSON; None when it routes nowhere else."""
    if not routing:
        return None
    data: dict[str, Any] = orjson.loads(routing)
    rules = rules_from_json(data.get("rules") or [])
    compiled = tuple(r for r in map(_compile_rule, rules) if r is not None)
    if not compiled:
        return None
    kinds = {c.type for r in rules for c in r.conditions}
    app_actions = any(r.action.type == "app" for r in rules)
    return Plan(
        rules=compiled,
        needs_agent=bool(kinds & _AGENT) or app_actions,
        needs_language="language" in kinds,
        needs_query="query" in kinds,
    )
