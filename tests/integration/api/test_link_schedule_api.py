"""Schedule and click limit through /api/v1/links on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_client import Api, assert_problem
from clickids import without_click_id

PRODUCT = "https://shop.example.com/item/1"


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def test_state_follows_the_schedule_and_edits_are_in_the_history(api: Api) -> None:
    _, auth = await api.tenant()
    r = await api.http.post(
        "/api/v1/links",
        json={"url": PRODUCT, "starts_at": iso(timedelta(hours=1)), "max_clicks": 100,
              "expiry_url": "https://shop.example.com/ended"},
        headers=auth,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["state"] == "scheduled" and link["max_clicks"] == 100
    assert link["expiry_url"] == "https://shop.example.com/ended"
    short = await api.http.get(f"/{link['code']}")
    assert without_click_id(short.headers["location"]) == "https://shop.example.com/ended"

    r = await api.http.patch(
        f"/api/v1/links/{link['id']}",
        json={"starts_at": None, "ends_at": iso(timedelta(seconds=-1)), "expiry_url": None},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "expired"
    short = await api.http.get(f"/{link['code']}")
    assert short.status_code == 410  # the edit reached the redirect at once
    listed = (await api.http.get("/api/v1/links", headers=auth)).json()["items"]
    assert [item["state"] for item in listed] == ["expired"]
    history = (await api.http.get(f"/api/v1/links/{link['id']}/history", headers=auth)).json()
    assert {"starts_at", "ends_at", "expiry_url"} <= {h["field"] for h in history}

    r = await api.http.patch(f"/api/v1/links/{link['id']}", json={"ends_at": None}, headers=auth)
    assert r.json()["state"] == "live"
    r = await api.http.get(f"/{link['code']}")
    assert without_click_id(r.headers["location"]) == link["final_url"]


async def test_bad_schedules_are_422s_naming_the_field(api: Api) -> None:
    _, auth = await api.tenant()
    cases = [
        ({"ends_at": iso(timedelta(hours=1)), "starts_at": iso(timedelta(hours=2))}, "ends_at",
         "before_start"),
        ({"starts_at": "2026-11-11T00:00:00"}, "starts_at", "naive_datetime"),
        ({"max_clicks": 0}, "max_clicks", "out_of_range"),
        ({"expiry_url": "http://127.0.0.1/admin"}, "expiry_url", "private_address"),
        ({"expiry_url": "https://tinyurl.com/x"}, "expiry_url", "url_shortener"),
        ({"expiry_url": "ftp://shop.example.com/"}, "expiry_url", "unsupported_scheme"),
    ]  # fmt: skip
    for extra, field, code in cases:
        r = await api.http.post("/api/v1/links", json={"url": PRODUCT, **extra}, headers=auth)
        problem = assert_problem(r, 422, "invalid_input", field)
        assert problem["errors"][0]["code"] == code, problem
    assert (await api.http.get("/api/v1/links", headers=auth)).json()["total"] == 0
