"""/api/v1/links/{id}/rules end to end on real SQLite and PostgreSQL: CRUD, order, history,
problems naming the field, the destination policy, tenant isolation and the redirect."""

from __future__ import annotations

from typing import Any

from api_client import Api, assert_problem
from clickids import without_click_id

PRODUCT = "https://shop.example.com/item/1"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/122.0 Mobile Safari/537.36"


def rule(path: str, os: str = "android", **kw: Any) -> dict[str, Any]:
    return {
        "conditions": [{"type": "os", "values": [os]}],
        "action": {"type": "url", "url": f"https://shop.example.com/{path}"},
        **kw,
    }


async def _link(api: Api, auth: dict[str, str]) -> dict[str, Any]:
    r = await api.http.post("/api/v1/links", json={"url": PRODUCT}, headers=auth)
    assert r.status_code == 201, r.text
    link: dict[str, Any] = r.json()
    return link


async def test_add_list_replace_reorder_delete_and_history(api: Api) -> None:
    _, auth = await api.tenant()
    link = await _link(api, auth)
    base = f"/api/v1/links/{link['id']}/rules"
    a = await api.http.post(base, json=rule("a", name="Android"), headers=auth)
    assert a.status_code == 201, a.text
    b = await api.http.post(base, json={**rule("b", "ios"), "position": 0}, headers=auth)
    assert b.status_code == 201, b.text
    listed = (await api.http.get(base, headers=auth)).json()
    assert [r["id"] for r in listed] == [b.json()["id"], a.json()["id"]]
    assert listed[1] == {
        "id": a.json()["id"],
        "name": "Android",
        "match": "all",
        "conditions": [{"type": "os", "values": ["android"]}],
        "action": {"type": "url", "url": "https://shop.example.com/a"},
    }
    # The redirect follows at once (the API invalidates the cached entry).
    r = await api.http.get(f"/{link['code']}", headers={"user-agent": ANDROID})
    assert without_click_id(r.headers["location"]) == "https://shop.example.com/a"

    replaced = await api.http.put(f"{base}/{a.json()['id']}", json=rule("c"), headers=auth)
    assert replaced.status_code == 200 and replaced.json()["id"] == a.json()["id"]
    r = await api.http.get(f"/{link['code']}", headers={"user-agent": ANDROID})
    assert without_click_id(r.headers["location"]) == "https://shop.example.com/c"

    # Reorder by putting the list back with ids.
    items = [{**rule("c"), "id": a.json()["id"]}, {**rule("b", "ios"), "id": b.json()["id"]}]
    order = await api.http.put(base, json={"rules": items}, headers=auth)
    assert [r["id"] for r in order.json()] == [a.json()["id"], b.json()["id"]]

    gone = await api.http.delete(f"{base}/{b.json()['id']}", headers=auth)
    assert gone.status_code == 204
    missing = await api.http.get(f"{base}/{b.json()['id']}", headers=auth)
    assert_problem(missing, 404, "not_found")
    history = (await api.http.get(f"/api/v1/links/{link['id']}/history", headers=auth)).json()
    assert sum(1 for h in history if h["field"] == "rules") == 5


async def test_app_hand_off_locations_and_presets(api: Api) -> None:
    _, auth = await api.tenant()
    link = await _link(api, auth)
    presets = (await api.http.get("/api/v1/app-presets", headers=auth)).json()
    assert {"amazon", "taobao", "aliexpress"} <= {p["name"] for p in presets}
    body = {
        "conditions": [{"type": "in_app"}],
        "action": {"type": "app", "preset": "amazon", "url": "https://www.amazon.com/dp/B01"},
    }
    r = await api.http.post(f"/api/v1/links/{link['id']}/rules", json=body, headers=auth)
    assert r.status_code == 201, r.text
    locations = r.json()["action"]["locations"]
    assert locations["other"] == "https://www.amazon.com/dp/B01"
    assert locations["android"] == (
        "intent://www.amazon.com/dp/B01#Intent;scheme=https;"
        "package=com.amazon.mShop.android.shopping;"
        "S.browser_fallback_url=https%3A%2F%2Fwww.amazon.com%2Fdp%2FB01;end"
    )
    assert locations["ios"] == "com.amazon.mobile.shopping.web://www.amazon.com/dp/B01"
    # Without a URL, the link's own destination is handed to the app.
    body["action"] = {"type": "app", "preset": "taobao"}
    r = await api.http.post(f"/api/v1/links/{link['id']}/rules", json=body, headers=auth)
    assert r.json()["action"]["url"] == link["final_url"]


async def test_bad_rules_are_422_naming_the_field_and_nothing_is_written(api: Api) -> None:
    _, auth = await api.tenant()
    link = await _link(api, auth)
    base = f"/api/v1/links/{link['id']}/rules"
    bad: list[tuple[dict[str, Any], str, str]] = [
        (rule("x", "windows"), "conditions.0.values.0", "unknown_value"),
        ({**rule("x"), "conditions": []}, "conditions", "empty"),
        (
            {**rule("x"), "conditions": [{"type": "country", "values": ["Germany"]}]},
            "conditions.0.values.0",
            "invalid",
        ),
        (
            {**rule("x"), "conditions": [{"type": "time", "start": "2026-11-11T00:00:00"}]},
            "conditions.0.start",
            "naive_datetime",
        ),
        (
            {
                **rule("x"),
                "conditions": [
                    {"type": "time", "start": "2026-11-12T00:00:00Z", "end": "2026-11-11T00:00Z"}
                ],
            },
            "conditions.0.end",
            "before_start",
        ),
        (
            {**rule("x"), "conditions": [{"type": "query", "name": "a b"}]},
            "conditions.0.name",
            "invalid",
        ),
        (
            {**rule("x"), "conditions": [{"type": "device", "values": ["mobile"], "name": "q"}]},
            "conditions.0.name",
            "unknown_field",
        ),
        (
            {**rule("x"), "action": {"type": "url", "url": "javascript:alert(1)"}},
            "action.url",
            "unsupported_scheme",
        ),
        # The destination policy judges rule URLs like any link's.
        ({**rule("x"), "action": {"type": "url", "url": "http://10.0.0.1/"}}, "action.url",
         "private_address"),
        ({**rule("x"), "action": {"type": "url", "url": "https://bit.ly/abc"}}, "action.url",
         "url_shortener"),
        ({**rule("x"), "action": {"type": "app", "preset": "nope"}}, "action.preset",
         "unknown_preset"),
    ]  # fmt: skip
    for body, field, code in bad:
        r = await api.http.post(base, json=body, headers=auth)
        problem = assert_problem(r, 422, "invalid_input")
        assert {"field": field, "code": code} in [
            {"field": e["field"], "code": e["code"]} for e in problem["errors"]
        ], (body, problem)
    # Pydantic's own checks (an unknown condition type) are 422s naming the field too.
    r = await api.http.post(
        base, json={**rule("x"), "conditions": [{"type": "weather"}]}, headers=auth
    )
    assert_problem(r, 422, "invalid_input")
    # Out-of-range position, and a whole list with one bad item: nothing written.
    r = await api.http.post(base, json={**rule("x"), "position": 3}, headers=auth)
    assert_problem(r, 422, "invalid_input", "position")
    r = await api.http.put(base, json={"rules": [rule("ok"), rule("bad", "beos")]}, headers=auth)
    assert_problem(r, 422, "invalid_input", "rules.1.conditions.0.values.0")
    assert (await api.http.get(base, headers=auth)).json() == []
    r = await api.http.put(base, json={"rules": [{**rule("x"), "id": "rul_nope"}]}, headers=auth)
    assert_problem(r, 422, "invalid_input", "rules.0.id")


async def test_another_workspaces_link_rules_are_not_found(api: Api) -> None:
    _, auth = await api.tenant("Shop A")
    _, other = await api.tenant("Shop B")
    link = await _link(api, auth)
    base = f"/api/v1/links/{link['id']}/rules"
    created = await api.http.post(base, json=rule("a"), headers=auth)
    rule_id = created.json()["id"]
    for method, path, body in (
        ("GET", base, None),
        ("POST", base, rule("b")),
        ("PUT", base, {"rules": []}),
        ("GET", f"{base}/{rule_id}", None),
        ("PUT", f"{base}/{rule_id}", rule("b")),
        ("DELETE", f"{base}/{rule_id}", None),
    ):
        r = await api.http.request(method, path, json=body, headers=other)
        assert_problem(r, 404, "not_found")
    assert len((await api.http.get(base, headers=auth)).json()) == 1


async def test_a_country_is_a_real_iso_code(api: Api) -> None:
    """Any two letters were taken: a rule for "UK" (ISO says GB) was saved and never
    matched anyone. Codes that exist pass; others are refused, the UK one with the fix."""
    _, auth = await api.tenant()
    link = await _link(api, auth)
    base = f"/api/v1/links/{link['id']}/rules"
    countries = {"type": "country", "values": ["uk", "XX", "gb"]}
    r = await api.http.post(base, json={**rule("x"), "conditions": [countries]}, headers=auth)
    errors = assert_problem(r, 422, "invalid_input")["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("conditions.0.values.0", "unknown_country"),
        ("conditions.0.values.1", "unknown_country"),
    ]
    assert "GB" in errors[0]["message"]
    assert (await api.http.get(base, headers=auth)).json() == []
    ok = {"type": "country", "values": ["gb", "DE", "XK"]}
    r = await api.http.post(base, json={**rule("x"), "conditions": [ok]}, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["conditions"][0]["values"] == ["GB", "DE", "XK"]
