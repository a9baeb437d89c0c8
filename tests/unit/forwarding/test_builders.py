"""The payload builders report events outside a platform's rules instead of sending them
(GA4's 72 h window and name / value limits, Meta's customer-information rule, TikTok's
missing refund event), and derive ids without any IP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hoplink.forwarding import ga4, meta, tiktok
from hoplink.forwarding.common import ga4_client_id
from hoplink.forwarding.models import Built, ClickFacts, ConversionFacts, Destination, Kind, Refused
from hoplink.forwarding.outbox import sampled

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _dest(kind: Kind, click_event_name: str | None = None) -> Destination:
    return Destination(
        id="fwd_1", workspace_id="ws_1", kind=kind, name="d", account_id="x",
        credential_enc="", credential_hint="", events=("click", "purchase", "refund"),
        click_sample_rate=1.0, click_event_name=click_event_name, test_code=None,
        enabled=True, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def _click(ts: float, **kw: object) -> ClickFacts:
    values: dict[str, object] = {
        "click_id": "c" * 32, "workspace_id": "ws_1", "link_id": "l", "ts": ts,
        "visitor_hash": "vh", "user_agent": "UA", "ad_click_ids": {},
        "page_url": "https://shop.example.com/",
    }  # fmt: skip
    values.update(kw)
    return ClickFacts(**values)  # type: ignore[arg-type]


def _purchase(at: datetime, click: ClickFacts | None, **kw: object) -> ConversionFacts:
    values: dict[str, object] = {
        "event_id": "ev", "kind": "purchase", "occurred_at": at, "order_id": "o",
        "amount": 1000, "currency": "USD", "items": [], "customer": {}, "click": click,
    }  # fmt: skip
    values.update(kw)
    return ConversionFacts(**values)  # type: ignore[arg-type]


def test_ga4_reports_events_past_72_hours_and_long_values() -> None:
    old = _click((NOW - timedelta(hours=73)).timestamp())
    refused = ga4.click(_dest(Kind.GA4), old, now=NOW)
    assert isinstance(refused, Refused) and refused.rule.startswith("ga4.timestamp_window")
    fresh = _click((NOW - timedelta(hours=71)).timestamp())
    assert isinstance(ga4.click(_dest(Kind.GA4), fresh, now=NOW), Built)
    long_utm = _click(NOW.timestamp(), utm={"utm_campaign": "x" * 101})
    refused = ga4.click(_dest(Kind.GA4), long_utm, now=NOW)
    assert isinstance(refused, Refused) and refused.rule.startswith("ga4.param_value_length")
    assert isinstance(refused.payload, dict) and refused.payload["name"] == "short_link_click"
    reserved = ga4.click(_dest(Kind.GA4, "session_start"), fresh, now=NOW)
    assert isinstance(reserved, Refused) and reserved.rule.startswith("ga4.event_name")
    orphan = ga4.conversion(_dest(Kind.GA4), _purchase(NOW, None), now=NOW)
    assert isinstance(orphan, Refused) and orphan.rule.startswith("ga4.client_id")


def test_ga4_client_id_is_stable_per_daily_visitor() -> None:
    a = ga4_client_id("visitor", NOW.timestamp())
    assert a == ga4_client_id("visitor", NOW.timestamp() + 3600)
    assert a != ga4_client_id("other", NOW.timestamp())
    number, day = a.split(".")
    assert number.isdigit() and int(day) % 86400 == 0


def test_meta_needs_customer_information_and_never_an_ip() -> None:
    bare = meta.conversion(_dest(Kind.META), _purchase(NOW, None), now=NOW)
    assert isinstance(bare, Refused) and bare.rule.startswith("meta.user_data")
    hashed = _purchase(NOW, None, customer={"email_sha256": "a" * 64})
    built = meta.conversion(_dest(Kind.META), hashed, now=NOW)
    assert isinstance(built, Built) and built.payload["action_source"] == "other"
    clicked = meta.click(
        _dest(Kind.META), _click(NOW.timestamp(), ad_click_ids={"fbclid": "F"}), now=NOW
    )
    assert isinstance(clicked, Built)
    assert clicked.payload["user_data"]["fbc"] == f"fb.1.{int(NOW.timestamp() * 1000)}.F"
    assert "client_ip_address" not in clicked.payload["user_data"]


def test_tiktok_reports_refunds_and_needs_a_value() -> None:
    refund = _purchase(NOW, None, kind="refund")
    refused = tiktok.conversion(_dest(Kind.TIKTOK), refund, now=NOW)
    assert isinstance(refused, Refused) and "no refund event" in refused.rule
    no_value = _purchase(NOW, None, amount=None, currency=None)
    refused = tiktok.conversion(_dest(Kind.TIKTOK), no_value, now=NOW)
    assert isinstance(refused, Refused) and refused.rule.startswith("tiktok.properties")


def test_tiktok_needs_a_matching_parameter_as_meta_does() -> None:
    bare = tiktok.conversion(_dest(Kind.TIKTOK), _purchase(NOW, None), now=NOW)
    assert isinstance(bare, Refused) and bare.rule.startswith("tiktok.user")
    assert isinstance(bare.payload, dict) and bare.payload["user"] == {}
    for customer in ({"email_sha256": "a" * 64}, {"phone_e164_sha256": "b" * 64}):
        built = tiktok.conversion(
            _dest(Kind.TIKTOK), _purchase(NOW, None, customer=customer), now=NOW
        )
        assert isinstance(built, Built), customer
    clicked = tiktok.conversion(
        _dest(Kind.TIKTOK), _purchase(NOW, _click(NOW.timestamp())), now=NOW
    )
    assert isinstance(clicked, Built) and "external_id" in clicked.payload["user"]
    lead = tiktok.conversion(_dest(Kind.TIKTOK), _purchase(NOW, None, kind="lead"), now=NOW)
    assert isinstance(lead, Refused) and lead.rule.startswith("tiktok.user")


def test_sampling_is_decided_by_the_click_id() -> None:
    ids = [f"{i:08x}" + "0" * 24 for i in range(0, 2**32, 2**24)]
    picked = [i for i in ids if sampled(i, 0.25)]
    assert len(picked) == 64 and picked == [i for i in ids if sampled(i, 0.25)]
    assert all(sampled(i, 1.0) for i in ids) and not any(sampled(i, 0.0) for i in ids)
