"""GA4 Measurement Protocol (web streams): POST /mp/collect?measurement_id=&api_secret=.

The documented rules this builder keeps (the test receiver enforces them independently):
- one ``client_id`` per request and at most 25 events in it;
- event names: a letter first, then letters, digits or ``_``, at most 40 characters, not a
  reserved name; parameter names the same rule and no reserved prefix; at most 25
  parameters per event; parameter values at most 100 characters; at most 200 items;
- ``timestamp_micros`` at most 72 hours in the past (GA4 drops older events silently, so
  they are refused here and reported in the journal instead of sent).

GA4 answers 2xx to anything well-formed or not (only /debug/mp/collect reports problems),
so validating before sending is the only way a broken event is ever noticed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from hoplink.forwarding.common import Request, dumps, ga4_client_id, unix, value
from hoplink.forwarding.models import (
    Answer,
    Built,
    ClickFacts,
    ConversionFacts,
    Destination,
    Kind,
    Refused,
)

KIND = Kind.GA4
MAX_BATCH = 25
WINDOW = timedelta(hours=72)
DEFAULT_CLICK_EVENT = "short_link_click"
ACCOUNT_ID = re.compile(r"^G-[A-Z0-9]{4,20}$")
CREDENTIAL = re.compile(r"^[A-Za-z0-9_\-]{8,100}$")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
RESERVED_EVENTS = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_impression",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_background",
        "app_clear_data",
        "app_exception",
        "app_remove",
        "app_store_refund",
        "app_store_subscription_cancel",
        "app_store_subscription_convert",
        "app_store_subscription_renew",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "first_open",
        "first_visit",
        "in_app_purchase",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "os_update",
        "session_start",
        "session_start_with_rollout",
        "user_engagement",
    }
)
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
MAX_PARAMS = 25
MAX_VALUE = 100
MAX_ITEMS = 200
_EVENT_NAMES = {"purchase": "purchase", "refund": "refund", "lead": "generate_lead"}


def event_name_problem(name: str) -> str | None:
    """Why GA4 refuses ``name`` as an event name, or None."""
    if not NAME.match(name):
        return "a letter first, then letters, digits or _, at most 40 characters"
    if name in RESERVED_EVENTS or name.startswith(RESERVED_PREFIXES):
        return f"{name!r} is reserved by GA4"
    return None


def _param_problem(params: dict[str, Any]) -> str | None:
    if len(params) > MAX_PARAMS:
        return f"ga4.params_per_event: {len(params)} parameters, at most {MAX_PARAMS}"
    for key, val in params.items():
        if not NAME.match(key) or key.startswith(RESERVED_PREFIXES):
            return f"ga4.param_name: {key!r} is not a valid parameter name"
        if isinstance(val, str) and len(val) > MAX_VALUE:
            return f"ga4.param_value_length: {key} is longer than {MAX_VALUE} characters"
    items = params.get("items")
    if isinstance(items, list) and len(items) > MAX_ITEMS:
        return f"ga4.items: {len(items)} items, at most {MAX_ITEMS}"
    return None


def _window_problem(at: datetime, now: datetime) -> str | None:
    if now - at > WINDOW:
        return "ga4.timestamp_window: older than 72 hours, GA4 would drop it"
    return None


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != ""}


def click(dest: Destination, f: ClickFacts, *, now: datetime) -> Built | Refused:
    at = datetime.fromtimestamp(f.ts, UTC)
    name = dest.click_event_name or DEFAULT_CLICK_EVENT
    params = _clean(
        {
            "campaign_source": f.utm.get("utm_source"),
            "campaign_medium": f.utm.get("utm_medium"),
            "campaign_name": f.utm.get("utm_campaign"),
            "campaign_content": f.utm.get("utm_content"),
            "campaign_term": f.utm.get("utm_term"),
            "campaign_id": f.campaign_id,
            "link_code": f.link_code,
            "link_host": f.link_host,
            "channel": f.channel,
            "country": f.country,
            "device_category": f.device,
            # gclid is up to 512 characters; GA4 keeps values up to 100, so longer ones
            # are left out rather than cut (a cut click id matches nothing).
            "gclid": g if (g := f.ad_click_ids.get("gclid")) and len(g) <= MAX_VALUE else None,
            "session_id": str(int(f.ts)),
            "engagement_time_msec": 1,
            "hl_event_id": f.click_id,
        }
    )
    event = {"name": name, "params": params, "timestamp_micros": int(f.ts * 1_000_000)}
    return _checked(f.click_id, event, at, ga4_client_id(f.visitor_hash, f.ts), now)


def conversion(dest: Destination, f: ConversionFacts, *, now: datetime) -> Built | Refused:
    name = _EVENT_NAMES.get(f.kind)
    if name is None:
        return Refused(f.event_id, f"ga4.event: {f.kind} is not forwarded", f.occurred_at)
    if f.click is None:
        return Refused(
            f.event_id,
            "ga4.client_id: the conversion has no click, so there is no client_id for it",
            f.occurred_at,
        )
    items = [
        {
            "item_id": str(i.get("sku")),
            "quantity": i.get("quantity"),
            "price": value(p if isinstance(p := i.get("price"), int) else None, f.currency),
        }
        for i in f.items
    ]
    params = _clean(
        {
            "transaction_id": f.order_id,
            "value": value(f.amount, f.currency),
            "currency": f.currency,
            "items": items or None,
            "session_id": str(int(f.click.ts)),
            "engagement_time_msec": 1,
            "hl_event_id": f.event_id,
        }
    )
    event = {
        "name": name,
        "params": params,
        "timestamp_micros": int(unix(f.occurred_at) * 1_000_000),
    }
    client = ga4_client_id(f.click.visitor_hash, f.click.ts)
    return _checked(f.event_id, event, f.occurred_at, client, now)


def _checked(
    key: str, event: dict[str, Any], at: datetime, client: str, now: datetime
) -> Built | Refused:
    problem = (
        (f"ga4.event_name: {p}" if (p := event_name_problem(event["name"])) else None)
        or _param_problem(event["params"])
        or _window_problem(at, now)
    )
    if problem is not None:
        return Refused(key, problem, at, event)
    return Built(key, event, at, group_key=client)


def due_problem(payload: dict[str, Any], occurred_at: datetime, now: datetime) -> str | None:
    """A rule an event queued earlier breaks now (it aged past the window while retried)."""
    return _window_problem(occurred_at, now)


def request(
    dest: Destination, *, credential: str, base_url: str, events: list[dict[str, Any]], group: str
) -> Request:
    url = (
        f"{base_url}/mp/collect?measurement_id={quote(dest.account_id, safe='')}"
        f"&api_secret={quote(credential, safe='')}"
    )
    body = {
        "client_id": group,
        "timestamp_micros": min(e["timestamp_micros"] for e in events),
        "events": events,
    }
    return Request(url, dumps(body), {"Content-Type": "application/json"}, body)


def answer(status: int, body: bytes) -> Answer:
    text = body[:500].decode("utf-8", "replace")
    if 200 <= status < 300:
        return Answer(ok=True, retry=False, message=text or "accepted", status=status)
    return Answer(ok=False, retry=status >= 500 or status == 429, message=text, status=status)
