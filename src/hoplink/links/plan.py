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
import random
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from hoplink.links.abtest import AbTest, seed
from hoplink.links.routing import Condition, Rule, rules_from_json

log = logging.getLogger("hoplink.redirect")

DEFAULT_RULE = "default"  # what a click records when no rule of a routed link matched
EXPIRED_RULE = "expired"  # ... when the link sent to its expiry URL


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3x as much
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

    def location(self, os: str) -> str:
        return self.ios if os == "ios" else self.android if os == "android" else self.other


@dataclass(frozen=True, slots=True)
class Plan:
    rules: tuple[CompiledRule, ...]
    needs_agent: bool  # some condition or action depends on the user agent
    needs_language: bool
    needs_query: bool
    # Schedule and limit: served in [starts, ends) and until exhausted; otherwise the
    # expiry URL (when it can be sent) or a page.
    starts: float = float("-inf")
    ends: float = float("inf")
    exhausted: bool = False
    expiry_url: str | None = None
    # A running A/B test: visitors no rule claimed are split (hoplink.links.abtest).
    test_id: str = ""
    test_seed: int = 0  # abtest.seed(test_id)
    variants: tuple[tuple[int, str, str], ...] = ()  # (cumulative weight, id, Location)

    def pick(self, visitor: str | None, pinned: str | None = None) -> tuple[str, str]:
        """(variant id, Location) of a visitor; sticky for a visitor id (daily). ``pinned``:
        the variant the visitor's A/B cookie names (hoplink.redirect.abcookie), which wins
        when it is one of this test's."""
        if pinned is not None:
            for _, variant_id, location in self.variants:
                if variant_id == pinned:
                    return variant_id, location
        total = self.variants[-1][0]
        # Without a visitor id (the click could not be captured) there is nothing to stick to.
        point = (
            random.randrange(total)  # noqa: S311 - a split, not a secret
            if visitor is None
            else zlib.crc32(visitor.encode(), self.test_seed) % total  # = abtest.bucket
        )
        for upto, variant_id, location in self.variants:
            if point < upto:
                return variant_id, location
        raise AssertionError("unreachable: the last cumulative weight is the total")

    def closed(self, now: float) -> str | None:
        """None while the link is served; else "scheduled" (not started) or "expired"."""
        if now < self.starts:
            return "scheduled"
        if self.exhausted or now >= self.ends:
            return "expired"
        return None

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


def _both(a: Check, b: Check) -> Check:
    return lambda f: a(f) and b(f)


def _either(a: Check, b: Check) -> Check:
    return lambda f: a(f) or b(f)


def _rule_check(rule: Rule) -> Check:
    """The conditions chained with ``and`` / ``or`` (short-circuiting, no generator)."""
    checks = [_condition(c) for c in rule.conditions]
    join = _either if rule.match == "any" else _both
    check = checks[0]
    for more in checks[1:]:
        check = join(check, more)
    return check


def _compile_rule(rule: Rule) -> CompiledRule | None:
    a = rule.action
    locs = dict(a.locations or {})
    ios, android, other = (locs.get(k, a.url) for k in ("ios", "android", "other"))
    if not all(_emittable(u) for u in (ios, android, other)):
        log.error("rule %s has a Location that cannot be sent; it is skipped", rule.id)
        return None
    return CompiledRule(rule.id, _rule_check(rule), ios, android, other)


_AGENT = frozenset({"device", "os", "in_app"})


def compile_plan(
    routing: str | None,
    *,
    final_url: str = "",
    starts: float | None = None,
    ends: float | None = None,
    expiry_url: str | None = None,
    exhausted: bool = False,
) -> Plan | None:
    """The plan of a link's stored routing JSON and schedule; None when it has neither."""
    data: dict[str, Any] = orjson.loads(routing) if routing else {}
    rules = rules_from_json(data.get("rules") or [])
    compiled = tuple(r for r in map(_compile_rule, rules) if r is not None)
    scheduled = starts is not None or ends is not None or exhausted
    test = AbTest.from_json(data["ab"]) if data.get("ab") else None
    variants: list[tuple[int, str, str]] = []
    if test is not None:
        upto = 0
        for v in test.variants:
            location = v.url or final_url
            if _emittable(location):
                upto += v.weight
                variants.append((upto, v.id, location))
    if not compiled and not scheduled and not variants:
        return None
    if expiry_url is not None and not _emittable(expiry_url):
        log.error("an expiry URL cannot be sent; the page is shown instead")
        expiry_url = None
    kinds = {c.type for r in rules for c in r.conditions}
    app_actions = any(r.action.type == "app" for r in rules)
    return Plan(
        rules=compiled,
        needs_agent=bool(kinds & _AGENT) or app_actions,
        needs_language="language" in kinds,
        needs_query="query" in kinds,
        starts=float("-inf") if starts is None else starts,
        ends=float("inf") if ends is None else ends,
        exhausted=exhausted,
        expiry_url=expiry_url,
        test_id=test.id if test is not None else "",
        test_seed=seed(test.id) if test is not None else 0,
        variants=tuple(variants),
    )
