"""Which IP addresses are public, and how browsers read a numeric host.

One table, shared by the destination policy (IP-literal destinations) and the outbound
fetcher (every resolved address). Python's ``is_global`` is not used alone: before 3.12.4
it calls ``::ffff:127.0.0.1``-style and 6to4 addresses global. IPv6 is an allow-list
(only global unicast 2000::/3 minus its special blocks), so an unknown form fails closed.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address

# (network, why) — IANA IPv4 special-purpose registry plus multicast and the broadcast.
_V4_BLOCKED: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified address"),
        ("10.0.0.0/8", "private address"),
        ("100.64.0.0/10", "shared (CGNAT) address"),
        ("127.0.0.0/8", "loopback address"),
        ("169.254.0.0/16", "link-local address"),
        ("172.16.0.0/12", "private address"),
        ("192.0.0.0/24", "IETF protocol address"),
        ("192.0.2.0/24", "documentation address"),
        ("192.88.99.0/24", "6to4 relay address"),
        ("192.168.0.0/16", "private address"),
        ("198.18.0.0/15", "benchmarking address"),
        ("198.51.100.0/24", "documentation address"),
        ("203.0.113.0/24", "documentation address"),
        ("224.0.0.0/4", "multicast address"),
        ("240.0.0.0/4", "reserved address"),
    )
)
_V6_GLOBAL_UNICAST = IPv6Network("2000::/3")
_V6_BLOCKED: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("2001::/23", "IETF protocol address (Teredo, ORCHID, ...)"),
        ("2001:db8::/32", "documentation address"),
        ("2002::/16", "6to4 address"),
        ("3fff::/20", "documentation address"),
    )
)
_V6_NAMED: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("::/128", "unspecified address"),
        ("::1/128", "loopback address"),
        ("::ffff:0:0/96", "IPv4-mapped address"),
        ("::/96", "IPv4-compatible address"),
        ("64:ff9b::/96", "NAT64 address"),
        ("64:ff9b:1::/48", "NAT64 address"),
        ("100::/64", "discard address"),
        ("fc00::/7", "private (unique local) address"),
        ("fe80::/10", "link-local address"),
        ("fec0::/10", "site-local address"),
        ("ff00::/8", "multicast address"),
    )
)


def non_global_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (e.g. "loopback address"), or None."""
    if isinstance(address, IPv4Address):
        for v4net, why in _V4_BLOCKED:
            if address in v4net:
                return why
        return None if address != IPv4Address("255.255.255.255") else "broadcast address"
    if address.scope_id:
        return "address with a zone id"
    for v6net, why in _V6_NAMED:
        if address in v6net:
            return _with_embedded(address, why)
    if address not in _V6_GLOBAL_UNICAST:
        return "reserved address"
    for v6net, why in _V6_BLOCKED:
        if address in v6net:
            return why
    return None


def _with_embedded(address: IPv6Address, why: str) -> str:
    embedded = address.ipv4_mapped
    if embedded is None and why in ("IPv4-compatible address", "NAT64 address"):
        embedded = IPv4Address(int(address) & 0xFFFFFFFF)
    return f"{why} of {embedded}" if embedded is not None and why != "loopback address" else why


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 host: decimal, 0x-hex or 0-octal; None if not a number."""
    text, base = part, 10
    if len(text) >= 2 and text[:2] in ("0x", "0X"):
        text, base = text[2:], 16
    elif len(text) >= 2 and text[0] == "0":
        text, base = text[1:], 8
    if text == "":
        return 0
    try:
        return int(text, base) if text.isascii() and text.isalnum() else None
    except ValueError:
        return None


def whatwg_ipv4(host: str) -> IPv4Address | None:
    """The IPv4 address a browser connects to for ``host`` (WHATWG URL "IPv4 parser").

    ``127.1``, ``0x7f.1``, ``0177.0.0.1`` and ``2130706433`` all give 127.0.0.1. None when
    the host is a domain name (its last label is not a number) or not a valid IPv4 spelling.
    """
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4 or _ipv4_number(parts[-1]) is None:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if "" in parts or any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    total = values[-1] + sum(n * 256 ** (3 - i) for i, n in enumerate(values[:-1]))
    return IPv4Address(total)


def host_address(host: str) -> IPAddress | None:
    """The address of an IP-literal host (``[::1]``, ``::1``, ``127.1`` ...), else None."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    return whatwg_ipv4(host)


def in_any(address: IPAddress, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    """Whether ``address`` (an IPv4-mapped IPv6 address counts as its IPv4) is in a network."""
    plain = address.ipv4_mapped if isinstance(address, IPv6Address) else None
    candidates: tuple[IPAddress, ...] = (address,) if plain is None else (address, plain)
    return any(a.version == n.version and a in n for a in candidates for n in networks)
