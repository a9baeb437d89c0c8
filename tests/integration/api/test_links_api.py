"""/api/v1/links end to end on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from api_client import Api, assert_problem
from clickids import without_click_id

PRODUCT = "https://shop.example.com/item/1005006?sku=42#reviews"


async def test_create_returns_short_url_and_encoded_final_url(api: Api) -> None:
    _, auth = await api.tenant()
    r = await api.http.post(
        "/api/v1/links",
        json={
            "url": PRODUCT,
            "utm_source": "facebook",
            "utm_medium": "social",
            "utm_campaign": "双11 #1 & more=yes",
            "channel": "Facebook",
            "tags": ["q4", "shoes"],
            "title": "Red shoes",
        },
        headers=auth,
    )
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["short_url"] == f"http://hop.test/{link['code']}"
    assert len(link["code"]) == 7
    assert link["channel"] == "facebook"
    assert link["final_url"] == (
        "https://shop.example.com/item/1005006?sku=42&utm_source=facebook&utm_medium=social"
        "&utm_campaign=%E5%8F%8C11%20%231%20%26%20more%3Dyes#reviews"
    )
    got = await api.http.get(f"/api/v1/links/{link['id']}", headers=auth)
    assert got.json() == link


async def test_invalid_input_names_the_field(api: Api) -> None:
    _, auth = await api.tenant()
    cases = [
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://ok.example.com/", "utm_source": "a\tb"}, "utm_source"),
        ({"url": "https://ok.example.com/", "channel": "myspace"}, "channel"),
        ({"url": "https://ok.example.com/", "code": "api"}, "code"),
        ({"url": "https://ok.example.com/", "code": "a b"}, "code"),
        ({"url": "https://ok.example.com/", "campaign_id": "cmp_nope"}, "campaign_id"),
        ({"url": "https://ok.example.com/", "colour": "red"}, "colour"),
        ({"url": "https://ok.example.com/", "tags": "notalist"}, "tags"),
        ({}, "url"),
        ({"url": "https://ok.example.com/?utm_source=mail", "utm_source": "fb"}, "utm_source"),
    ]
    for body, field in cases:
        r = await api.http.post("/api/v1/links", json=body, headers=auth)
        assert_problem(r, 422, "invalid_input", field)
    r = await api.http.post(
        "/api/v1/links", content=b"{not json", headers={**auth, "content-type": "application/json"}
    )
    assert_problem(r, 400, "bad_json")
    listed = (await api.http.get("/api/v1/links", headers=auth)).json()
    assert listed["total"] == 0
    # Out of range is said as a bound, in the API's words (not Pydantic's "Input should be").
    for params, field, words in [
        ({"per_page": "-5"}, "per_page", "must be 1 or more"),
        ({"page": "0"}, "page", "must be 1 or more"),
        ({"per_page": "100000"}, "per_page", "must be 200 or less"),
    ]:
        body = assert_problem(
            await api.http.get("/api/v1/links", params=params, headers=auth),
            422, "invalid_input", field,
        )  # fmt: skip
        assert body["errors"][0]["message"] == words, body
    r = await api.http.post(
        "/api/v1/links", json={"url": "https://ok.example.com/", "max_clicks": -5}, headers=auth
    )
    message = assert_problem(r, 422, "invalid_input", "max_clicks")["errors"][0]["message"]
    assert message == "must be 1 to 1,000,000,000"


async def test_list_paginates_and_filters(api: Api) -> None:
    _, auth = await api.tenant()
    for i in range(5):
        r = await api.http.post(
            "/api/v1/links",
            json={
                "url": f"https://shop.example.com/{i}",
                "tags": ["even" if i % 2 == 0 else "odd"],
            },
            headers=auth,
        )
        assert r.status_code == 201
    page1 = (await api.http.get("/api/v1/links?per_page=2&sort=created", headers=auth)).json()
    assert page1["total"] == 5 and page1["next_page"] == 2
    assert [i["url"] for i in page1["items"]] == [
        "https://shop.example.com/0",
        "https://shop.example.com/1",
    ]
    page3 = (
        await api.http.get("/api/v1/links?per_page=2&page=3&sort=created", headers=auth)
    ).json()
    assert len(page3["items"]) == 1 and page3["next_page"] is None
    odd = (await api.http.get("/api/v1/links?tag=odd", headers=auth)).json()
    assert odd["total"] == 2
    r = await api.http.get("/api/v1/links?sort=random", headers=auth)
    assert_problem(r, 422, "invalid_input", "sort")
    r = await api.http.get("/api/v1/links?per_page=1000", headers=auth)
    assert_problem(r, 422, "invalid_input", "per_page")
    tags = (await api.http.get("/api/v1/tags", headers=auth)).json()
    assert tags == [{"name": "even", "links": 3}, {"name": "odd", "links": 2}]


async def test_edit_archive_delete_and_history(api: Api) -> None:
    _, auth = await api.tenant()
    link = (
        await api.http.post(
            "/api/v1/links", json={"url": PRODUCT, "utm_source": "tiktok"}, headers=auth
        )
    ).json()
    r = await api.http.patch(
        f"/api/v1/links/{link['id']}",
        json={"url": "https://shop.example.com/item/2", "utm_source": None, "archived": True},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["final_url"] == "https://shop.example.com/item/2"
    assert edited["archived"] is True and edited["code"] == link["code"]
    r = await api.http.patch(f"/api/v1/links/{link['id']}", json={"archived": None}, headers=auth)
    assert_problem(r, 422, "invalid_input", "archived")
    history = (await api.http.get(f"/api/v1/links/{link['id']}/history", headers=auth)).json()
    fields = {h["field"]: h for h in history}
    assert fields["destination_url"]["old_value"] == PRODUCT
    assert fields["utm_source"]["new_value"] is None
    assert fields["archived"]["new_value"] == "true"
    assert fields["destination_url"]["changed_by"].startswith("key:")
    assert (await api.http.delete(f"/api/v1/links/{link['id']}", headers=auth)).status_code == 204
    r = await api.http.get(f"/api/v1/links/{link['id']}", headers=auth)
    assert_problem(r, 404, "not_found")
    r = await api.http.post(
        "/api/v1/links", json={"url": PRODUCT, "code": link["code"]}, headers=auth
    )
    assert_problem(r, 409, "code_taken", "code")


async def test_fifty_concurrent_creates_of_one_custom_code_yield_exactly_one(api: Api) -> None:
    _, auth = await api.tenant()
    _, other_auth = await api.tenant("Rival Store")

    async def attempt(i: int) -> int:
        headers = auth if i % 2 else other_auth
        r = await api.http.post(
            "/api/v1/links",
            json={"url": f"https://shop.example.com/{i}", "code": "black-friday"},
            headers=headers,
        )
        return r.status_code

    statuses = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert sorted(statuses).count(201) == 1, statuses
    assert statuses.count(409) == 49, statuses


async def test_campaigns_bind_into_links(api: Api) -> None:
    _, auth = await api.tenant()
    r = await api.http.post(
        "/api/v1/campaigns", json={"name": "Double 11", "external_id": "fb-2388"}, headers=auth
    )
    assert r.status_code == 201
    campaign = r.json()
    dup = await api.http.post("/api/v1/campaigns", json={"name": "Double 11"}, headers=auth)
    assert_problem(dup, 409, "campaign_exists")
    link = (
        await api.http.post(
            "/api/v1/links",
            json={"url": PRODUCT, "campaign_id": campaign["id"]},
            headers=auth,
        )
    ).json()
    assert link["campaign_id"] == campaign["id"]
    listed = (
        await api.http.get(f"/api/v1/links?campaign_id={campaign['id']}", headers=auth)
    ).json()
    assert listed["total"] == 1
    r = await api.http.patch(
        f"/api/v1/campaigns/{campaign['id']}", json={"name": "Double 11 (2026)"}, headers=auth
    )
    assert r.json()["name"] == "Double 11 (2026)"
    assert (
        await api.http.delete(f"/api/v1/campaigns/{campaign['id']}", headers=auth)
    ).status_code == 204
    assert (await api.http.get(f"/api/v1/links/{link['id']}", headers=auth)).json()[
        "campaign_id"
    ] is None


async def test_openapi_and_docs_are_served_without_cdn(api: Api) -> None:
    spec = (await api.http.get("/api/v1/openapi.json")).json()
    assert "/api/v1/links/bulk" in spec["paths"]
    docs = await api.http.get("/api/docs")
    assert "script-src" not in docs.headers["content-security-policy"]
    assert "http" not in docs.text.replace("http-equiv", "")
    assert (await api.http.get("/api/docs/assets/swagger-ui-bundle.js")).status_code == 200


async def test_patch_semantics_and_history_of_every_field(api: Api) -> None:
    _, auth = await api.tenant()
    link = (
        await api.http.post(
            "/api/v1/links", json={"url": PRODUCT, "tags": ["b", "a"]}, headers=auth
        )
    ).json()
    assert link["tags"] == ["a", "b"]
    same = await api.http.patch(f"/api/v1/links/{link['id']}", json={}, headers=auth)
    assert same.json()["updated_at"] == link["updated_at"]
    r = await api.http.patch(
        f"/api/v1/links/{link['id']}", json={"url": None, "tags": None}, headers=auth
    )
    body = assert_problem(r, 422, "invalid_input")
    assert {e["field"] for e in body["errors"]} == {"url", "tags"}
    r = await api.http.patch(
        f"/api/v1/links/{link['id']}",
        json={"tags": ["c"], "notes": "for KOL Mia", "forward_query": True},
        headers=auth,
    )
    assert r.status_code == 200
    history = (await api.http.get(f"/api/v1/links/{link['id']}/history", headers=auth)).json()
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("forward_query", "false", "true"),
        ("notes", None, "for KOL Mia"),
        ("tags", "a, b", "c"),
    ]


async def test_campaign_patch_null_clears_external_id_and_refuses_null_name(api: Api) -> None:
    _, auth = await api.tenant()
    c = (
        await api.http.post(
            "/api/v1/campaigns", json={"name": "Q4", "external_id": "fb-1"}, headers=auth
        )
    ).json()
    r = await api.http.patch(
        f"/api/v1/campaigns/{c['id']}", json={"external_id": None}, headers=auth
    )
    assert r.json()["external_id"] is None and r.json()["name"] == "Q4"
    r = await api.http.patch(f"/api/v1/campaigns/{c['id']}", json={"name": None}, headers=auth)
    assert_problem(r, 422, "invalid_input", "name")


async def test_protocol_mistakes_get_helpful_problems(api: Api) -> None:
    _, auth = await api.tenant()
    r = await api.http.put("/api/v1/links/lnk_x", json={}, headers=auth)
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers["allow"]  # Starlette names the first matching route's methods
    r = await api.http.post(
        "/api/v1/links",
        content=b"url=https://x.example.com/",
        headers={**auth, "content-type": "text/plain"},
    )
    body = assert_problem(r, 422, "invalid_input")
    assert "application/json" in body["detail"]
    r = await api.http.get("/api/v1/nope", headers=auth)
    assert_problem(r, 404, "not_found")
    r = await api.http.get("/api/v1/links?created_from=2026-01-01T00:00:00 08:00", headers=auth)
    body = assert_problem(r, 422, "invalid_input", "created_from")
    assert "%2B" in body["errors"][0]["message"]


async def test_openapi_declares_bearer_auth_and_problem_answers(api: Api) -> None:
    spec = (await api.http.get("/api/v1/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    create = spec["paths"]["/api/v1/links"]["post"]
    assert {"401", "403", "409", "422"} <= set(create["responses"])
    assert "application/problem+json" in create["responses"]["422"]["content"]


async def test_api_changes_reach_the_redirect_at_once_on_this_node(api: Api) -> None:
    _, auth = await api.tenant()
    # A miss is cached; creating the code must not leave that "not found" behind.
    assert (await api.http.get("/spring-sale")).status_code == 404
    link = (
        await api.http.post(
            "/api/v1/links", json={"url": PRODUCT, "code": "spring-sale"}, headers=auth
        )
    ).json()
    r = await api.http.get("/spring-sale")
    assert r.status_code == 302 and without_click_id(r.headers["location"]) == link["final_url"]
    await api.http.patch(
        f"/api/v1/links/{link['id']}", json={"url": "https://shop.example.com/new"}, headers=auth
    )
    location = (await api.http.get("/spring-sale")).headers["location"]
    assert without_click_id(location) == "https://shop.example.com/new"
    await api.http.patch(f"/api/v1/links/{link['id']}", json={"archived": True}, headers=auth)
    assert (await api.http.get("/spring-sale")).status_code == 302  # archived still redirects
    await api.http.patch(f"/api/v1/links/{link['id']}", json={"disabled": True}, headers=auth)
    assert (await api.http.get("/spring-sale")).status_code == 404
    await api.http.patch(f"/api/v1/links/{link['id']}", json={"disabled": False}, headers=auth)
    assert (await api.http.get("/spring-sale")).status_code == 302
    await api.http.delete(f"/api/v1/links/{link['id']}", headers=auth)
    assert (await api.http.get("/spring-sale")).status_code == 404


async def test_pass_ad_click_ids_is_set_edited_and_used_by_the_redirect(api: Api) -> None:
    ws, auth = await api.tenant()
    r = await api.http.post(
        "/api/v1/links", json={"url": PRODUCT, "pass_ad_click_ids": True}, headers=auth
    )
    assert r.status_code == 201 and r.json()["pass_ad_click_ids"] is True
    link = r.json()
    r = await api.http.get(f"/{link['code']}?gclid=Cj0K.1&ttclid=%3Cx%3E&aff=1")
    base, _, fragment = link["final_url"].partition("#")
    assert without_click_id(r.headers["location"]) == f"{base}&gclid=Cj0K.1#{fragment}"
    r = await api.http.patch(
        f"/api/v1/links/{link['id']}", json={"pass_ad_click_ids": False}, headers=auth
    )
    assert r.status_code == 200 and r.json()["pass_ad_click_ids"] is False
    r = await api.http.get(f"/{link['code']}?gclid=Cj0K.1")
    assert without_click_id(r.headers["location"]) == link["final_url"]
    history = (await api.http.get(f"/api/v1/links/{link['id']}/history", headers=auth)).json()
    assert any(h["field"] == "pass_ad_click_ids" for h in history), history
    r = await api.http.patch(
        f"/api/v1/links/{link['id']}", json={"pass_ad_click_ids": None}, headers=auth
    )
    body = assert_problem(r, 422, "invalid_input", "pass_ad_click_ids")
    assert body["errors"][0]["code"] == "null"
    r = await api.http.post(
        "/api/v1/links", json={"url": PRODUCT, "pass_ad_click_ids": "yes please"}, headers=auth
    )
    assert r.status_code == 422 and "pass_ad_click_ids" in r.text
    me = (await api.http.get("/api/v1/workspace", headers=auth)).json()
    assert me["click_id_param"] == "hl_click" and me["id"] == ws.id
