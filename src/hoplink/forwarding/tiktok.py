"""TikTok Events API 2.0 (web): POST /open_api/v1.3/event/track/ with an Access-Token
header and {"event_source": "web", "event_source_id": <pixel code>, "data": [...]}.

The documented rules kept here (and enforced by the test receiver):
- at most 1,000 events per request; ``event_time`` in unix seconds, at most 7 days old;
- ``event`` a supported event name; ``event_id`` for deduplication with the pixel;
- ``user.ttclid`` as captured; ``user.external_id`` / ``email`` SHA-256 (64 lowercase
  hex); ``user.phone`` SHA-256 of the E.164 form (with the ``+``);
- ``user`` carries at least one matching parameter (``ttclid``, ``ttp``, ``external_id``,
  ``email``, ``phone``, or ``ip`` with ``user_agent``): an event without one matches no
  one. A conversion with neither a click nor customer data is journalled as rejected,
  not sent (as Meta's ``user_data`` rule does); a click always has its visitor's id;
- ``CompletePayment`` carries ``properties.value`` and ``currency`` (ISO 4217);
- never ``user.ip``: hoplink keeps no IP address.
TikTok answers HTTP 200 with {"code": 0} when it accepts; any other code is a refusal.
TikTok has no refund event: refunds are journalled as rejected, never sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from hoplink.forwarding.common import Request, dumps, unix, value, visitor_external_id
from hoplink.forwarding.models import (
    Answer,
    Built,
    ClickFacts,
    ConversionFacts,
    Destination,
    Kind,
    Refused,
)

KIND = Kind.TIKTOK
MAX_BATCH = 1000
WINDOW = timedelta(days=7)
DEFAULT_CLICK_EVENT = "ClickButton"
ACCOUNT_ID = re.compile(r"^[A-Z0-9]{10,32}$")
CREDENTIAL = re.compile(r"^[A-Za-z0-9_\-]{16,512}$")
EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
_EVENT_NAMES = {"purchase": "CompletePayment", "lead": "SubmitForm"}
RATE_LIMITED = 40100
# What TikTok matches a person by, of what hoplink sends: the user agent alone matches no
# one (it counts only with the IP, which hoplink never sends).
_MATCHING = frozenset({"ttclid", "external_id", "email", "phone"})


def event_name_problem(name: str) -> str | None:
    if not EVENT_NAME.match(name):
        return "a letter first, then letters, digits or _, at most 50 characters"
    return None


def _window_problem(at: datetime, now: datetime) -> str | None:
    if now - at > WINDOW:
        return "tiktok.event_time: older than 7 days, TikTok refuses it"
    return None


def _user(customer: dict[str, str], click: ClickFacts | None) -> dict[str, Any]:
    user: dict[str, Any] = {}
    if click is not None and (ttclid := click.ad_click_ids.get("ttclid")):
        user["ttclid"] = ttclid
    if "external_id_sha256" in customer:
        user["external_id"] = customer["external_id_sha256"]
    elif click is not None:
        user["external_id"] = visitor_external_id(click.visitor_hash)
    if "email_sha256" in customer:
        user["email"] = customer["email_sha256"]
    if "phone_e164_sha256" in customer:
        user["phone"] = customer["phone_e164_sha256"]
    if click is not None and click.user_agent:
        user["user_agent"] = click.user_agent
    return user


def click(dest: Destination, f: ClickFacts, *, now: datetime) -> Built | Refused:
    at = datetime.fromtimestamp(f.ts, UTC)
    event: dict[str, Any] = {
        "event": dest.click_event_name or DEFAULT_CLICK_EVENT,
        "event_time": int(f.ts),
        "event_id": f.click_id,
        "user": _user({}, f),
    }
    if f.page_url:
        event["page"] = {"url": f.page_url}
    problem = _window_problem(at, now)
    return Refused(f.click_id, problem, at, event) if problem else Built(f.click_id, event, at)


def conversion(dest: Destination, f: ConversionFacts, *, now: datetime) -> Built | Refused:
    name = _EVENT_NAMES.get(f.kind)
    if name is None:
        return Refused(
            f.event_id,
            f"tiktok.event: the Events API has no {f.kind} event; not sent",
            f.occurred_at,
        )
    properties: dict[str, Any] = {}
    amount = value(f.amount, f.currency)
    if amount is not None and f.currency:
        properties["value"] = amount
        properties["currency"] = f.currency
    contents = [
        {
            "content_id": str(i.get("sku")),
            "quantity": i.get("quantity"),
            "price": value(p if isinstance(p := i.get("price"), int) else None, f.currency),
        }
        for i in f.items
    ]
    if contents:
        properties["contents"] = contents
        properties["content_type"] = "product"
    if f.order_id:
        properties["order_id"] = f.order_id
    event: dict[str, Any] = {
        "event": name,
        "event_time": int(unix(f.occurred_at)),
        "event_id": f.event_id,
        "user": _user(f.customer, f.click),
        "properties": properties,
    }
    if f.click is not None and f.click.page_url:
        event["page"] = {"url": f.click.page_url}
    problem = _window_problem(f.occurred_at, now)
    if problem is None and name == "CompletePayment" and "value" not in properties:
        problem = "tiktok.properties: CompletePayment needs value and currency"
    if problem is None and not _MATCHING & set(event["user"]):
        problem = "tiktok.user: no matching parameter (no click, e-mail, phone or external id)"
    if problem is not None:
        return Refused(f.event_id, problem, f.occurred_at, event)
    return Built(f.event_id, event, f.occurred_at)


def due_problem(payload: dict[str, Any], occurred_at: datetime, now: datetime) -> str | None:
    return _window_problem(occurred_at, now)


def request(
    dest: Destination, *, credential: str, base_url: str, events: list[dict[str, Any]], group: str
) -> Request:
    body: dict[str, Any] = {
        "event_source": "web",
        "event_source_id": dest.account_id,
        "data": events,
    }
    if dest.test_code:
        body["test_event_code"] = dest.test_code
    headers = {"Content-Type": "application/json", "Access-Token": credential}
    return Request(f"{base_url}/open_api/v1.3/event/track/", dumps(body), headers, body)


def answer(status: int, body: bytes) -> Answer:
    text = body[:500].decode("utf-8", "replace")
    if status >= 500 or status == 429:
        return Answer(ok=False, retry=True, message=text, status=status)
    try:
        parsed = orjson.loads(body)
        code, message = parsed.get("code"), str(parsed.get("message") or text)
    except (orjson.JSONDecodeError, AttributeError):
        code, message = None, text
    if 200 <= status < 300 and code == 0:
        return Answer(ok=True, retry=False, message=text, status=status)
    retry = code == RATE_LIMITED or (isinstance(code, int) and code >= 50000)
    return Answer(ok=False, retry=retry, message=f"{code}: {message}"[:300], status=status)
