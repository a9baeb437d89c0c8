"""Who the client is: the socket peer, or what a *trusted* proxy says it forwarded for.

Forwarding headers are believed only from peers inside HOPLINK_TRUSTED_PROXIES; from
anyone else they are ignored, since any client can send them. X-Forwarded-For is read
right to left (each proxy appends the address it received from) and the client is the
right-most hop that is not itself a trusted proxy: everything left of it was written by
someone we do not trust.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.datastructures import Headers
from starlette.types import Scope

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_PEER_CACHE_LIMIT = 4096


def parse_ip(text: str) -> IPAddress | None:
    """An address from a header or socket: "192.0.2.1", "192.0.2.1:443", "[2001:db8::1]:443".

    IPv4-mapped IPv6 ("::ffff:192.0.2.1") becomes the IPv4 address, so one client always
    yields the same string.
    """
    text = text.strip()
    if not text or len(text) > 64:
        return None
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return ipaddress.IPv6Address(int(ip))
    return ip


class TrustedProxies:
    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
        self._peers: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)

    def peer_is_trusted(self, peer: str) -> bool:
        """Whether the socket peer (a canonical address string) is a trusted proxy; cached."""
        known = self._peers.get(peer)
        if known is None:
            ip = parse_ip(peer)
            known = ip is not None and ip in self
            if len(self._peers) >= _PEER_CACHE_LIMIT:
                self._peers.clear()
            self._peers[peer] = known
        return known


def forwarded_client(
    peer: IPAddress | None,
    forwarded_for: Sequence[str],
    trusted: TrustedProxies,
) -> IPAddress | None:
    """The right-most untrusted hop of the X-Forwarded-For values (in header order).

    ``peer`` must already be known to be trusted. If every hop is trusted, the left-most
    one is the client; a hop that is not an address stops the walk at the last good one.
    """
    client = peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        ip = parse_ip(hop)
        if ip is None:
            break
        client = ip
        if ip not in trusted:
            break
    return client


# One year; no includeSubDomains: short-link domains under the same parent may differ.
HSTS = "max-age=31536000"


class HttpsDetector:
    """HTTPS if the socket is TLS, or a trusted proxy says so in X-Forwarded-Proto."""

    def __init__(self, trusted: TrustedProxies | None = None) -> None:
        self.trusted = trusted or TrustedProxies()

    def __call__(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        client = scope.get("client")
        if client and self.trusted and self.trusted.peer_is_trusted(client[0]):
            proto = Headers(scope=scope).get("x-forwarded-proto", "")
            return proto.split(",")[-1].strip().lower() == "https"
        return False
