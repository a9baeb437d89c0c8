# ruff: noqa: E501 - payload literals read best on one line each
"""The test receivers are real checks: a deliberately broken payload of each kind is
refused with the rule it breaks named, and a well-formed one (from hoplink's builders) is
accepted. Without this, a passing end-to-end test would prove nothing."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from receivers import Platforms

NOW = time.time()
GOOD_GA4 = {
    "client_id": "123.456",
    "events": [{"name": "purchase", "params": {"transaction_id": "T1", "value": 1.5, "currency": "USD"}, "timestamp_micros": int(NOW * 1e6), }],
}  # fmt: skip
GOOD_META = {
    "access_token": "t",
    "data": [
        {
            "event_name": "Purchase",
            "event_time": int(NOW),
            "event_id": "e1",
            "action_source": "website",
            "event_source_url": "https://shop.example.com/",
            "user_data": {"client_user_agent": "UA", "fbc": f"fb.1.{int(NOW * 1000)}.abc"},
            "custom_data": {"value": 1.5, "currency": "usd"},
        }
    ],
}
GOOD_TIKTOK = {
    "event_source": "web",
    "event_source_id": "PIXEL12345",
    "data": [
        {
            "event": "CompletePayment",
            "event_time": int(NOW),
            "event_id": "e1",
            "user": {"ttclid": "abc"},
            "properties": {"value": 1.5, "currency": "USD"},
        }
    ],
}
GA4 = ("/mp/collect", "measurement_id=G-1&api_secret=s", {})
META = ("/v21.0/12345/events", "", {})
TIKTOK = ("/open_api/v1.3/event/track/", "", {"access-token": "t"})


def _post(api: tuple[str, str, dict[str, str]], body: dict[str, Any]) -> tuple[int, str]:
    rx = Platforms()
    status, _answer = rx.handle(api[0], api[1], api[2], orjson.dumps(body))
    return status, rx.broken[0] if rx.broken else ""


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = orjson.loads(orjson.dumps(base))
    *parents, last = path.split(".")
    node: Any = body
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[last] = value
    return body


def test_well_formed_requests_are_accepted() -> None:
    assert _post(GA4, GOOD_GA4) == (204, "")
    assert _post(META, GOOD_META) == (200, "")
    assert _post(TIKTOK, GOOD_TIKTOK)[1] == ""


# (receiver, good body, path to break, the broken value, the rule that must refuse it)
BROKEN: list[tuple[tuple[str, str, dict[str, str]], dict[str, Any], str, Any, str]] = [
    (GA4, GOOD_GA4, "events", [GOOD_GA4["events"][0]] * 26, "ga4.events_per_request"),
    (GA4, GOOD_GA4, "events.0.name", "2bad-name", "ga4.event_name"),
    (GA4, GOOD_GA4, "events.0.name", "session_start", "ga4.event_name: reserved"),
    (GA4, GOOD_GA4, "events.0.params.ga_thing", "x", "ga4.param_name"),
    (GA4, GOOD_GA4, "events.0.params.campaign_name", "x" * 101, "ga4.param_value_length"),
    (
        GA4,
        GOOD_GA4,
        "events.0.timestamp_micros",
        int((NOW - 73 * 3600) * 1e6),
        "ga4.timestamp_window",
    ),
    (GA4, GOOD_GA4, "client_id", "", "ga4.client_id"),
    (META, GOOD_META, "data.0.event_time", int(NOW - 8 * 86400), "meta.event_time"),
    (META, GOOD_META, "data.0.event_id", "", "meta.event_id"),
    (META, GOOD_META, "data.0.action_source", "web", "meta.action_source"),
    (META, GOOD_META, "data.0.user_data.em", ["Someone@Example.com"], "meta.em"),
    (META, GOOD_META, "data.0.user_data.fbc", "fb.1.123.abc", "meta.fbc"),
    (META, GOOD_META, "data.0.user_data.client_ip_address", "203.0.113.9", "hoplink.no_ip"),
    (META, GOOD_META, "data.0.custom_data", {"currency": "usd"}, "meta.purchase"),
    (META, GOOD_META, "data", [GOOD_META["data"][0]] * 1001, "meta.batch"),
    (TIKTOK, GOOD_TIKTOK, "data.0.user.email", "a@b.com", "tiktok.email"),
    (TIKTOK, GOOD_TIKTOK, "data.0.user.ip", "203.0.113.9", "hoplink.no_ip"),
    (TIKTOK, GOOD_TIKTOK, "data.0.user", {}, "tiktok.user"),
    (TIKTOK, GOOD_TIKTOK, "data.0.user", {"user_agent": "UA"}, "tiktok.user"),
    (TIKTOK, GOOD_TIKTOK, "data.0.user", None, "tiktok.user"),
    (TIKTOK, GOOD_TIKTOK, "data.0.properties", {"currency": "USD"}, "tiktok.complete_payment"),
    (TIKTOK, GOOD_TIKTOK, "event_source", "app", "tiktok.event_source"),
    (TIKTOK, GOOD_TIKTOK, "data.0.event_time", int(NOW - 8 * 86400), "tiktok.event_time"),
]


@pytest.mark.parametrize(
    ("api", "body", "path", "value", "rule"),
    BROKEN,
    # Ids without the values: some are times, and every xdist worker must collect the
    # same test names.
    ids=[f"{path}:{rule}" for _, _, path, _, rule in BROKEN],
)
def test_a_broken_payload_is_refused_naming_the_rule(
    api: tuple[str, str, dict[str, str]], body: dict[str, Any], path: str, value: Any, rule: str
) -> None:
    status, broken = _post(api, _with(body, path, value))
    assert broken.startswith(rule), broken
    assert status in (200, 400)  # TikTok refuses with HTTP 200 and a non-zero code


def test_missing_credentials_are_refused() -> None:
    assert _post(("/mp/collect", "measurement_id=G-1", {}), GOOD_GA4)[1].startswith(
        "ga4.api_secret"
    )
    assert _post(META, {**GOOD_META, "access_token": ""})[1].startswith("meta.access_token")
    assert _post((*TIKTOK[:2], {}), GOOD_TIKTOK)[1].startswith("tiktok.access_token")
