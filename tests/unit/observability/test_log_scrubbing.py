"""The log processor that keeps IP addresses out of every line, and request ids."""

from __future__ import annotations

import io
import ipaddress
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from hoplink.observability import logs
from hoplink.observability.logs import REDACTED, request_id, scrub_ip_addresses, scrub_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("peer 203.0.113.7 connected", "peer [ip] connected"),
        ("('10.0.0.1', 5432)", "('[ip]', 5432)"),
        ("10.1.2.3:8080", "[ip]:8080"),
        ("from 192.0.2.1.", "from [ip]."),
        ("[2001:db8::1]:443", "[[ip]]:443"),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329 up", "[ip] up"),
        ("mapped ::ffff:198.51.100.4 here", "mapped [ip] here"),
        ("link-local fe80::1%eth0", "link-local [ip]"),
        ("loopback ::1", "loopback [ip]"),
        # Not addresses: kept as they are.
        ("at 12:34:56 on 2026-11-27T05:24:18Z", "at 12:34:56 on 2026-11-27T05:24:18Z"),
        ("version 1.2.3.4.5", "version 1.2.3.4.5"),
        ("999.1.1.1 is no address", "999.1.1.1 is no address"),
        ("a:b:c and dead:beef", "a:b:c and dead:beef"),
        ("took 12.5 ms", "took 12.5 ms"),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /x?fbclid=IwAR0x-Y.1&color=red", "GET /x?fbclid=[ad-click-id]&color=red"),
        ("https://s.example/p?a=1&GCLID=Cj0K#f", "https://s.example/p?a=1&GCLID=[ad-click-id]#f"),
        ('{"ttclid":"E.1","li_fat_id": "1b7c"}',
         '{"ttclid":"[ad-click-id]","li_fat_id": "[ad-click-id]"}'),
        ("ad_click_ids={'ScCid': 's_1', 'epik': 'dj0!'}",
         "ad_click_ids={'ScCid': '[ad-click-id]', 'epik': '[ad-click-id]'}"),
        # Not ad click ids: kept as they are.
        ("xfbclid=1 and fbclid_count=2", "xfbclid=1 and fbclid_count=2"),
        ("gclid missing", "gclid missing"),
    ],
)  # fmt: skip
def test_ad_click_id_values_never_reach_a_log(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
    event = scrub_ip_addresses(None, "info", {"event": text, "fbclid": "IwAR", "n": {"gclid": "C"}})
    assert event == {"event": expected, "fbclid": "[ad-click-id]", "n": {"gclid": "[ad-click-id]"}}


def test_every_value_of_an_event_is_scrubbed() -> None:
    event = {
        "event": "request from 203.0.113.9",
        "peer": ("203.0.113.9", 50000),
        "nested": {"forwarded": ["198.51.100.1", "ok"], "n": 3},
        "address": ipaddress.ip_address("2001:db8::5"),
        "error": OSError("Connect call failed ('192.0.2.44', 6379)"),
        "203.0.113.9": "as a key",
        "fine": 1.5,
    }
    out = scrub_ip_addresses(None, "info", event)
    rendered = json.dumps(out, default=str)
    for address in ("203.0.113.9", "198.51.100.1", "2001:db8::5", "192.0.2.44"):
        assert address not in rendered
    assert out["peer"] == [REDACTED, 50000]
    assert out["nested"] == {"forwarded": [REDACTED, "ok"], "n": 3}
    assert out["address"] == REDACTED
    assert out["error"] == "Connect call failed ('[ip]', 6379)"
    assert out["fine"] == 1.5


@pytest.fixture
def buffer() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure_logging(fmt="json", level="debug", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.reset_defaults()


def test_stdlib_and_structlog_lines_are_json_with_the_request_id(buffer: io.StringIO) -> None:
    token = logs.REQUEST_ID.set("req-42")
    try:
        logging.getLogger("hoplink.x").warning("peer %s refused", "203.0.113.5")
        structlog.stdlib.get_logger("hoplink.y").info("lookup", client="203.0.113.5", n=2)
        try:
            raise ConnectionError("cannot reach 192.0.2.8:5432")
        except ConnectionError:
            logging.getLogger("hoplink.z").exception("database down")
    finally:
        logs.REQUEST_ID.reset(token)
    text = buffer.getvalue()
    assert "203.0.113.5" not in text and "192.0.2.8" not in text
    first, second, third = (json.loads(line) for line in text.splitlines())
    assert first["event"] == "peer [ip] refused" and first["level"] == "warning"
    assert first["logger"] == "hoplink.x" and first["request_id"] == "req-42"
    assert second["client"] == "[ip]" and second["n"] == 2 and second["request_id"] == "req-42"
    assert (
        third["level"] == "error"
        and "ConnectionError: cannot reach [ip]:5432" in third["exception"]
    )


def test_console_format_is_scrubbed_too() -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure_logging(fmt="console", level="info", stream=stream)
    try:
        logging.getLogger("hoplink.x").info("peer %s", "203.0.113.5")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.reset_defaults()
    assert "peer [ip]" in stream.getvalue() and "203.0.113.5" not in stream.getvalue()


def test_configuring_twice_keeps_one_handler(buffer: io.StringIO) -> None:
    logs.configure_logging(fmt="json", level="info", stream=buffer)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_hoplink_handler", False)]
    assert len(ours) == 1


@pytest.mark.parametrize(
    "incoming",
    [b"abc-123", b"6f1c2a3b4d5e6f708192a3b4c5d6e7f8", b"0b6e9d51-1b6f-4f43-9a34-2a6f2b2d9b11"],
)
def test_a_safe_incoming_request_id_is_kept(incoming: bytes) -> None:
    assert request_id(incoming) == incoming.decode()


@pytest.mark.parametrize(
    "incoming",
    [
        None,
        b"",
        b"203.0.113.5",
        b"2001:db8::1",
        b"a b",
        b"x" * 129,
        b"id\nforged",
        b"-lead",
        b"\xff",
    ],
)
def test_an_unsafe_or_missing_request_id_is_replaced(incoming: bytes | None) -> None:
    made = request_id(incoming)
    assert made != (incoming or b"").decode("latin-1")
    assert request_id(None) != made  # unique per request
    assert logs._SAFE_ID.fullmatch(made.encode())
