"""The Host header as the redirect reads it (redirect/handler.py)."""

from __future__ import annotations

import pytest

from hoplink.redirect.handler import _host, _without_port
from hoplink.storage.redirects import Site


@pytest.mark.parametrize(
    ("header", "host"),
    [
        (b"Go.Shop.com", "go.shop.com"),
        (b"go.shop.com:443", "go.shop.com:443"),  # the port is kept: a platform domain may have one
        (b"go.shop.com.:80", "go.shop.com:80"),
        (b"[2001:db8::1]:8080", "[2001:db8::1]:8080"),
        (b"go.shop.com:443:443", None),
        (b"go shop.com", None),
    ],
)
def test_host_is_read_lower_case_without_the_trailing_dot(header: bytes, host: str | None) -> None:
    assert _host([(b"accept", b"*/*"), (b"host", header)]) == host


@pytest.mark.parametrize(
    ("host", "bare"),
    [
        ("go.shop.com:443", "go.shop.com"),
        ("go.shop.com:80", "go.shop.com"),
        ("localhost:8099", "localhost"),
        ("go.shop.com", "go.shop.com"),
        ("[2001:db8::1]:8080", "[2001:db8::1]"),
        ("[2001:db8::1]", "[2001:db8::1]"),
    ],
)
def test_without_port(host: str, bare: str) -> None:
    assert _without_port(host) == bare


def test_a_site_keeps_whether_it_is_served_and_reads_a_map_written_before() -> None:
    pending = Site("dom_1", "ws_1", served=False)
    assert Site.from_json(pending.as_json()) == pending
    assert Site.from_json(["dom_1", "ws_1", False, None, None, None]).served is True
