"""/api/v1/links/{id}/ab end to end on real SQLite and PostgreSQL: start, sticky split at
the redirect, per-variant counts through the real worker, stop with a winner, history."""

from __future__ import annotations

import asyncio
from typing import Any

from api_client import Api, assert_problem
from clickids import without_click_id
from hoplink.ingest.worker import Worker

PRODUCT = "https://shop.example.com/item/1"
B = "https://shop.example.com/item/1-b"


async def test_start_split_count_stop_and_history(api: Api) -> None:
    _, auth = await api.tenant()
    link = (await api.http.post("/api/v1/links", json={"url": PRODUCT}, headers=auth)).json()
    base = f"/api/v1/links/{link['id']}/ab"
    assert_problem(await api.http.get(base, headers=auth), 404, "not_found")
    started = await api.http.put(
        base, json={"variants": [{"weight": 1}, {"url": B, "weight": 1}]}, headers=auth
    )
    assert started.status_code == 200, started.text
    control, variant = (v["id"] for v in started.json()["variants"])
    again = await api.http.put(
        base, json={"variants": [{"weight": 1}, {"url": B, "weight": 1}]}, headers=auth
    )
    assert_problem(again, 409, "conflict")

    # 40 visitors (distinct agents), each twice: the same variant both times.
    seen: dict[str, str] = {}
    for i in range(40):
        ua = f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_{i} like Mac OS X) Safari/604.1"
        first = (await api.http.get(f"/{link['code']}", headers={"user-agent": ua})).headers
        second = (await api.http.get(f"/{link['code']}", headers={"user-agent": ua})).headers
        # The same variant both times (each redirect has its own click id).
        assert without_click_id(first["location"]) == without_click_id(second["location"])
        assert first["location"] != second["location"]
        seen[ua] = without_click_id(first["location"])
    assert set(seen.values()) == {link["final_url"], B}

    runtime = api.app.runtime
    assert runtime is not None and runtime.journal is not None
    clicks: list[Any] = []
    for _ in range(100):  # the journal takes each click after its redirect was answered
        batch, token = await runtime.journal.read(10_000, timeout=0)
        await runtime.journal.ack(token)
        clicks += batch
        if len(clicks) >= 80:
            break
        await asyncio.sleep(0.05)
    assert len(clicks) == 80 and {c.variant for c in clicks} == {control, variant}
    worker = Worker.from_settings(runtime.settings, db=runtime.db, source=runtime.journal)
    await worker.process(clicks)
    result = (await api.http.get(base, headers=auth)).json()
    by_id = {v["id"]: v for v in result["variants"]}
    to_b = sum(1 for loc in seen.values() if loc == B)
    assert by_id[variant]["clicks"] == 2 * to_b and by_id[control]["clicks"] == 2 * (40 - to_b)
    assert by_id[variant]["human_visitors"] == to_b

    bad = await api.http.post(f"{base}/stop", json={"winner": "var_nope"}, headers=auth)
    assert_problem(bad, 422, "invalid_input", "winner")
    stopped = await api.http.post(f"{base}/stop", json={"winner": variant}, headers=auth)
    assert stopped.status_code == 200, stopped.text
    r = await api.http.get(f"/{link['code']}")
    assert without_click_id(r.headers["location"]) == B  # the winner is now the destination
    assert_problem(await api.http.get(base, headers=auth), 404, "not_found")
    history = (await api.http.get(f"/api/v1/links/{link['id']}/history", headers=auth)).json()
    fields = [h["field"] for h in history]
    assert fields.count("ab_test") == 2 and "destination_url" in fields


async def test_bad_variants_are_422s_naming_the_field(api: Api) -> None:
    _, auth = await api.tenant()
    link = (await api.http.post("/api/v1/links", json={"url": PRODUCT}, headers=auth)).json()
    base = f"/api/v1/links/{link['id']}/ab"
    cases = [
        ([{"weight": 1}], "variants", "count"),
        ([{"weight": 1}] * 6, "variants", "count"),
        ([{"weight": 1}, {"weight": 1}], "variants.1.url", "missing"),
        ([{"weight": 0}, {"url": B}], "variants.0.weight", "out_of_range"),
        ([{}, {"url": "http://10.1.2.3/"}], "variants.1.url", "private_address"),
        ([{}, {"url": "javascript:alert(1)"}], "variants.1.url", "unsupported_scheme"),
    ]
    for variants, field, code in cases:
        r = await api.http.put(base, json={"variants": variants}, headers=auth)
        problem = assert_problem(r, 422, "invalid_input", field)
        assert problem["errors"][0]["code"] == code
    assert_problem(await api.http.get(base, headers=auth), 404, "not_found")
