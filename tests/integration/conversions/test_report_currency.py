"""The report currency is one in use today: a withdrawn code (DEM) is refused naming the
field and what replaced it. A workspace that chose a code before it was withdrawn keeps
it, reads it and changes other settings, until it chooses another; orders in a withdrawn
currency are still recorded (shops' old exports carry them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from conv_support import post, shop

from api_client import Api, assert_problem, running_api
from hoplink.conversions.models import Settings
from hoplink.ids import utcnow

URL = "/api/v1/conversions/settings"


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


async def test_a_withdrawn_code_is_refused_naming_its_successor(api: Api) -> None:
    s = await shop(api)
    for code, said in (
        ("DEM", "DEM is no longer in use; use EUR"),
        ("frf", "FRF is no longer in use; use EUR"),
        ("CHE", "CHE is not legal tender anywhere; choose a current currency"),
    ):
        r = await api.http.put(URL, json={"currency": code, "window_days": 30}, headers=s.headers)
        body = assert_problem(r, 422, "invalid_input", "currency")
        assert body["errors"] == [
            {"field": "currency", "code": "not_current_currency", "message": said}
        ], body
    kept = (await api.http.get(URL, headers=s.headers)).json()
    assert (kept["currency"], kept["window_days"]) == ("USD", 7)  # nothing half-written
    ok = await api.http.put(URL, json={"currency": "eur"}, headers=s.headers)
    assert ok.status_code == 200 and ok.json()["currency"] == "EUR", ok.text


async def test_a_code_chosen_before_its_withdrawal_stays_until_changed(api: Api) -> None:
    s = await shop(api)
    async with api.db.transaction() as tx:
        await tx.conversions(s.ws_id).save_settings(Settings(currency="HRK"), utcnow())
    assert (await api.http.get(URL, headers=s.headers)).json()["currency"] == "HRK"
    same = await api.http.put(URL, json={"currency": "HRK", "window_days": 14}, headers=s.headers)
    assert same.status_code == 200, same.text
    assert (same.json()["currency"], same.json()["window_days"]) == ("HRK", 14)
    other = await api.http.put(URL, json={"model": "linear"}, headers=s.headers)
    assert other.status_code == 200 and other.json()["currency"] == "HRK", other.text
    assert (await api.http.put(URL, json={"currency": "EUR"}, headers=s.headers)).status_code == 200
    back = await api.http.put(URL, json={"currency": "HRK"}, headers=s.headers)
    assert_problem(back, 422, "invalid_input", "currency")


async def test_orders_in_a_withdrawn_currency_are_still_recorded(api: Api) -> None:
    s = await shop(api)
    r = await post(
        api,
        s.headers,
        {"type": "purchase", "order_id": "OLD-1", "amount": 1999, "currency": "DEM"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["order"]["currency"] == "DEM"
