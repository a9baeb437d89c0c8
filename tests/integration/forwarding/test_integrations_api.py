"""/api/v1/integrations on the real app (SQLite and PostgreSQL): credentials write-only
and masked, 422s naming the field, the test event shows the payload and the answer, and
conversions posted to the API reach the platforms through the app's own forwarding loop
(journal, status, replay)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from receivers import Platforms, running_platforms

from api_client import Api, assert_problem, running_api
from processes import SECRET

API = "/api/v1"
META = {
    "kind": "meta",
    "name": "Meta pixel",
    "account_id": "1234567890",
    "credential": "EAAsecretToken1234567890abcd",
    "events": ["purchase", "refund"],
}


@pytest_asyncio.fixture
async def rx() -> AsyncIterator[Platforms]:
    async with running_platforms(Platforms()) as platforms:
        yield platforms


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path, rx: Platforms) -> AsyncIterator[Api]:
    async with running_api(
        db_url,
        tmp_path / "data",
        secret_key=SECRET,
        outbound_allow_private=("127.0.0.1",),
        ga4_base_url=rx.base,
        meta_base_url=rx.base,
        tiktok_base_url=rx.base,
        forward_poll_interval=0.05,
        forward_retry_base=0.05,
    ) as client:
        yield client


async def _wait(check: Any, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_create_is_masked_and_bad_input_names_the_field(api: Api) -> None:
    _ws, auth = await api.tenant()
    r = await api.http.post(f"{API}/integrations", json=META, headers=auth)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["credential"] == "••••abcd" and "EAAsecret" not in r.text
    listed = await api.http.get(f"{API}/integrations", headers=auth)
    assert "EAAsecret" not in listed.text and listed.json()[0]["id"] == body["id"]
    bad = await api.http.post(
        f"{API}/integrations", json={**META, "account_id": "../evil.example"}, headers=auth
    )
    assert_problem(bad, 422, "invalid_input", "account_id")
    bad = await api.http.post(
        f"{API}/integrations",
        json={**META, "kind": "ga4", "account_id": "G-ABC123", "credential": "x y"},
        headers=auth,
    )
    assert_problem(bad, 422, "invalid_input", "credential")
    bad = await api.http.post(
        f"{API}/integrations",
        json={**META, "kind": "ga4", "account_id": "G-ABC123", "credential": "secret1234",
              "events": ["click"], "click_event_name": "session_start"},
        headers=auth,
    )  # fmt: skip
    assert_problem(bad, 422, "invalid_input", "click_event_name")
    bad = await api.http.post(f"{API}/integrations", json={**META, "url": "x"}, headers=auth)
    assert bad.status_code == 422  # no field can name a URL
    patched = await api.http.patch(
        f"{API}/integrations/{body['id']}",
        json={"credential": "EAAnewToken1234567890wxyz"},
        headers=auth,
    )
    assert patched.json()["credential"] == "••••wxyz"
    # Under 20 characters, the last four would be a fifth of the secret: fully masked.
    ga4 = {**META, "kind": "ga4", "account_id": "G-ABC123", "credential": "Nineteen_chars_5678"}
    short = await api.http.post(f"{API}/integrations", json=ga4, headers=auth)
    assert short.status_code == 201, short.text
    assert short.json()["credential"] == "••••••••" and "5678" not in short.text
    patched = await api.http.patch(
        f"{API}/integrations/{short.json()['id']}", json={"credential": "shortie9876"}, headers=auth
    )
    assert patched.json()["credential"] == "••••••••" and "9876" not in patched.text
    patched = await api.http.patch(
        f"{API}/integrations/{short.json()['id']}",
        json={"credential": "twenty_characters_4321"},
        headers=auth,
    )
    assert patched.json()["credential"] == "••••4321"
    listed = await api.http.get(f"{API}/integrations", headers=auth)
    assert {d["credential"] for d in listed.json()} == {"••••wxyz", "••••4321"}


async def test_test_event_shows_the_payload_and_the_answer(api: Api, rx: Platforms) -> None:
    _ws, auth = await api.tenant()
    created = await api.http.post(
        f"{API}/integrations", json={**META, "test_code": "TEST42"}, headers=auth
    )
    r = await api.http.post(f"{API}/integrations/{created.json()['id']}/test", headers=auth)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] is True and result["status"] == 200
    assert result["request"]["test_event_code"] == "TEST42"
    assert result["request"]["access_token"] == "••••"
    assert result["request"]["data"][0]["event_name"] == "PageView"
    assert "events_received" in result["answer"]
    assert "EAAsecret" not in r.text
    assert len(rx.events["meta"]) == 1


async def test_api_conversions_are_forwarded_journalled_and_replayable(
    api: Api, rx: Platforms
) -> None:
    _ws, auth = await api.tenant()
    dest = (await api.http.post(f"{API}/integrations", json=META, headers=auth)).json()
    rx.refuse = "Invalid parameter"
    order = {"type": "purchase", "event_id": "api-p1", "order_id": "SO-9", "amount": 990,
             "currency": "USD", "customer": {"email": "a@example.com"}}  # fmt: skip
    r = await api.http.post(f"{API}/conversions", json=order, headers=auth)
    assert r.status_code == 201, r.text
    journal = f"{API}/integrations/{dest['id']}/events"

    async def dead() -> list[dict[str, Any]]:
        return (await api.http.get(f"{journal}?status=dead", headers=auth)).json()

    for _ in range(400):
        if await dead():
            break
        await asyncio.sleep(0.05)
    [letter] = await dead()
    assert letter["event_key"] == "api-p1" and "Invalid parameter" in letter["error"]
    assert letter["batch_id"].startswith("fwb_")
    status = (await api.http.get(f"{API}/integrations/{dest['id']}/status", headers=auth)).json()
    assert status["dead"] == 1 and status["failures_last_hour"] == 1
    rx.refuse = None
    r = await api.http.post(
        f"{API}/integrations/replay", json={"entry_id": letter["id"]}, headers=auth
    )
    assert r.json() == {"replayed": 1}
    await _wait(lambda: "api-p1" in rx.events["meta"])
    sent: list[dict[str, Any]] = []
    for _ in range(400):  # the answer is recorded just after the receiver took the event
        sent = (await api.http.get(f"{journal}?status=sent", headers=auth)).json()
        if sent:
            break
        await asyncio.sleep(0.05)
    assert [e["event_key"] for e in sent] == ["api-p1"]
    assert sent[0]["payload"]["custom_data"]["value"] == 9.9
    status = (await api.http.get(f"{API}/integrations/{dest['id']}/status", headers=auth)).json()
    assert status["last_success"] is not None and status["dead"] == 0


async def test_a_refused_credential_says_which_lengths_are_taken(api: Api) -> None:
    """A 7-character GA4 secret of letters and digits was refused with "letters, digits,
    - and _" only: the length rule, the one it broke, was not said."""
    _ws, auth = await api.tenant()
    for kind, account, short, rule in (
        ("ga4", "G-ABC123", "secret1", "8 to 100"),
        ("meta", "1234567890", "EAAshort", "20 to 512"),
        ("tiktok", "C1234ABCDEFG", "tt", "16 to 512"),
    ):
        bad = await api.http.post(
            f"{API}/integrations",
            json={**META, "kind": kind, "account_id": account, "credential": short},
            headers=auth,
        )
        [error] = assert_problem(bad, 422, "invalid_input", "credential")["errors"]
        assert rule in error["message"], (kind, error["message"])
