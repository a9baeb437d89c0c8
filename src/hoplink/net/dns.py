"""DNS lookups of hoplink's own (dnspython), when the operator names the servers to ask.

Used for the outbound fetcher's A/AAAA lookups (instead of the system's getaddrinfo) and
for domain verification TXT (and short-domain CNAME) records. Servers are "ip" or
"ip:port" (one port for all).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

import dns.asyncresolver
import dns.exception
import dns.resolver

from hoplink.net.addresses import IPAddress

LIFETIME = 5.0  # seconds for one lookup, all servers and retries included


def resolver(servers: tuple[str, ...] = ()) -> dns.asyncresolver.Resolver:
    """A resolver asking ``servers``, or the system's configured ones when empty."""
    found = dns.asyncresolver.Resolver(configure=not servers)
    if servers:
        hosts, ports = [], set()
        for server in servers:
            host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
            hosts.append(host)
            if port:
                ports.add(int(port))
        found.nameservers = hosts
        if ports:
            found.port = ports.pop()
    found.lifetime = LIFETIME
    return found


def address_lookup(servers: tuple[str, ...]) -> Callable[[str, int], Awaitable[list[IPAddress]]]:
    """A resolver for the safe fetcher: every A and AAAA answer; OSError if there is none."""
    ask = resolver(servers)

    async def lookup(host: str, port: int) -> list[IPAddress]:
        found: list[IPAddress] = []
        for kind in ("A", "AAAA"):
            try:
                answer = await ask.resolve(host, kind)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as exc:
                raise OSError(f"DNS lookup failed: {exc.__class__.__name__}") from None
            found += [ipaddress.ip_address(record.address) for record in answer]
        if not found:
            raise OSError(f"no A or AAAA record for {host}")
        return found

    return lookup


def txt_lookup(servers: tuple[str, ...] = ()) -> Callable[[str], Awaitable[list[str]]]:
    """The TXT strings of a name (each record's strings joined); [] when there are none."""
    ask = resolver(servers)

    async def lookup(name: str) -> list[str]:
        try:
            answer = await ask.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]

    return lookup


def cname_lookup(servers: tuple[str, ...] = ()) -> Callable[[str], Awaitable[list[str]]]:
    """The CNAME target of a name (without the trailing dot); [] when it has none."""
    ask = resolver(servers)

    async def lookup(name: str) -> list[str]:
        try:
            answer = await ask.resolve(name, "CNAME")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        return [record.target.to_text(omit_final_dot=True) for record in answer]

    return lookup
