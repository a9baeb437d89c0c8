"""/rest/v3 (Shlink REST API v3 compatibility) end to end on real SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from api_client import Api
from hoplink.accounts.models import Scope
from hoplink.clicks.models import Click
from hoplink.ingest.worker import Worker

REST = "/rest/v3"
SHLINK = "https://shlink.io/api/error/"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


def problem(r: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["type"] == SHLINK + kind, body
    assert body["title"] and body["detail"]
    return body


async def shlink_key(api: Api, name: str = "Acme", scopes: frozenset[Scope] | None = None) -> Any:
    ws = await api.workspace(name)
    key = await api.key(ws, scopes) if scopes is not None else await api.key(ws)
    return ws, {"X-Api-Key": key}


class _NoSource:
    async def read(self, max_items: int, wait: float) -> tuple[list[Click], object]:
        return [], None

    async def ack(self, token: object) -> None:
        return None


async def visit(api: Api, ws_id: str, link_id: str, n: int, at: float, **kw: Any) -> None:
    values: dict[str, Any] = {
        "click_id": f"c{n:04d}{link_id}",
        "ts": at,
        "link_id": link_id,
        "workspace_id": ws_id,
        "domain": "hop.test",
        "method": "GET",
        "user_agent": PHONE,
        "referrer": "https://m.facebook.com/story",
        "accept_language": "en-US",
        "country": "DE",
        "visitor_hash": f"v{n}",
    }
    await Worker(db=api.db, source=_NoSource()).process([Click(**(values | kw))])


async def test_create_get_list_edit_delete(api: Api) -> None:
    _, key = await shlink_key(api)
    r = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://shop.example.com/a?x=1", "tags": ["q4", "鞋"], "title": "A"},
        headers=key,
    )
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["shortUrl"] == f"http://hop.test/{a['shortCode']}" and len(a["shortCode"]) == 7
    assert a["longUrl"] == "https://shop.example.com/a?x=1"
    assert a["domain"] is None and a["tags"] == ["q4", "鞋"] and a["title"] == "A"
    assert a["forwardQuery"] is True and a["crawlable"] is False
    assert a["meta"] == {"validSince": None, "validUntil": None, "maxVisits": None}
    assert a["visitsSummary"] == {"total": 0, "nonBots": 0, "bots": 0}
    assert a["dateCreated"].endswith("+00:00")

    r = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://shop.example.com/b", "customSlug": "bee", "tags": ["q4"]},
        headers=key,
    )
    assert r.status_code == 200 and r.json()["shortCode"] == "bee", r.text
    again = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://x.example.com/", "customSlug": "bee"},
        headers=key,
    )
    assert problem(again, 400, "non-unique-slug")["customSlug"] == "bee"
    found = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://shop.example.com/a?x=1", "findIfExists": True},
        headers=key,
    )
    assert found.json()["shortCode"] == a["shortCode"]

    got = await api.http.get(f"{REST}/short-urls/bee", headers=key)
    assert got.status_code == 200 and got.json()["longUrl"] == "https://shop.example.com/b"
    assert (await api.http.get(f"{REST}/short-urls/bee?domain=DEFAULT", headers=key)).is_success
    body = problem(
        await api.http.get(f"{REST}/short-urls/nope", headers=key), 404, "short-url-not-found"
    )
    assert body["shortCode"] == "nope"

    listed = (await api.http.get(f"{REST}/short-urls", headers=key)).json()["shortUrls"]
    assert [s["shortCode"] for s in listed["data"]] == ["bee", a["shortCode"]]
    assert listed["pagination"] == {
        "currentPage": 1, "pagesCount": 1, "itemsPerPage": 10, "itemsInCurrentPage": 2,
        "totalItems": 2,
    }  # fmt: skip
    params: Any = {"orderBy": "dateCreated-ASC", "itemsPerPage": 1, "page": 2}
    page2 = (await api.http.get(f"{REST}/short-urls", params=params, headers=key)).json()
    assert [s["shortCode"] for s in page2["shortUrls"]["data"]] == ["bee"]
    assert page2["shortUrls"]["pagination"]["pagesCount"] == 2
    params = [("tags[]", "鞋"), ("tags[]", "q4"), ("tagsMode", "all")]
    both = (await api.http.get(f"{REST}/short-urls", params=params, headers=key)).json()
    assert [s["shortCode"] for s in both["shortUrls"]["data"]] == [a["shortCode"]]
    params = [("tags[]", "鞋"), ("tags[]", "q4")]
    anyof = (await api.http.get(f"{REST}/short-urls", params=params, headers=key)).json()
    assert len(anyof["shortUrls"]["data"]) == 2
    search = await api.http.get(f"{REST}/short-urls", params={"searchTerm": "/b"}, headers=key)
    assert [s["shortCode"] for s in search.json()["shortUrls"]["data"]] == ["bee"]
    bad = await api.http.get(f"{REST}/short-urls", params={"orderBy": "colour-ASC"}, headers=key)
    assert problem(bad, 400, "invalid-data")["invalidElements"] == ["orderBy"]

    r = await api.http.patch(
        f"{REST}/short-urls/bee",
        json={"longUrl": "https://shop.example.com/c", "tags": ["new"], "title": None,
              "forwardQuery": False, "validSince": None},
        headers=key,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["longUrl"] == "https://shop.example.com/c" and edited["tags"] == ["new"]
    assert edited["title"] is None and edited["forwardQuery"] is False
    follow = await api.http.get("/bee")
    assert (
        follow.status_code == 302
        and without_click_id(follow.headers["location"]) == "https://shop.example.com/c"
    )

    assert (await api.http.delete(f"{REST}/short-urls/bee", headers=key)).status_code == 204
    assert (await api.http.get("/bee")).status_code == 404
    problem(
        await api.http.delete(f"{REST}/short-urls/bee", headers=key), 404, "short-url-not-found"
    )


async def test_what_is_not_mapped_is_refused_in_shlink_terms(api: Api) -> None:
    _, key = await shlink_key(api)
    for extra, field in (
        ({"maxVisits": 0}, "maxVisits"),  # mapped (test_shlink_domains_rules.py), validated
        ({"validUntil": "soon"}, "validUntil"),
        ({"crawlable": True}, "crawlable"),
    ):
        body = {"longUrl": "https://shop.example.com/a", **extra}
        r = await api.http.post(f"{REST}/short-urls", json=body, headers=key)
        assert problem(r, 400, "invalid-data")["invalidElements"] == [field]
    for body, field in (
        ({"longUrl": "javascript:alert(1)"}, "longUrl"),
        ({"longUrl": "https://shop.example.com/", "customSlug": "a b"}, "customSlug"),
        ({"longUrl": "https://shop.example.com/", "tags": ["a,b"]}, "tags"),
        ({"longUrl": "https://shop.example.com/", "domain": "evil.example"}, "domain"),
        ({}, "longUrl"),
    ):
        r = await api.http.post(f"{REST}/short-urls", json=body, headers=key)
        assert field in problem(r, 400, "invalid-data")["invalidElements"], r.text
    r = await api.http.post(
        f"{REST}/short-urls", content=b"{nope", headers={**key, "content-type": "application/json"}
    )
    problem(r, 400, "invalid-data")
    r = await api.http.patch(
        f"{REST}/domains/redirects",
        json={"domain": "hop.test", "baseUrlRedirect": None},
        headers=key,
    )
    problem(r, 400, "invalid-data")
    problem(await api.http.get(f"{REST}/mercure-info", headers=key), 501, "mercure-not-configured")
    problem(await api.http.get(f"{REST}/no-such-route", headers=key), 404, "not-found")


async def test_authentication_and_scopes(api: Api) -> None:
    problem(await api.http.get(f"{REST}/short-urls"), 401, "missing-authentication")
    bad = await api.http.get(f"{REST}/short-urls", headers={"X-Api-Key": "hl_nope"})
    problem(bad, 401, "invalid-api-key")
    _, reader = await shlink_key(api, scopes=frozenset({Scope.LINKS_READ}))
    assert (await api.http.get(f"{REST}/short-urls", headers=reader)).status_code == 200
    r = await api.http.post(
        f"{REST}/short-urls", json={"longUrl": "https://shop.example.com/"}, headers=reader
    )
    assert r.status_code == 403 and r.json()["type"].endswith("/forbidden"), r.text
    r = await api.http.get(f"{REST}/visits", headers=reader)
    assert r.status_code == 403


async def test_health_and_cors_preflight_need_no_key(api: Api) -> None:
    for path in ("/rest/health", f"{REST}/health"):
        r = await api.http.get(path)
        assert r.status_code == 200 and r.headers["content-type"] == "application/health+json"
        assert r.json()["status"] == "pass"
        assert int(r.json()["version"].split(".")[0]) >= 5
    r = await api.http.options(
        f"{REST}/short-urls",
        headers={
            "Origin": "https://app.shlink.io",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "x-api-key,content-type",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "PATCH" in r.headers["access-control-allow-methods"]
    assert "x-api-key" in r.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in r.headers
    _, key = await shlink_key(api)
    r = await api.http.get(f"{REST}/tags", headers={**key, "Origin": "https://app.shlink.io"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    # The short code "rest" is not swallowed by the compatibility API.
    r = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://shop.example.com/r", "customSlug": "rest"},
        headers=key,
    )
    assert r.status_code == 200, r.text
    assert without_click_id((await api.http.get("/rest")).headers["location"]) == (
        "https://shop.example.com/r"
    )


async def test_visits_tags_and_domains(api: Api) -> None:
    ws, key = await shlink_key(api)
    made = []
    for slug, tags in (("one", ["red", "blue"]), ("two", ["blue"])):
        body = {"longUrl": f"https://shop.example.com/{slug}", "customSlug": slug, "tags": tags}
        made.append((await api.http.post(f"{REST}/short-urls", json=body, headers=key)).json())
    async with api.db.transaction() as tx:
        one = await tx.links(ws.id).by_code((await tx.short_domains.default()).id, "one")  # type: ignore[union-attr]
        two = await tx.links(ws.id).by_code((await tx.short_domains.default()).id, "two")  # type: ignore[union-attr]
    assert one is not None and two is not None
    now = time.time() - 60
    await visit(api, ws.id, one.id, 1, now - 7200)
    await visit(api, ws.id, one.id, 2, now - 3600, country="")
    await visit(api, ws.id, one.id, 3, now, user_agent=PREVIEW, referrer="")
    await visit(api, ws.id, two.id, 4, now - 30)

    r = await api.http.get(f"{REST}/short-urls/one/visits", headers=key)
    assert r.status_code == 200, r.text
    v = r.json()["visits"]
    assert v["pagination"]["totalItems"] == 3 and v["pagination"]["itemsPerPage"] == 5000
    newest = v["data"][0]
    assert newest["potentialBot"] is True and newest["referer"] == ""
    assert newest["visitedUrl"] == "http://hop.test/one" and newest["redirectUrl"] is None
    oldest = v["data"][2]
    assert oldest["referer"] == "m.facebook.com" and oldest["userAgent"] == PHONE
    assert oldest["visitLocation"]["countryCode"] == "DE"
    assert oldest["visitLocation"]["countryName"] == "Germany"
    assert v["data"][1]["visitLocation"] is None
    humans = await api.http.get(
        f"{REST}/short-urls/one/visits",
        params={"excludeBots": "true", "itemsPerPage": 1},
        headers=key,
    )
    hv = humans.json()["visits"]
    assert hv["pagination"]["totalItems"] == 2 and hv["pagination"]["pagesCount"] == 2
    assert len(hv["data"]) == 1
    since = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 5400))
    recent = await api.http.get(
        f"{REST}/short-urls/one/visits", params={"startDate": since}, headers=key
    )
    assert recent.json()["visits"]["pagination"]["totalItems"] == 2

    blue = (await api.http.get(f"{REST}/tags/blue/visits", headers=key)).json()["visits"]
    assert blue["pagination"]["totalItems"] == 4
    red = (await api.http.get(f"{REST}/tags/red/visits", headers=key)).json()["visits"]
    assert red["pagination"]["totalItems"] == 3
    problem(await api.http.get(f"{REST}/tags/none/visits", headers=key), 404, "tag-not-found")
    dom = (await api.http.get(f"{REST}/domains/DEFAULT/visits", headers=key)).json()["visits"]
    assert dom["pagination"]["totalItems"] == 4
    problem(
        await api.http.get(f"{REST}/domains/x.example/visits", headers=key), 404, "domain-not-found"
    )
    orphan = (await api.http.get(f"{REST}/visits/orphan", headers=key)).json()["visits"]
    assert orphan["data"] == [] and orphan["pagination"]["totalItems"] == 0
    non_orphan = (await api.http.get(f"{REST}/visits/non-orphan", headers=key)).json()["visits"]
    assert non_orphan["pagination"]["totalItems"] == 4
    overview = (await api.http.get(f"{REST}/visits", headers=key)).json()["visits"]
    assert overview["nonOrphanVisits"] == {"total": 4, "nonBots": 3, "bots": 1}

    got = (await api.http.get(f"{REST}/short-urls/one", headers=key)).json()
    assert got["visitsSummary"] == {"total": 3, "nonBots": 2, "bots": 1}
    by_visits = await api.http.get(
        f"{REST}/short-urls", params={"orderBy": "visits-DESC"}, headers=key
    )
    assert [s["shortCode"] for s in by_visits.json()["shortUrls"]["data"]] == ["one", "two"]
    by_visits = await api.http.get(
        f"{REST}/short-urls", params={"orderBy": "visits-ASC"}, headers=key
    )
    assert [s["shortCode"] for s in by_visits.json()["shortUrls"]["data"]] == ["two", "one"]

    tags = (await api.http.get(f"{REST}/tags", headers=key)).json()["tags"]
    assert tags["data"] == ["blue", "red"]
    stats = (await api.http.get(f"{REST}/tags/stats", headers=key)).json()["tags"]["data"]
    assert stats == [
        {
            "tag": "blue",
            "shortUrlsCount": 2,
            "visitsSummary": {"total": 4, "nonBots": 3, "bots": 1},
        },
        {"tag": "red", "shortUrlsCount": 1, "visitsSummary": {"total": 3, "nonBots": 2, "bots": 1}},
    ]
    renamed = await api.http.put(
        f"{REST}/tags", json={"oldName": "red", "newName": "crimson"}, headers=key
    )
    assert renamed.status_code == 204, renamed.text
    clash = await api.http.put(
        f"{REST}/tags", json={"oldName": "crimson", "newName": "blue"}, headers=key
    )
    problem(clash, 409, "tag-conflict")
    missing = await api.http.put(
        f"{REST}/tags", json={"oldName": "red", "newName": "x"}, headers=key
    )
    problem(missing, 404, "tag-not-found")
    assert (await api.http.get(f"{REST}/short-urls/one", headers=key)).json()["tags"] == [
        "blue", "crimson"
    ]  # fmt: skip
    gone = await api.http.delete(f"{REST}/tags", params=[("tags[]", "blue")], headers=key)
    assert gone.status_code == 204
    assert (await api.http.get(f"{REST}/tags", headers=key)).json()["tags"]["data"] == ["crimson"]
    assert (await api.http.get(f"{REST}/short-urls/two", headers=key)).json()["tags"] == []

    domains = (await api.http.get(f"{REST}/domains", headers=key)).json()["domains"]
    assert domains["data"] == [
        {
            "domain": "hop.test",
            "isDefault": True,
            "redirects": {
                "baseUrlRedirect": None, "regular404Redirect": None, "invalidShortUrlRedirect": None
            },
        }
    ]  # fmt: skip


async def test_workspaces_never_see_each_other(api: Api) -> None:
    ws_a, key_a = await shlink_key(api, "A")
    _, key_b = await shlink_key(api, "B")
    r = await api.http.post(
        f"{REST}/short-urls",
        json={"longUrl": "https://shop.example.com/a", "customSlug": "mine", "tags": ["secret"]},
        headers=key_a,
    )
    assert r.status_code == 200
    async with api.db.transaction() as tx:
        link = await tx.links(ws_a.id).by_code((await tx.short_domains.default()).id, "mine")  # type: ignore[union-attr]
    assert link is not None
    await visit(api, ws_a.id, link.id, 1, time.time() - 60)
    for method, path, body in (
        ("GET", "/short-urls/mine", None),
        ("PATCH", "/short-urls/mine", {"title": "stolen"}),
        ("DELETE", "/short-urls/mine", None),
        ("GET", "/short-urls/mine/visits", None),
        ("GET", "/short-urls/mine/redirect-rules", None),
    ):
        r = await api.http.request(method, REST + path, json=body, headers=key_b)
        problem(r, 404, "short-url-not-found")
    problem(await api.http.get(f"{REST}/tags/secret/visits", headers=key_b), 404, "tag-not-found")
    rename = await api.http.put(
        f"{REST}/tags", json={"oldName": "secret", "newName": "x"}, headers=key_b
    )
    problem(rename, 404, "tag-not-found")
    await api.http.delete(f"{REST}/tags", params=[("tags[]", "secret")], headers=key_b)
    for path in ("/short-urls", "/tags", "/tags/stats", "/visits/non-orphan"):
        body = (await api.http.get(REST + path, headers=key_b)).json()
        listed = next(iter(body.values()))
        assert listed["data"] == [], (path, body)
    overview = (await api.http.get(f"{REST}/visits", headers=key_b)).json()["visits"]
    assert overview["nonOrphanVisits"]["total"] == 0
    dom = (await api.http.get(f"{REST}/domains/DEFAULT/visits", headers=key_b)).json()["visits"]
    assert dom["data"] == []
    mine = (await api.http.get(f"{REST}/short-urls/mine", headers=key_a)).json()
    assert mine["tags"] == ["secret"] and mine["title"] is None


def without_click_id(location: str) -> str:
    """The Location without the click id hoplink appends to every redirect."""
    return re.sub(r"[?&]hl_click=[0-9a-f]+$", "", location)
