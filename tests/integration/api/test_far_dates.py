"""Date-times that parse but have no UTC instant (year 1 east of UTC, year 9999 west of it)
are 4xx naming the field, never a 500 (OverflowError when converted), on every route that
takes a time: links, their schedule, listings, stats, the orders cursor, the audit log and
the Shlink-compatible API (QA finding)."""

from __future__ import annotations

import base64

from api_client import Api, assert_problem

EARLY = "0001-01-01T00:00:00+01:00"
LATE = "9999-12-31T23:59:59-01:00"
PRODUCT = "https://shop.example.com/item/1"


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_times_outside_utc_are_refused_naming_the_field(api: Api) -> None:
    _, h = await api.tenant()
    made = await api.http.post("/api/v1/links", json={"url": PRODUCT}, headers=h)
    assert made.status_code == 201, made.text
    link = made.json()["id"]

    r = await api.http.post("/api/v1/links", json={"url": PRODUCT, "starts_at": EARLY}, headers=h)
    assert_problem(r, 422, "invalid_input", "starts_at")
    assert r.json()["errors"][0]["code"] == "out_of_range"
    r = await api.http.patch(f"/api/v1/links/{link}", json={"ends_at": LATE}, headers=h)
    assert_problem(r, 422, "invalid_input", "ends_at")
    for name, value in (("created_from", EARLY), ("created_to", LATE)):
        r = await api.http.get("/api/v1/links", params={name: value}, headers=h)
        assert_problem(r, 422, "invalid_input", name)
    for path in ("/api/v1/stats/workspace", "/api/v1/stats/conversions/workspace"):
        r = await api.http.get(path, params={"to": LATE}, headers=h)
        assert_problem(r, 422, "invalid_input", "to")
    for raw in (f"{EARLY}|ord_x", f"{LATE}|ord_x", "2026-12-04T13:42:39+00:00|ord_\x00"):
        r = await api.http.get(
            "/api/v1/conversions/orders", params={"cursor": _cursor(raw)}, headers=h
        )
        assert_problem(r, 422, "invalid_input", "cursor")
    r = await api.http.get("/api/v1/workspace/audit", params={"before": EARLY}, headers=h)
    assert_problem(r, 422, "invalid_input", "before")

    shlink = {"X-Api-Key": h["Authorization"].removeprefix("Bearer ")}
    r = await api.http.get("/rest/v3/short-urls", params={"startDate": EARLY}, headers=shlink)
    assert r.status_code == 400 and r.json()["invalidElements"] == ["startDate"], r.text
    r = await api.http.post(
        "/rest/v3/short-urls", json={"longUrl": PRODUCT, "validUntil": LATE}, headers=shlink
    )
    assert r.status_code == 400 and r.json()["invalidElements"] == ["validUntil"], r.text
    # the links are as they were
    r = await api.http.get("/api/v1/links", headers=h)
    assert [x["ends_at"] for x in r.json()["items"]] == [None]
