"""Rate limits of the API: per key on every keyed call, and link creation per client
address whatever the key; a refusal is a 429 problem with Retry-After and changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from api_client import Api, assert_problem, running_api
from hoplink.storage.tables import links

URL = "https://shop.example.com/item/1"


async def link_count(api: Api) -> int:
    async with api.db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(links))).scalar_one())


async def test_a_key_over_its_rate_gets_429_with_retry_after(db_url: str, tmp_path: Path) -> None:
    async with running_api(db_url, tmp_path / "data", rate_limit_api_key="3/1m") as api:
        ws, headers = await api.tenant()
        key2 = await api.key(ws)
        for _ in range(3):
            assert (await api.http.get("/api/v1/links", headers=headers)).status_code == 200
        refused = await api.http.get("/api/v1/links", headers=headers)
        body = assert_problem(refused, 429, "rate_limited")
        assert "this API key has made too many requests" in body["detail"]
        assert 19 <= int(refused.headers["retry-after"]) <= 20  # one more every 20 s
        assert refused.headers["ratelimit-policy"] == '"rate_limited";q=3;w=60'
        assert refused.headers["ratelimit"].startswith('"rate_limited";r=0;t=')
        # Refused before any work: a create with the spent key creates nothing.
        before = await link_count(api)
        post = await api.http.post("/api/v1/links", json={"url": URL}, headers=headers)
        assert_problem(post, 429, "rate_limited")
        assert await link_count(api) == before
        # The limit is the key's: another key of the same workspace is not affected.
        other = {"Authorization": f"Bearer {key2}"}
        assert (await api.http.get("/api/v1/links", headers=other)).status_code == 200
        # A bad key is still a 401, not a 429 (nothing to count it against).
        bad = await api.http.get("/api/v1/links", headers={"Authorization": "Bearer hl_nope"})
        assert bad.status_code == 401


async def test_refused_creations_are_limited_per_client_address(
    db_url: str, tmp_path: Path
) -> None:
    """Created links are the workspace quota's business; an address whose creations keep
    being refused (probing the destination policy) is stopped, whichever key it uses."""
    async with running_api(
        db_url, tmp_path / "data", rate_limit_create_ip="5/1h", trusted_proxies="127.0.0.1/32"
    ) as api:
        _, key_a = await api.tenant("Shop A")
        _, key_b = await api.tenant("Shop B")
        there = {"X-Forwarded-For": "203.0.113.50"}
        for _ in range(8):  # more than the address limit: created links are not counted
            r = await api.http.post("/api/v1/links", json={"url": URL}, headers=key_a | there)
            assert r.status_code == 201, r.text
        bulk = {"items": [{"url": URL}] * 10}
        r = await api.http.post("/api/v1/links/bulk", json=bulk, headers=key_a | there)
        assert r.status_code == 200 and r.json()["created"] == 10
        bad = {"url": "ftp://shop.example.com/x"}
        for _ in range(3):
            r = await api.http.post("/api/v1/links", json=bad, headers=key_a | there)
            assert r.status_code == 422
        mixed = {"items": [bad, bad, {"url": URL}]}
        r = await api.http.post("/api/v1/links/bulk", json=mixed, headers=key_a | there)
        assert r.status_code == 200 and r.json()["failed"] == 2  # each refused item counts
        before = await link_count(api)
        # Five refusals: now refused before any work, with any key, single or bulk.
        for path, body in (("/api/v1/links", {"url": URL}), ("/api/v1/links/bulk", bulk)):
            for key in (key_a, key_b):
                refused = await api.http.post(path, json=body, headers=key | there)
                problem = assert_problem(refused, 429, "rate_limited")
                assert "link creations from your address were refused" in problem["detail"]
                assert int(refused.headers["retry-after"]) >= 1
        assert await link_count(api) == before
        # Another address is not affected.
        elsewhere = key_b | {"X-Forwarded-For": "198.51.100.51"}
        r = await api.http.post("/api/v1/links", json={"url": URL}, headers=elsewhere)
        assert r.status_code == 201


async def test_workspace_quota_refuses_whole_calls_and_says_when(
    db_url: str, tmp_path: Path
) -> None:
    async with running_api(
        db_url, tmp_path / "data", quota_links_per_day=4, quota_links_per_month=100
    ) as api:
        _ws, key = await api.tenant("Shop A")
        _, other = await api.tenant("Shop B")
        for _ in range(3):
            r = await api.http.post("/api/v1/links", json={"url": URL}, headers=key)
            assert r.status_code == 201
        # Two more would pass the quota: the whole bulk call is refused, nothing written.
        bulk = {"items": [{"url": URL}, {"url": URL}]}
        refused = await api.http.post("/api/v1/links/bulk", json=bulk, headers=key)
        problem = assert_problem(refused, 429, "quota_exceeded")
        assert "may create 4 links per day (UTC) and has created 3" in problem["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 86_401
        assert await link_count(api) == 3
        assert (await api.http.post("/api/v1/links", json={"url": URL}, headers=key)).is_success
        assert_problem(
            await api.http.post("/api/v1/links", json={"url": URL}, headers=key),
            429,
            "quota_exceeded",
        )
        # The quota is the workspace's: another one still creates.
        assert (await api.http.post("/api/v1/links", json={"url": URL}, headers=other)).is_success


async def test_limits_can_be_turned_off(db_url: str, tmp_path: Path) -> None:
    async with running_api(
        db_url, tmp_path / "data", rate_limit_api_key="off", rate_limit_create_ip="off"
    ) as api:
        _, headers = await api.tenant()
        bulk = {"items": [{"url": URL}] * 50}
        for _ in range(3):
            r = await api.http.post("/api/v1/links/bulk", json=bulk, headers=headers)
            assert r.status_code == 200 and r.json()["created"] == 50


async def test_429_is_documented_for_keyed_operations(api: Api) -> None:
    spec = (await api.http.get("/api/v1/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert "429" in operation["responses"], f"{method.upper()} {path}"
