"""Local stand-ins for GA4 Measurement Protocol, Meta Conversions API and TikTok Events
API. Each validates every request against the platform's public documentation, written
here without hoplink's code, and refuses (HTTP 400, the rule named in the message) any
request that breaks a rule; accepted events are kept, deduplicated by their id as the
platforms do. ``fail_until`` (monotonic time) answers 500 before it; ``refuse`` answers
every request 400 with that message (a platform refusing a credential, say);
``refuse_ga4_clients`` only the GA4 requests of those client ids (one request of several).

The rules, by name (docs: developers.google.com/analytics/devguides/collection/protocol/ga4,
developers.facebook.com/docs/marketing-api/conversions-api, business-api.tiktok.com
Events API 2.0):
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
import uvicorn

HEX64 = re.compile(r"^[0-9a-f]{64}$")
GA4_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
GA4_RESERVED = {
    "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward",
    "adunit_exposure", "app_background", "app_clear_data", "app_exception", "app_remove",
    "app_store_refund", "app_store_subscription_cancel", "app_store_subscription_convert",
    "app_store_subscription_renew", "app_update", "app_upgrade", "dynamic_link_app_open",
    "dynamic_link_app_update", "dynamic_link_first_open", "error", "first_open", "first_visit",
    "in_app_purchase", "notification_dismiss", "notification_foreground", "notification_open",
    "notification_receive", "os_update", "session_start", "session_start_with_rollout",
    "user_engagement",
}  # fmt: skip
GA4_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
META_SOURCES = {
    "email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
    "business_messaging", "other",
}  # fmt: skip
TIKTOK_EVENTS = {
    "AddPaymentInfo", "AddToCart", "AddToWishlist", "ClickButton", "CompletePayment",
    "CompleteRegistration", "Contact", "Download", "InitiateCheckout", "PlaceAnOrder",
    "Search", "SubmitForm", "Subscribe", "ViewContent", "Lead", "Purchase", "PageView",
}  # fmt: skip
FBC = re.compile(r"^fb\.1\.(\d{13})\.([A-Za-z0-9_\-.]+)$")
IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
SEVEN_DAYS = 7 * 86_400


class Broken(Exception):
    """A rule the request breaks; the message starts with the rule's name."""


def _need(ok: bool, rule: str) -> None:
    if not ok:
        raise Broken(rule)


# --- GA4 Measurement Protocol -------------------------------------------------------------
def check_ga4(
    query: dict[str, list[str]], body: dict[str, Any], now: float
) -> list[dict[str, Any]]:
    _need(bool(query.get("measurement_id")), "ga4.measurement_id: query parameter required")
    _need(bool(query.get("api_secret")), "ga4.api_secret: query parameter required")
    _need(
        isinstance(body.get("client_id"), str) and body["client_id"] != "",
        "ga4.client_id: required string",
    )
    events = body.get("events")
    _need(
        isinstance(events, list) and 1 <= len(events) <= 25,
        "ga4.events_per_request: 1 to 25 events",
    )
    stamps = [body.get("timestamp_micros")] + [e.get("timestamp_micros") for e in events]
    for ts in stamps:
        if ts is None:
            continue
        _need(isinstance(ts, int), "ga4.timestamp_micros: integer microseconds")
        _need(now * 1e6 - ts <= 72 * 3600 * 1e6, "ga4.timestamp_window: at most 72 hours back")
        _need(ts <= (now + 60) * 1e6, "ga4.timestamp_window: not in the future")
    for event in events:
        name = event.get("name")
        _need(
            isinstance(name, str) and bool(GA4_NAME.match(name)),
            "ga4.event_name: letters, digits, _; 40 max",
        )
        _need(
            name not in GA4_RESERVED and not name.startswith(GA4_PREFIXES),
            "ga4.event_name: reserved",
        )
        params = event.get("params", {})
        _need(isinstance(params, dict) and len(params) <= 25, "ga4.params_per_event: at most 25")
        for key, val in params.items():
            _need(
                bool(GA4_NAME.match(key)) and not key.startswith(GA4_PREFIXES),
                f"ga4.param_name: {key}",
            )
            if isinstance(val, str):
                _need(len(val) <= 100, f"ga4.param_value_length: {key} over 100 characters")
        if name in ("purchase", "refund"):
            _need(
                isinstance(params.get("transaction_id"), str),
                "ga4.purchase: transaction_id required",
            )
            if "value" in params:
                _need(isinstance(params["value"], (int, float)), "ga4.value: a number")
                _need(
                    isinstance(params.get("currency"), str) and len(params["currency"]) == 3,
                    "ga4.currency: ISO 4217 with value",
                )
            items = params.get("items", [])
            _need(isinstance(items, list) and len(items) <= 200, "ga4.items: at most 200")
            for item in items:
                _need(
                    bool(item.get("item_id") or item.get("item_name")),
                    "ga4.items: item_id or item_name",
                )
    return events


# --- Meta Conversions API -----------------------------------------------------------------
def check_meta(body: dict[str, Any], now: float) -> list[dict[str, Any]]:
    _need(
        isinstance(body.get("access_token"), str) and body["access_token"] != "",
        "meta.access_token: required",
    )
    data = body.get("data")
    _need(
        isinstance(data, list) and 1 <= len(data) <= 1000,
        "meta.batch: 1 to 1000 events per request",
    )
    for event in data:
        _need(
            isinstance(event.get("event_name"), str) and event["event_name"] != "",
            "meta.event_name: required",
        )
        t = event.get("event_time")
        _need(isinstance(t, int), "meta.event_time: unix seconds (integer)")
        _need(now - t <= SEVEN_DAYS, "meta.event_time: at most 7 days old")
        _need(t <= now + 60, "meta.event_time: not in the future")
        _need(
            isinstance(event.get("event_id"), str) and event["event_id"] != "",
            "meta.event_id: required for deduplication",
        )
        source = event.get("action_source")
        _need(source in META_SOURCES, "meta.action_source: one of Meta's values")
        user = event.get("user_data")
        _need(isinstance(user, dict), "meta.user_data: required")
        if source == "website":
            _need(
                isinstance(event.get("event_source_url"), str),
                "meta.event_source_url: required for website events",
            )
            _need(
                isinstance(user.get("client_user_agent"), str),
                "meta.client_user_agent: required for website events",
            )
        _need(
            "client_ip_address" not in user, "hoplink.no_ip: client_ip_address must never be sent"
        )
        keys = set(user) - {"client_user_agent"}
        _need(
            bool(
                keys
                & {
                    "em",
                    "ph",
                    "external_id",
                    "fbc",
                    "fbp",
                    "fn",
                    "ln",
                    "db",
                    "ge",
                    "ct",
                    "st",
                    "zp",
                    "country",
                }
            ),
            "meta.user_data: at least one customer information parameter",
        )
        for key in ("em", "ph", "external_id"):
            if key in user:
                _need(
                    isinstance(user[key], list)
                    and all(isinstance(v, str) and HEX64.match(v) for v in user[key]),
                    f"meta.{key}: SHA-256 (64 lowercase hex)",
                )
        if "fbc" in user:
            _need(bool(FBC.match(user["fbc"])), "meta.fbc: fb.1.<creation time ms>.<fbclid>")
        custom = event.get("custom_data", {})
        if event["event_name"] == "Purchase":
            _need(
                isinstance(custom.get("value"), (int, float)),
                "meta.purchase: custom_data.value required",
            )
            _need(
                isinstance(custom.get("currency"), str) and len(custom["currency"]) == 3,
                "meta.purchase: custom_data.currency required",
            )
        for content in custom.get("contents", []):
            _need(
                isinstance(content.get("id"), str) and isinstance(content.get("quantity"), int),
                "meta.contents: id and quantity",
            )
    return data


# --- TikTok Events API 2.0 ----------------------------------------------------------------
def check_tiktok(headers: dict[str, str], body: dict[str, Any], now: float) -> list[dict[str, Any]]:
    _need(bool(headers.get("access-token")), "tiktok.access_token: Access-Token header required")
    _need(body.get("event_source") == "web", "tiktok.event_source: web")
    _need(
        isinstance(body.get("event_source_id"), str) and body["event_source_id"] != "",
        "tiktok.event_source_id: the pixel code",
    )
    data = body.get("data")
    _need(
        isinstance(data, list) and 1 <= len(data) <= 1000,
        "tiktok.batch: 1 to 1000 events per request",
    )
    for event in data:
        _need(
            event.get("event") in TIKTOK_EVENTS
            or bool(re.match(r"^[A-Za-z][A-Za-z0-9_]{0,49}$", str(event.get("event")))),
            "tiktok.event: a supported event name",
        )
        t = event.get("event_time")
        _need(
            isinstance(t, int) and now - t <= SEVEN_DAYS and t <= now + 60,
            "tiktok.event_time: unix seconds within 7 days",
        )
        _need(
            isinstance(event.get("event_id"), str) and event["event_id"] != "",
            "tiktok.event_id: required for deduplication",
        )
        user = event.get("user")
        _need(isinstance(user, dict), "tiktok.user: required")
        _need("ip" not in user, "hoplink.no_ip: user.ip must never be sent")
        _need(
            bool(set(user) & {"ttclid", "ttp", "external_id", "email", "phone"})
            or {"ip", "user_agent"} <= set(user),
            "tiktok.user: at least one matching parameter (ttclid, ttp, external_id, email,"
            " phone, or ip with user_agent)",
        )
        for key in ("external_id", "email", "phone"):
            if key in user:
                _need(
                    isinstance(user[key], str) and bool(HEX64.match(user[key])),
                    f"tiktok.{key}: SHA-256 (64 lowercase hex)",
                )
        props = event.get("properties", {})
        if event["event"] == "CompletePayment":
            _need(
                isinstance(props.get("value"), (int, float)),
                "tiktok.complete_payment: properties.value required",
            )
            _need(
                isinstance(props.get("currency"), str) and len(props["currency"]) == 3,
                "tiktok.complete_payment: properties.currency (ISO 4217)",
            )
        for content in props.get("contents", []):
            _need(isinstance(content.get("content_id"), str), "tiktok.contents: content_id")
    return data


@dataclass
class Platforms:
    """One server answering the three APIs at their documented paths."""

    port: int = 0
    fail_until: float = 0.0  # monotonic: 500 before it
    refuse: str | None = None  # 400 with this message to every request
    refuse_ga4_clients: set[str] = field(default_factory=set)  # 400 to these clients' requests
    delay: float = 0.0  # seconds before answering (a slow platform)
    arrived: int = 0  # requests read in full, counted before the delay (in flight)
    requests: dict[str, int] = field(default_factory=lambda: {"ga4": 0, "meta": 0, "tiktok": 0})
    broken: list[str] = field(default_factory=list)  # the rules broken requests broke
    events: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"ga4": {}, "meta": {}, "tiktok": {}}
    )
    duplicates: dict[str, int] = field(default_factory=lambda: {"ga4": 0, "meta": 0, "tiktok": 0})
    bodies: list[bytes] = field(default_factory=list)  # every request body, as received
    ga4_clients: dict[str, str] = field(default_factory=dict)  # event key -> client_id

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _keep(self, platform: str, key: str, event: dict[str, Any]) -> None:
        if key in self.events[platform]:
            self.duplicates[platform] += 1
        self.events[platform][key] = event

    def handle(
        self, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        now = time.time()
        parsed = orjson.loads(body)
        if path == "/mp/collect":
            platform = "ga4"
        elif re.fullmatch(r"/v\d+\.\d+/\d+/events", path):
            platform = "meta"
        elif path == "/open_api/v1.3/event/track/":
            platform = "tiktok"
        else:
            return 404, b"no such API"
        self.requests[platform] += 1
        self.bodies.append(body)
        if time.monotonic() < self.fail_until:
            return 500, b'{"error": {"message": "temporarily unavailable", "code": 2}}'
        if self.refuse is not None:
            if platform == "tiktok":
                return 200, orjson.dumps({"code": 40001, "message": self.refuse})
            return 400, orjson.dumps({"error": {"message": self.refuse, "code": 100}})
        if platform == "ga4" and parsed.get("client_id") in self.refuse_ga4_clients:
            return 400, orjson.dumps({"error": {"message": "client refused", "code": 100}})
        try:
            if platform == "ga4":
                events = check_ga4(parse_qs(query), parsed, now)
                for e in events:
                    p = e.get("params", {})
                    key = p.get("hl_event_id") or f"{parsed['client_id']}:{e['name']}"
                    self.ga4_clients[key] = parsed["client_id"]
                    self._keep("ga4", key, e)
                return 204, b""
            if platform == "meta":
                for e in check_meta(parsed, now):
                    self._keep("meta", e["event_id"], e)
                return 200, orjson.dumps(
                    {"events_received": len(parsed["data"]), "fbtrace_id": "x"}
                )
            for e in check_tiktok(headers, parsed, now):
                self._keep("tiktok", e["event_id"], e)
            return 200, orjson.dumps({"code": 0, "message": "OK", "data": {}})
        except Broken as exc:
            self.broken.append(str(exc))
            if platform == "tiktok":
                return 200, orjson.dumps({"code": 40002, "message": str(exc)})
            return 400, orjson.dumps({"error": {"message": str(exc), "code": 100}})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.arrived += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        status, answer = self.handle(scope["path"], scope["query_string"].decode(), headers, body)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": answer})


@contextlib.asynccontextmanager
async def running_platforms(platforms: Platforms) -> AsyncIterator[Platforms]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    platforms.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(platforms, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.02)
        yield platforms
    finally:
        server.should_exit = True
        await task
        sock.close()
