"""POST /api/v1/links/bulk: per-item results, all-or-nothing, limits."""

from __future__ import annotations

from api_client import Api, assert_problem


async def test_partial_failure_is_reported_per_item(api: Api) -> None:
    _, auth = await api.tenant()
    items = [
        {"url": "https://shop.example.com/a", "utm_source": "tiktok"},
        {"url": "https://shop.example.com/b\n"},
        "not an object",
        {"url": "https://shop.example.com/c", "code": "taken-code"},
        {"url": "https://shop.example.com/d", "code": "taken-code"},
        {"url": "https://shop.example.com/e", "bogus": 1},
        {"url": "https://shop.example.com/f"},
    ]
    r = await api.http.post("/api/v1/links/bulk", json={"items": items}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["failed"]) == (3, 4)
    ok = [res["ok"] for res in body["results"]]
    assert ok == [True, False, False, True, False, False, True]
    errors = {res["index"]: res["errors"][0] for res in body["results"] if not res["ok"]}
    assert errors[1]["field"] == "url" and errors[1]["code"] == "control_character"
    assert errors[2]["code"] == "model_type"
    assert errors[4] == {
        "field": "code",
        "code": "code_taken",
        "message": "'taken-code' is already taken on this domain",
    }
    assert errors[5]["field"] == "bogus"
    assert body["results"][0]["link"]["final_url"].endswith("?utm_source=tiktok")
    listed = (await api.http.get("/api/v1/links", headers=auth)).json()
    assert listed["total"] == 3


async def test_all_or_nothing_writes_nothing(api: Api) -> None:
    _, auth = await api.tenant()
    items = [{"url": "https://shop.example.com/a"}, {"url": "ftp://shop.example.com/b"}]
    r = await api.http.post(
        "/api/v1/links/bulk", json={"items": items, "all_or_nothing": True}, headers=auth
    )
    assert_problem(r, 422, "invalid_input", "items.1.url")
    assert (await api.http.get("/api/v1/links", headers=auth)).json()["total"] == 0


async def test_limits(api: Api) -> None:
    _, auth = await api.tenant()
    r = await api.http.post("/api/v1/links/bulk", json={"items": []}, headers=auth)
    assert_problem(r, 422, "invalid_input", "items")
    many = [{"url": f"https://shop.example.com/{i}"} for i in range(1001)]
    r = await api.http.post("/api/v1/links/bulk", json={"items": many}, headers=auth)
    body = assert_problem(r, 422, "invalid_input", "items")
    assert "1000" in body["detail"]


async def test_a_thousand_in_one_call(api: Api) -> None:
    _, auth = await api.tenant()
    items = [
        {
            "url": f"https://shop.example.com/item/{i}?sku={i}",
            "utm_source": "facebook",
            "tags": ["bulk"],
        }
        for i in range(1000)
    ]
    r = await api.http.post("/api/v1/links/bulk", json={"items": items}, headers=auth)
    body = r.json()
    assert body["created"] == 1000, body["results"][:3]
    codes = {res["link"]["code"] for res in body["results"]}
    assert len(codes) == 1000
    tags = (await api.http.get("/api/v1/tags", headers=auth)).json()
    assert tags == [{"name": "bulk", "links": 1000}]
