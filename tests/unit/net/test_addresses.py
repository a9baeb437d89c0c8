"""The address table and the WHATWG IPv4 parser shared by the policy and the fetcher."""

from __future__ import annotations

import ipaddress

import pytest

from hoplink.net.addresses import host_address, in_any, non_global_reason, whatwg_ipv4


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 (an address, not a bind)
        ("0x", "0.0.0.0"),  # noqa: S104
        ("169.254.43518", "169.254.169.254"),
        ("4294967295", "255.255.255.255"),
    ],
)
def test_whatwg_ipv4_reads_what_a_browser_connects_to(host: str, address: str) -> None:
    assert whatwg_ipv4(host) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize(
    "host",
    [
        "shop.example.com",
        "123.example.com",
        "1.2.3.4.5",
        "256.1.1.1",
        "08.1.1.1",
        "4294967296",
        "1..1",
    ],
)
def test_names_and_invalid_numbers_are_not_ipv4(host: str) -> None:
    assert whatwg_ipv4(host) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("10.1.2.3", "private address"),
        ("100.64.0.1", "shared (CGNAT) address"),
        ("169.254.169.254", "link-local address"),
        ("0.0.0.0", "unspecified address"),  # noqa: S104
        ("192.0.0.9", "IETF protocol address"),
        ("198.51.100.1", "documentation address"),
        ("239.1.1.1", "multicast address"),
        ("::1", "loopback address"),
        ("::ffff:127.0.0.1", "IPv4-mapped address of 127.0.0.1"),
        ("::ffff:8.8.8.8", "IPv4-mapped address of 8.8.8.8"),  # a public one too: use IPv4
        ("::127.0.0.1", "IPv4-compatible address of 127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "NAT64 address of 169.254.169.254"),
        ("fd00::1", "private (unique local) address"),
        ("fe80::1%eth0", "address with a zone id"),
        ("2002:7f00:1::1", "6to4 address"),
        ("2001:db8::1", "documentation address"),
        ("4000::1", "reserved address"),
    ],
)
def test_non_global_addresses_say_why(address: str, reason: str) -> None:
    assert non_global_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert non_global_reason(ipaddress.ip_address(address)) is None


def test_host_address_and_networks() -> None:
    assert host_address("[::1]") == ipaddress.IPv6Address("::1")
    assert host_address("shop.example.com") is None
    mapped = ipaddress.IPv6Address("::ffff:127.0.0.1")
    assert in_any(mapped, (ipaddress.IPv4Network("127.0.0.0/8"),))
    assert not in_any(ipaddress.IPv4Address("127.0.0.2"), (ipaddress.IPv4Network("127.0.0.1/32"),))
