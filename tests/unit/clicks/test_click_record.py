"""The click's journal record, byte for byte: how ``Click`` is declared (frozen, slotted or
not) is the hot path's business, what it serialises to is the worker's contract."""

from __future__ import annotations

import zlib

from hoplink.clicks.models import Click
from hoplink.ingest.journal import encode_record


def click() -> Click:
    return Click(
        click_id="c1",
        ts=1.5,
        link_id="lk",
        workspace_id="ws",
        domain="go.shop.com",
        method="GET",
        user_agent="Mozilla/5.0 é",
        referrer="https://m.facebook.com/",
        accept_language="en",
        country=None,
        visitor_hash="ab",
        ad_click_ids={"fbclid": "x"},
    )


def test_a_click_serialises_its_fields_in_declaration_order() -> None:
    answered = click().answered_by("rule-1", "B")
    assert answered.to_json() == (
        b'{"click_id":"c1","ts":1.5,"link_id":"lk","workspace_id":"ws",'
        b'"domain":"go.shop.com","method":"GET","user_agent":"Mozilla/5.0 \xc3\xa9",'
        b'"referrer":"https://m.facebook.com/","accept_language":"en","country":null,'
        b'"visitor_hash":"ab","ad_click_ids":{"fbclid":"x"},"rule":"rule-1","variant":"B"}'
    )
    assert Click.from_json(answered.to_json()) == answered


def test_a_record_is_length_crc_and_payload() -> None:
    payload = click().to_json()
    record = encode_record(payload)
    size = len(payload).to_bytes(4, "little")
    assert record[:4] == size
    assert record[4:8] == zlib.crc32(size + payload).to_bytes(4, "little")
    assert record[8:] == payload
