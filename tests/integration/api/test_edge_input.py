"""Issue 15, findings 1-4: unstorable text, lax types and oversized bodies at the API's edge.

Each was a 500 (or a silent coercion, or a body read in full) on today's main; each must
now be a 4xx problem naming the field, with nothing written — on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from api_client import Api, assert_problem, running_api
from security.tenants import diff, snapshot

URL = "https://shop.example.com/x"


def _json(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


async def _link(api: Api, headers: dict[str, str]) -> str:
    response = await api.http.post("/api/v1/links", json={"url": URL}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_lone_surrogates_are_422_naming_the_field(api: Api) -> None:
    _, headers = await api.tenant()
    link_id = await _link(api, headers)
    before = await snapshot(api.db)
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", "/api/v1/links", {"url": URL, "title": "x\udfff"}, "title"),
        ("POST", "/api/v1/links", {"url": URL, "notes": "\ud800 notes"}, "notes"),
        ("POST", "/api/v1/links", {"url": URL, "tags": ["ok", "t\udc00"]}, "tags.1"),
        (
            "POST",
            "/api/v1/links/bulk",
            {"items": [{"url": URL, "title": "\udfff"}]},
            "items.0.title",
        ),
        ("PATCH", f"/api/v1/links/{link_id}", {"title": "x\udfff"}, "title"),
        ("POST", "/api/v1/campaigns", {"name": "c\udfff"}, "name"),
    ]
    for method, path, body, field in cases:
        # As JSON text with \u escapes: httpx's json= cannot encode a lone surrogate.
        response = await api.http.request(
            method, path, content=json.dumps(body), headers=_json(headers)
        )
        problem = assert_problem(response, 422, "invalid_input", field)
        assert problem["errors"][0]["code"] == "invalid_unicode"
    assert diff(before, await snapshot(api.db)) == {}


async def test_nul_in_lookups_and_references_is_4xx_naming_the_field(api: Api) -> None:
    _, headers = await api.tenant()
    await _link(api, headers)
    before = await snapshot(api.db)
    for name in ("q", "tag", "channel", "campaign_id"):
        response = await api.http.get(f"/api/v1/links?{name}=%00", headers=headers)
        assert_problem(response, 422, "invalid_input", name)
    response = await api.http.get("/api/v1/links/lnk_%00", headers=headers)
    assert_problem(response, 422, "invalid_input", "link_id")
    response = await api.http.get("/api/v1/stats/link/lnk_%00", headers=headers)
    assert_problem(response, 422, "invalid_input", "link_id")
    for field, value in (("campaign_id", "cmp_\u0000"), ("domain", "localhost\u0000")):
        response = await api.http.post(
            "/api/v1/links", json={"url": URL, field: value}, headers=headers
        )
        problem = assert_problem(response, 422, "invalid_input", field)
        assert problem["errors"][0]["code"] == "nul_character"
    assert diff(before, await snapshot(api.db)) == {}


async def test_booleans_and_numbers_must_be_json_types(api: Api) -> None:
    _, headers = await api.tenant()
    link_id = await _link(api, headers)
    before = await snapshot(api.db)
    bulk = {"items": [{"url": URL}, {"url": "not a url"}], "all_or_nothing": "yes"}
    response = await api.http.post("/api/v1/links/bulk", json=bulk, headers=headers)
    assert_problem(response, 422, "invalid_input", "all_or_nothing")
    response = await api.http.post(
        "/api/v1/links", json={"url": URL, "forward_query": "true"}, headers=headers
    )
    assert_problem(response, 422, "invalid_input", "forward_query")
    for value in (1, "false", None):
        response = await api.http.patch(
            f"/api/v1/links/{link_id}", json={"archived": value}, headers=headers
        )
        assert response.status_code == 422, (value, response.text)
    assert diff(before, await snapshot(api.db)) == {}
    # The same calls with JSON booleans work.
    bulk["all_or_nothing"] = True
    response = await api.http.post("/api/v1/links/bulk", json=bulk, headers=headers)
    assert_problem(response, 422, "invalid_input")  # the bad item fails them all
    response = await api.http.patch(
        f"/api/v1/links/{link_id}", json={"archived": True}, headers=headers
    )
    assert response.status_code == 200 and response.json()["archived"] is True


async def test_a_body_past_the_limit_is_refused_while_it_is_read(
    db_url: str, tmp_path: Path
) -> None:
    limit = 64 * 1024
    async with running_api(db_url, tmp_path / "data", api_max_body_bytes=limit) as api:
        _, headers = await api.tenant()
        before = await snapshot(api.db)
        # A declared length past the limit: refused before anything is read.
        big = json.dumps({"items": [{"url": URL}] * 5000}).encode()
        assert len(big) > limit
        response = await api.http.post(
            "/api/v1/links/bulk",
            content=big,
            headers=_json(headers),
        )
        assert_problem(response, 413, "payload_too_large")
        # No declared length (chunked): refused once the limit is passed, the rest unread.
        pulled = 0

        async def endless() -> AsyncIterator[bytes]:
            nonlocal pulled
            yield b'{"items": ['
            while pulled < 10_000:  # 160 MB if read to the end
                pulled += 1
                yield b'{"url": "https://shop.example.com/x"},' * 400

        response = await api.http.post(
            "/api/v1/links/bulk",
            content=endless(),
            headers=_json(headers),
        )
        assert_problem(response, 413, "payload_too_large")
        assert pulled <= limit // 16_000 + 2, pulled
        assert diff(before, await snapshot(api.db)) == {}
        # A body under the limit goes through.
        items = {"items": [{"url": f"{URL}/{i}"} for i in range(100)]}
        response = await api.http.post("/api/v1/links/bulk", json=items, headers=headers)
        assert response.status_code == 200, response.text


async def test_the_default_limit_takes_a_full_bulk_call_of_long_items(api: Api) -> None:
    _, headers = await api.tenant()
    long_url = "https://shop.example.com/item?" + "x" * 3900
    items = [
        {
            "url": f"{long_url}{i}",
            "title": "t" * 300,
            "tags": ["a", "b"],
            "utm_source": "s" * 200,
            "notes": "n" * 2000,
        }
        for i in range(1000)
    ]
    body = json.dumps({"items": items}).encode()
    assert len(body) > 6 * 1024 * 1024
    response = await api.http.post("/api/v1/links/bulk", content=body, headers=_json(headers))
    assert response.status_code == 200, response.text[:500]
    assert response.json()["created"] == 1000


async def test_a_single_value_parameter_given_twice_is_422_naming_it(api: Api) -> None:
    """FastAPI would keep the last value silently; the edge refuses the request instead,
    while parameters declared as lists still take several values."""
    _ws, auth = await api.tenant()
    r = await api.http.get("/api/v1/links?q=shoes&q=bags", headers=auth)
    assert_problem(r, 422, "invalid_input")
    assert r.json()["field"] == "q" and r.json()["errors"][0]["code"] == "repeated"
    r = await api.http.get("/api/v1/links?q=shoes&page=1", headers=auth)
    assert r.status_code == 200, r.text
