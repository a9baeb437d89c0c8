"""hoplink's Meta events are what the official `facebook-business` SDK's Conversions API
objects produce (docs/adr/0011-meta-capi-without-the-sdk-transport.md): the same event
built with ``Event``/``UserData``/``CustomData``/``Content`` and ``normalize()``d equals
ours, key for key and in order, and the request parameters match ``EventRequest``'s."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson

# The SDK is a test dependency (pyproject.toml): a missing SDK fails this file, never skips it.
from facebook_business.adobjects.serverside import event as sdk
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.content import Content
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData

from hoplink.forwarding import meta
from hoplink.forwarding.common import visitor_external_id
from hoplink.forwarding.models import Built, ClickFacts, ConversionFacts, Destination, Kind

NOW = datetime.now(UTC).replace(microsecond=0)
DEST = Destination(
    id="fwd_1", workspace_id="ws_1", kind=Kind.META, name="m", account_id="1234567890",
    credential_enc="", credential_hint="abcd", events=("click", "purchase"),
    click_sample_rate=1.0, click_event_name=None, test_code="TEST123", enabled=True,
    created_at=NOW, updated_at=NOW,
)  # fmt: skip
CLICK = ClickFacts(
    click_id="a" * 32, workspace_id="ws_1", link_id="l", ts=NOW.timestamp() - 60,
    visitor_hash="vh", user_agent="Mozilla/5.0 (iPhone)", ad_click_ids={"fbclid": "IwAR1x"},
    page_url="https://shop.example.com/p/1",
)  # fmt: skip


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_purchase_equals_the_sdk_event() -> None:
    customer = {
        "email_sha256": sha("buyer@example.com"),
        "phone_sha256": sha("4915112345678"),
        "external_id_sha256": sha("cust-1"),
    }
    facts = ConversionFacts(
        event_id="ev-1", kind="purchase", occurred_at=NOW, order_id="SO-1", amount=12_345,
        currency="EUR", items=[{"sku": "SKU-1", "quantity": 2, "price": 6_000}],
        customer=customer, click=CLICK,
    )  # fmt: skip
    ours = meta.conversion(DEST, facts, now=NOW)
    assert isinstance(ours, Built)
    theirs = sdk.Event(
        event_name="Purchase",
        event_time=int(NOW.timestamp()),
        event_source_url=CLICK.page_url,
        event_id="ev-1",
        action_source=ActionSource.WEBSITE,
        user_data=UserData(
            emails=[customer["email_sha256"]],
            phones=[customer["phone_sha256"]],
            external_ids=[customer["external_id_sha256"], visitor_external_id("vh")],
            client_user_agent=CLICK.user_agent,
            fbc=f"fb.1.{int(CLICK.ts * 1000)}.IwAR1x",
        ),
        custom_data=CustomData(
            value=123.45,
            currency="EUR",
            order_id="SO-1",
            content_type="product",
            contents=[Content(product_id="SKU-1", quantity=2, item_price=60.0)],
        ),
    ).normalize()
    # The SDK de-duplicates external ids through a set: their order differs run to run
    # (Meta reads them as a set); hoplink sends them sorted.
    theirs["user_data"]["external_id"].sort()
    assert orjson.dumps(ours.payload) == orjson.dumps(theirs)


def test_a_click_equals_the_sdk_event_and_the_request_params_match() -> None:
    ours = meta.click(DEST, CLICK, now=NOW)
    assert isinstance(ours, Built)
    event = sdk.Event(
        event_name="PageView",
        event_time=int(CLICK.ts),
        event_source_url=CLICK.page_url,
        event_id=CLICK.click_id,
        action_source=ActionSource.WEBSITE,
        user_data=UserData(
            external_ids=[visitor_external_id("vh")],
            client_user_agent=CLICK.user_agent,
            fbc=f"fb.1.{int(CLICK.ts * 1000)}.IwAR1x",
        ),
    )
    assert orjson.dumps(ours.payload) == orjson.dumps(event.normalize())
    request = meta.request(
        DEST,
        credential="TOKEN",
        base_url="http://127.0.0.1:9",
        events=[ours.payload],
        group="",
        api_version="v21.0",
    )
    params = EventRequest(pixel_id="1234567890", events=[event], test_event_code="TEST123")
    theirs = params.get_params()
    body = orjson.loads(request.body)
    assert body["data"] == [orjson.loads(e) for e in theirs["data"]]  # JSON text each
    assert body["test_event_code"] == theirs["test_event_code"]
    assert body["access_token"] == "TOKEN"
    assert request.url == "http://127.0.0.1:9/v21.0/1234567890/events"
