"""A/B assignment: 100,000 simulated visitors split within 1 % of the weights, and a
returning visitor keeps their variant within a day (and, at the day boundary, is split
afresh, as docs/campaigns.md says)."""

from __future__ import annotations

import os
from collections import Counter

import orjson
import pytest

from hoplink.clicks.salts import visitor_hash
from hoplink.links.plan import Plan, compile_plan

FINAL = "https://shop.example.com/item/1"


def plan_with(weights: list[int]) -> Plan:
    variants = [
        {"id": f"var_{i}", "url": None if i == 0 else f"https://shop.example.com/v{i}",
         "weight": w}
        for i, w in enumerate(weights)
    ]  # fmt: skip
    test = {"id": "abt_test", "started_at": "2026-12-03T00:00:00+00:00", "variants": variants}
    plan = compile_plan(orjson.dumps({"ab": test}).decode(), final_url=FINAL)
    assert plan is not None
    return plan


def visitors(n: int, day_key: bytes) -> list[str]:
    """Daily visitor ids as the edge makes them: distinct addresses and agents."""
    return [
        visitor_hash(day_key, "ws_1", f"203.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                     f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_{i % 7} like Mac OS X)")
        for i in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize("weights", [[50, 50], [70, 30], [1, 1, 1], [10, 20, 30, 40], [5] * 5])
def test_100000_visitors_split_within_1_percent_of_the_weights(weights: list[int]) -> None:
    plan = plan_with(weights)
    ids = visitors(100_000, os.urandom(32))
    counts = Counter(plan.pick(v)[0] for v in ids)
    total = sum(weights)
    for i, w in enumerate(weights):
        share = counts[f"var_{i}"] / len(ids)
        assert abs(share - w / total) <= 0.01, (weights, i, share)


def test_a_returning_visitor_keeps_their_variant_all_day_and_is_split_afresh_the_next() -> None:
    plan = plan_with([50, 30, 20])
    today, tomorrow = os.urandom(32), os.urandom(32)
    ids = visitors(20_000, today)
    first = [plan.pick(v) for v in ids]
    # Each visitor comes back 5 times the same day (on any node: no state but the id).
    same = sum(plan.pick(v) == f for v, f in zip(ids, first, strict=True) for _ in range(5))
    assert same / (5 * len(ids)) >= 0.999
    # Tomorrow the salt (so the id) changes: a visitor keeps the variant with chance
    # sum(w^2) = .25 + .09 + .04 = .38, independent of today's.
    next_day = [plan.pick(v)[0] for v in visitors(20_000, tomorrow)]
    kept = sum(a[0] == b for a, b in zip(first, next_day, strict=True)) / len(ids)
    assert abs(kept - 0.38) <= 0.02


def test_the_control_is_the_links_own_destination() -> None:
    plan = plan_with([1, 1])
    locations = {plan.pick(v) for v in visitors(200, os.urandom(32))}
    assert locations == {("var_0", FINAL), ("var_1", "https://shop.example.com/v1")}
