"""Client address: forwarding headers count only from trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from hoplink.redirect.edge import ClickCapture
from hoplink.redirect.proxies import TrustedProxies, forwarded_client, parse_ip


class NoGeo:
    def country(self, ip: str) -> str | None:
        return None


def capture(*cidrs: str, header: str = "x-forwarded-for") -> ClickCapture:
    return ClickCapture(
        salts=None,  # type: ignore[arg-type]  # client_ip() does not use them
        geo=NoGeo(),
        trusted=TrustedProxies(cidrs),
        client_ip_header=header,
    )


def xff(*values: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-forwarded-for", v.encode()) for v in values]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("192.0.2.1:4711", "192.0.2.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::ffff:192.0.2.9", "192.0.2.9"),
        ("fe80::1%eth0", "fe80::1"),
        ("unknown", None),
        ("", None),
        ("192.0.2.1\r\nX-Evil: 1", None),
        ("999.1.1.1", None),
    ],
)
def test_parse_ip_accepts_header_forms_and_canonicalises(text: str, expected: str | None) -> None:
    ip = parse_ip(text)
    assert (str(ip) if ip else None) == expected


def test_untrusted_peer_forwarding_headers_are_ignored() -> None:
    edge = capture()  # no trusted proxies at all
    headers = [*xff("203.0.113.7"), (b"cf-connecting-ip", b"203.0.113.8")]
    assert edge.client_ip("198.51.100.4", headers) == ("198.51.100.4", False)


def test_spoofed_xff_from_a_peer_outside_the_trusted_list_is_ignored() -> None:
    edge = capture("10.0.0.0/8")
    assert edge.client_ip("198.51.100.4", xff("203.0.113.7")) == ("198.51.100.4", False)


def test_trusted_peer_right_most_untrusted_hop_is_the_client() -> None:
    edge = capture("10.0.0.0/8")
    # The client forged "1.1.1.1"; our proxy appended the address it really saw.
    headers = xff("1.1.1.1, 203.0.113.7", "10.0.0.5")
    assert edge.client_ip("10.0.0.2", headers) == ("203.0.113.7", True)


def test_all_hops_trusted_gives_the_left_most() -> None:
    trusted = TrustedProxies(["10.0.0.0/8"])
    peer = ipaddress.ip_address("10.0.0.1")
    assert str(forwarded_client(peer, ["10.1.1.1, 10.2.2.2"], trusted)) == "10.1.1.1"


def test_garbage_hop_stops_the_walk_at_the_last_good_address() -> None:
    edge = capture("10.0.0.0/8")
    assert edge.client_ip("10.0.0.2", xff("203.0.113.7, nonsense")) == ("10.0.0.2", True)
    assert edge.client_ip("10.0.0.2", xff("nonsense, 203.0.113.7")) == ("203.0.113.7", True)


def test_no_xff_from_trusted_peer_means_the_peer() -> None:
    edge = capture("127.0.0.1/32")
    assert edge.client_ip("127.0.0.1", []) == ("127.0.0.1", True)


def test_ipv6_proxies_and_clients() -> None:
    edge = capture("2001:db8:ffff::/48")
    headers = xff("2001:db8:1::7, [2001:db8:ffff::3]:8080")
    assert edge.client_ip("2001:db8:ffff::1", headers) == ("2001:db8:1::7", True)
    assert edge.client_ip("2001:db8:1::9", headers) == ("2001:db8:1::9", False)


def test_ipv4_mapped_peer_is_the_ipv4_address() -> None:
    edge = capture("192.0.2.0/24")
    assert edge.client_ip("::ffff:198.51.100.1", []) == ("198.51.100.1", False)
    assert edge.client_ip("::ffff:192.0.2.1", xff("203.0.113.1")) == ("203.0.113.1", True)


def test_cf_connecting_ip_only_when_configured_and_trusted() -> None:
    headers = [(b"cf-connecting-ip", b"203.0.113.50"), *xff("203.0.113.60")]
    cf = capture("173.245.48.0/20", header="cf-connecting-ip")
    assert cf.client_ip("173.245.48.1", headers) == ("203.0.113.50", True)
    assert cf.client_ip("198.51.100.1", headers) == ("198.51.100.1", False)
    plain = capture("173.245.48.0/20")
    assert plain.client_ip("173.245.48.1", headers) == ("203.0.113.60", True)


def test_missing_peer_gives_no_address() -> None:
    assert capture("10.0.0.0/8").client_ip(None, xff("203.0.113.7")) == (None, False)
