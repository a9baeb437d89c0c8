"""Proving a custom short domain: DNS lookups through hoplink's own resolver (net/dns.py).

Two proofs, either is enough:

1. a TXT record ``hoplink-domain=<token>`` on ``_hoplink.<domain>``;
2. with ``HOPLINK_CUSTOM_DOMAIN_CNAME_TARGET`` set, a CNAME of the domain to
   ``<label>.<target>``, the label derived from this claim's token. A plain CNAME to the
   operator would prove nothing about *which* workspace controls the domain (any seller
   could claim a domain someone else pointed at the platform), so the label is per claim.

The lookups run outside any database transaction; the caller records the outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.exception

from hoplink.domains.models import TXT_LABEL, TXT_PREFIX, ShortDomainMethod, cname_label
from hoplink.links.models import ShortDomain
from hoplink.net.dns import cname_lookup, txt_lookup

if TYPE_CHECKING:
    from hoplink.config import Settings

Lookup = Callable[[str], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class Outcome:
    method: ShortDomainMethod | None  # None: not proven
    error: str | None  # what each proof found, for the seller


@dataclass(frozen=True, slots=True)
class ShortDomainVerifier:
    txt: Lookup
    cname: Lookup
    cname_target: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ShortDomainVerifier:
        servers = settings.outbound_dns_servers
        return cls(txt_lookup(servers), cname_lookup(servers), settings.custom_domain_cname_target)

    async def check(self, domain: ShortDomain) -> Outcome:
        if domain.token is None:
            return Outcome(None, "no verification token")
        problems: list[str] = []
        name, expected = f"{TXT_LABEL}.{domain.hostname}", f"{TXT_PREFIX}{domain.token}"
        try:
            records = await self.txt(name)
        except dns.exception.DNSException as exc:
            problems.append(f"TXT {name}: {exc.__class__.__name__}")
        else:
            if expected in (r.strip() for r in records):
                return Outcome(ShortDomainMethod.DNS_TXT, None)
            problems.append(f"TXT {name}: no record {expected}")
        if self.cname_target:
            target = f"{cname_label(domain.token)}.{self.cname_target}"
            try:
                found = await self.cname(domain.hostname)
            except dns.exception.DNSException as exc:
                problems.append(f"CNAME {domain.hostname}: {exc.__class__.__name__}")
            else:
                if target in (f.lower().rstrip(".") for f in found):
                    return Outcome(ShortDomainMethod.CNAME, None)
                problems.append(f"CNAME {domain.hostname}: not {target}")
        return Outcome(None, "; ".join(problems)[:300])
