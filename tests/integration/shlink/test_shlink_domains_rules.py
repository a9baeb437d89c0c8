"""Shlink compatibility additions of issue 16 on real SQLite and PostgreSQL: validSince /
validUntil / maxVisits as the link's schedule and click limit, redirect rules as routing
rules (and what cannot be mapped, refused in Shlink's format), and custom short domains
through Shlink's ``domain`` parameters and domain redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from test_shlink_api import PHONE, REST, problem, shlink_key

from api_client import Api, running_api
from clickids import without_click_id
from hoplink.accounts.models import Scope
from hoplink.domains import service as domain_service
from hoplink.links.models import ShortDomain
from hoplink.safety.policy import DestinationPolicy
from hoplink.workspaces.models import Workspace

ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile"


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data", custom_domains="automatic") as client:
        yield client


async def test_valid_since_until_and_max_visits_are_the_links_schedule(api: Api) -> None:
    _, key = await shlink_key(api)
    body = {
        "longUrl": "https://shop.example.com/sale",
        "customSlug": "sale",
        "validSince": "2020-01-01T00:00:00+00:00",
        "validUntil": "2099-01-01T00:00:00Z",
        "maxVisits": 50,
    }
    r = await api.http.post(f"{REST}/short-urls", json=body, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["meta"] == {
        "validSince": "2020-01-01T00:00:00+00:00",
        "validUntil": "2099-01-01T00:00:00+00:00",
        "maxVisits": 50,
    }
    assert (await api.http.get("/sale")).status_code == 302
    # Ended: the link answers its expiry page instead of redirecting.
    r = await api.http.patch(
        f"{REST}/short-urls/sale", json={"validUntil": "2021-01-01T00:00:00Z"}, headers=key
    )
    assert r.json()["meta"]["validUntil"] == "2021-01-01T00:00:00+00:00"
    assert (await api.http.get("/sale")).status_code != 302
    # The list's filters: an ended link is left out on request.
    listed = await api.http.get(
        f"{REST}/short-urls", params={"excludePastValidUntil": "true"}, headers=key
    )
    assert listed.json()["shortUrls"]["data"] == []
    listed = await api.http.get(f"{REST}/short-urls", headers=key)
    assert [u["shortCode"] for u in listed.json()["shortUrls"]["data"]] == ["sale"]
    r = await api.http.patch(
        f"{REST}/short-urls/sale", json={"validUntil": None, "maxVisits": None}, headers=key
    )
    assert r.json()["meta"] == {
        "validSince": "2020-01-01T00:00:00+00:00",
        "validUntil": None,
        "maxVisits": None,
    }
    assert (await api.http.get("/sale")).status_code == 302
    for bad, field in (
        ({"maxVisits": -1}, "maxVisits"),
        ({"validSince": "2030-01-01", "validUntil": "2029-01-01"}, "validUntil"),
    ):
        r = await api.http.post(
            f"{REST}/short-urls", json={"longUrl": "https://shop.example.com/", **bad}, headers=key
        )
        assert field in problem(r, 400, "invalid-data")["invalidElements"], r.text


async def test_redirect_rules_map_onto_routing_rules(api: Api) -> None:
    ws, key = await shlink_key(api)
    r = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://shop.example.com/item", "customSlug": "item"},
        headers=key,
    )
    assert r.json()["hasRedirectRules"] is False
    rules: list[dict[str, Any]] = [
        {
            "longUrl": "https://shop.example.com/android",
            "conditions": [{"type": "device", "matchValue": "android", "matchKey": None}],
        },
        {
            "longUrl": "https://shop.example.com/promo",
            "conditions": [
                {"type": "query-param", "matchKey": "promo", "matchValue": "x1"},
                {"type": "geolocation-country-code", "matchKey": None, "matchValue": "JP"},
            ],
        },
    ]
    url = f"{REST}/short-urls/item/redirect-rules"
    r = await api.http.post(url, json={"redirectRules": rules}, headers=key)
    assert r.status_code == 200, r.text
    got = r.json()["redirectRules"]
    assert [g["longUrl"] for g in got] == [rule["longUrl"] for rule in rules]
    assert [g["priority"] for g in got] == [1, 2]
    assert got[0]["conditions"] == rules[0]["conditions"]
    assert (await api.http.get(url, headers=key)).json()["redirectRules"] == got
    r = await api.http.get(f"{REST}/short-urls/item", headers=key)
    assert r.json()["hasRedirectRules"] is True
    follow = await api.http.get("/item", headers={"user-agent": ANDROID})
    assert without_click_id(follow.headers["location"]) == "https://shop.example.com/android"
    follow = await api.http.get("/item", headers={"user-agent": PHONE})
    assert without_click_id(follow.headers["location"]) == "https://shop.example.com/item"

    for condition in (
        {"type": "ip-address", "matchKey": None, "matchValue": "1.2.3.4"},
        {"type": "device", "matchKey": None, "matchValue": "windows"},
        {"type": "valueless-query-param", "matchKey": "a", "matchValue": None},
    ):
        bad = [{"longUrl": "https://shop.example.com/x", "conditions": [condition]}]
        r = await api.http.post(url, json={"redirectRules": bad}, headers=key)
        found = problem(r, 400, "invalid-data")
        assert found["invalidElements"] == ["redirectRules"], found
    bad = [{"longUrl": "javascript:alert(1)", "conditions": rules[0]["conditions"]}]
    problem(await api.http.post(url, json={"redirectRules": bad}, headers=key), 400, "invalid-data")
    assert (await api.http.get(url, headers=key)).json()["redirectRules"] == got  # unchanged

    # A rule Shlink cannot express (an in-app browser) is never overwritten by a Shlink client.
    link_id = (await api.http.get("/api/v1/links?q=item", headers=bearer(key))).json()
    lid = link_id["items"][0]["id"]
    in_app = {
        "conditions": [{"type": "in_app", "values": ["tiktok"]}],
        "action": {"type": "url", "url": "https://shop.example.com/tt"},
    }
    r = await api.http.post(f"/api/v1/links/{lid}/rules", json=in_app, headers=bearer(key))
    assert r.status_code == 201, r.text
    assert (await api.http.get(url, headers=key)).json()["redirectRules"] == got
    r = await api.http.post(url, json={"redirectRules": []}, headers=key)
    problem(r, 400, "invalid-data")
    assert ws is not None


def bearer(key: dict[str, str]) -> dict[str, str]:
    return {"authorization": f"Bearer {key['X-Api-Key']}"}


async def _custom(api: Api, ws: Workspace, host: str) -> ShortDomain:
    async with api.db.transaction() as tx:
        d = await domain_service.add_domain(
            tx,
            workspace=ws,
            hostname=host,
            settings=api.app.settings,
            policy=DestinationPolicy(),
        )
        return await domain_service.approve_domain(tx, ref=d.id, actor="admin")


async def test_custom_domains_through_shlink_domain_parameters(api: Api) -> None:
    ws, key = await shlink_key(api)
    rival, rival_key = await shlink_key(api, "Rival")
    await _custom(api, ws, "go.brand.example")
    await _custom(api, rival, "go.rival.example")

    listed = (await api.http.get(f"{REST}/domains", headers=key)).json()["domains"]["data"]
    assert {d["domain"] for d in listed} == {"hop.test", "go.brand.example"}
    r = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://shop.example.com/a", "domain": "go.brand.example"},
        headers=key,
    )
    assert r.status_code == 200 and r.json()["domain"] == "go.brand.example", r.text
    code = r.json()["shortCode"]
    assert r.json()["shortUrl"].endswith(f"go.brand.example/{code}")
    r = await api.http.get(f"{REST}/short-urls/{code}?domain=go.brand.example", headers=key)
    assert r.status_code == 200
    follow = await api.http.get(f"http://go.brand.example/{code}")
    assert without_click_id(follow.headers["location"]) == "https://shop.example.com/a"

    # Another workspace's domain: not usable, not found, not editable.
    r = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://shop.example.com/a", "domain": "go.brand.example"},
        headers=rival_key,
    )
    assert "domain" in problem(r, 400, "invalid-data")["invalidElements"]
    r = await api.http.get(f"{REST}/short-urls/{code}?domain=go.brand.example", headers=rival_key)
    problem(r, 404, "short-url-not-found")

    edit = {
        "domain": "go.brand.example",
        "baseUrlRedirect": "https://brand.example.com/",
        "regular404Redirect": "https://brand.example.com/404",
    }
    r = await api.http.patch(f"{REST}/domains/redirects", json=edit, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["invalidShortUrlRedirect"] == "https://brand.example.com/404"
    root = await api.http.get("http://go.brand.example/")
    assert root.status_code == 302 and root.headers["location"] == "https://brand.example.com/"
    listed = (await api.http.get(f"{REST}/domains", headers=key)).json()["domains"]["data"]
    mine = next(d for d in listed if d["domain"] == "go.brand.example")
    assert mine["redirects"]["baseUrlRedirect"] == "https://brand.example.com/"

    r = await api.http.patch(f"{REST}/domains/redirects", json=edit, headers=rival_key)
    problem(r, 404, "domain-not-found")
    r = await api.http.patch(
        f"{REST}/domains/redirects",
        json={**edit, "invalidShortUrlRedirect": "https://brand.example.com/other"},
        headers=key,
    )
    assert problem(r, 400, "invalid-data")["invalidElements"] == ["invalidShortUrlRedirect"]
    r = await api.http.patch(
        f"{REST}/domains/redirects",
        json={"domain": "go.brand.example", "baseUrlRedirect": "javascript:alert(1)"},
        headers=key,
    )
    assert problem(r, 400, "invalid-data")["invalidElements"] == ["baseUrlRedirect"]
    _, writer = await shlink_key(
        api, "Writer", scopes=frozenset({Scope.LINKS_READ, Scope.LINKS_WRITE})
    )
    r = await api.http.patch(f"{REST}/domains/redirects", json=edit, headers=writer)
    assert r.status_code == 403


async def test_find_if_exists_looks_on_the_workspace_default_domain(api: Api) -> None:
    """Without ``domain``, Shlink creates on the workspace's default custom domain; its
    findIfExists must look there too (it looked on the platform's: a second link, or a
    "slug in use" for the very link it should have returned)."""
    ws, key = await shlink_key(api)
    admin = await api.key(ws, frozenset({Scope.WORKSPACE_ADMIN}))
    domain = await _custom(api, ws, "go.brand.example")
    r = await api.http.patch(
        f"/api/v1/workspace/short-domains/{domain.id}",
        json={"workspace_default": True},
        headers={"authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 200, r.text
    body = {"longUrl": "https://shop.example.com/a", "tags": ["q4"], "findIfExists": True}
    first = await api.http.post(f"{REST}/short-urls", json=body, headers=key)
    assert first.status_code == 200 and first.json()["domain"] == "go.brand.example", first.text
    again = await api.http.post(f"{REST}/short-urls", json=body, headers=key)
    assert again.status_code == 200, again.text
    assert again.json()["shortCode"] == first.json()["shortCode"]
    slug = {**body, "customSlug": "summer"}
    first = await api.http.post(f"{REST}/short-urls", json=slug, headers=key)
    assert first.status_code == 200, first.text
    again = await api.http.post(f"{REST}/short-urls", json=slug, headers=key)
    assert again.status_code == 200 and again.json()["shortCode"] == "summer", again.text
    listed = (await api.http.get(f"{REST}/short-urls", headers=key)).json()["shortUrls"]
    assert listed["pagination"]["totalItems"] == 2


async def test_schedule_errors_name_shlinks_fields_in_the_message_too(api: Api) -> None:
    """validUntil before validSince said "validUntil: must be after starts_at": hoplink's
    own field name, which no Shlink client knows."""
    _, key = await shlink_key(api)
    body = {
        "longUrl": "https://shop.example.com/a",
        "validSince": "2027-01-02T00:00:00+00:00",
        "validUntil": "2027-01-01T00:00:00+00:00",
    }
    r = await api.http.post(f"{REST}/short-urls", json=body, headers=key)
    found = problem(r, 400, "invalid-data")
    assert found["invalidElements"] == ["validUntil"]
    assert "validSince" in found["detail"] and "starts_at" not in r.text, found
