"""Meta Conversions API: POST /<version>/<pixel id>/events with {"data": [...]}.

Events are the objects the official `facebook-business` SDK's ``Event.normalize()``
produces, key for key (docs/adr/0011-meta-capi-without-the-sdk-transport.md says why the SDK
itself is not called; tests/integration/forwarding/test_meta_sdk_parity.py proves the
equality). The documented rules kept here (and enforced by the test receiver):
- at most 1,000 events per request; ``event_time`` in unix seconds, at most 7 days old;
- ``action_source`` from Meta's list; ``website`` events carry ``event_source_url`` and
  ``client_user_agent``;
- ``event_id`` with every event (deduplication with the browser pixel);
- ``user_data`` has at least one customer information parameter; ``em``/``ph``/
  ``external_id`` are SHA-256 (64 lowercase hex) of the normalised values
  (conversions/identity.py); ``fbc`` is ``fb.1.<click time ms>.<fbclid>``;
- never ``client_ip_address``: hoplink keeps no IP address.
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

KIND = Kind.META
MAX_BATCH = 1000
WINDOW = timedelta(days=7)
DEFAULT_CLICK_EVENT = "PageView"
ACCOUNT_ID = re.compile(r"^[0-9]{5,20}$")
CREDENTIAL = re.compile(r"^[A-Za-z0-9_\-|]{20,512}$")
EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]{0,49}$")
_EVENT_NAMES = {"purchase": "Purchase", "refund": "Refund", "lead": "Lead"}
# Graph API error codes that mean "later" (rate limits, temporary trouble), not "never".
_TRANSIENT = frozenset({1, 2, 4, 17, 341, 613})


def event_name_problem(name: str) -> str | None:
    if not EVENT_NAME.match(name):
        return "a letter first, then letters, digits, _ or spaces, at most 50 characters"
    return None


def _window_problem(at: datetime, now: datetime) -> str | None:
    if now - at > WINDOW:
        return "meta.event_time: older than 7 days, Meta refuses it"
    return None


def _user_data(
    *,
    customer: dict[str, str],
    click: ClickFacts | None,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "email_sha256" in customer:
        data["em"] = [customer["email_sha256"]]
    if "phone_sha256" in customer:
        data["ph"] = [customer["phone_sha256"]]
    external = [customer["external_id_sha256"]] if "external_id_sha256" in customer else []
    if click is not None:
        external.append(visitor_external_id(click.visitor_hash))
    if external:
        data["external_id"] = sorted(set(external))  # a set to Meta (and to its SDK)
    if click is not None:
        if click.user_agent:
            data["client_user_agent"] = click.user_agent
        fbclid = click.ad_click_ids.get("fbclid")
        if fbclid:
            data["fbc"] = f"fb.1.{int(click.ts * 1000)}.{fbclid}"
    return data


def _event(
    *,
    name: str,
    at: datetime,
    event_id: str,
    click: ClickFacts | None,
    user_data: dict[str, Any],
    custom_data: dict[str, Any] | None,
) -> dict[str, Any]:
    website = click is not None and bool(click.page_url) and bool(click.user_agent)
    event: dict[str, Any] = {"event_name": name, "event_time": int(unix(at))}
    if website and click is not None:
        event["event_source_url"] = click.page_url
    event["event_id"] = event_id
    event["user_data"] = user_data
    if custom_data:
        event["custom_data"] = custom_data
    event["action_source"] = "website" if website else "other"
    return event


def click(dest: Destination, f: ClickFacts, *, now: datetime) -> Built | Refused:
    at = datetime.fromtimestamp(f.ts, UTC)
    event = _event(
        name=dest.click_event_name or DEFAULT_CLICK_EVENT,
        at=at,
        event_id=f.click_id,
        click=f,
        user_data=_user_data(customer={}, click=f),
        custom_data=None,
    )
    problem = _window_problem(at, now)
    return Refused(f.click_id, problem, at, event) if problem else Built(f.click_id, event, at)


def conversion(dest: Destination, f: ConversionFacts, *, now: datetime) -> Built | Refused:
    name = _EVENT_NAMES.get(f.kind)
    if name is None:
        return Refused(f.event_id, f"meta.event: {f.kind} is not forwarded", f.occurred_at)
    custom: dict[str, Any] = {}
    amount = value(f.amount, f.currency)
    if amount is not None:
        custom["value"] = amount
    if f.currency:
        custom["currency"] = f.currency.lower()  # as the SDK normalises it
    contents = [
        {
            "id": str(i.get("sku")),
            "quantity": i.get("quantity"),
            "item_price": value(_int(i.get("price")), f.currency),
        }
        for i in f.items
    ]
    if contents:
        custom["content_type"] = "product"
    if f.order_id:
        custom["order_id"] = f.order_id
    if contents:
        custom["contents"] = contents
    user = _user_data(customer=f.customer, click=f.click)
    event = _event(
        name=name,
        at=f.occurred_at,
        event_id=f.event_id,
        click=f.click,
        user_data=user,
        custom_data=custom,
    )
    problem = _window_problem(f.occurred_at, now)
    if problem is None and not (set(user) - {"client_user_agent"}):
        problem = "meta.user_data: no customer information parameter (no click, e-mail, phone)"
    if problem is not None:
        return Refused(f.event_id, problem, f.occurred_at, event)
    return Built(f.event_id, event, f.occurred_at)


def _int(raw: object) -> int | None:
    return raw if isinstance(raw, int) else None


def due_problem(payload: dict[str, Any], occurred_at: datetime, now: datetime) -> str | None:
    return _window_problem(occurred_at, now)


def request(
    dest: Destination,
    *,
    credential: str,
    base_url: str,
    events: list[dict[str, Any]],
    group: str,
    api_version: str,
) -> Request:
    body: dict[str, Any] = {"data": events}
    if dest.test_code:
        body["test_event_code"] = dest.test_code
    shown = {**body, "access_token": "••••"}
    body["access_token"] = credential  # in the body, never in a URL a proxy might log
    url = f"{base_url}/{api_version}/{dest.account_id}/events"
    return Request(url, dumps(body), {"Content-Type": "application/json"}, shown)


def answer(status: int, body: bytes) -> Answer:
    text = body[:500].decode("utf-8", "replace")
    if 200 <= status < 300:
        return Answer(ok=True, retry=False, message=text, status=status)
    code: object = None
    message = text
    try:
        error = orjson.loads(body).get("error", {})
        code, message = error.get("code"), str(error.get("message") or text)
    except (orjson.JSONDecodeError, AttributeError):
        pass
    retry = status >= 500 or status == 429 or code in _TRANSIENT
    return Answer(ok=False, retry=retry, message=message[:300], status=status)
