"""Values of custom short domains (issue 16): states, proof records, the operator's rule."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hoplink.links.models import ShortDomain


class ShortDomainStatus(StrEnum):
    PENDING = "pending"  # claimed, ownership not proven yet
    VERIFIED = "verified"  # proven: served, usable for new links
    SUSPENDED = "suspended"  # by the operator: every path answers the "gone" page
    REMOVED = "removed"  # by its workspace: not served; its links' codes stay reserved


class ShortDomainMethod(StrEnum):
    DNS_TXT = "dns_txt"
    CNAME = "cname"
    ADMIN = "admin"


class Eligibility(StrEnum):
    """HOPLINK_CUSTOM_DOMAINS: who may add custom short domains."""

    OFF = "off"
    APPROVAL = "approval"
    AUTOMATIC = "automatic"


# The TXT record sits on its own label: a short domain usually is a CNAME already, and a
# CNAME cannot share its name with any other record.
TXT_LABEL = "_hoplink"
TXT_PREFIX = "hoplink-domain="


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """A record the seller publishes, exactly as the DNS provider's form asks for it."""

    type: str  # TXT or CNAME
    name: str
    value: str


def cname_label(token: str) -> str:
    """The per-domain label of the CNAME target: DNS names are case-insensitive, so the
    label is the lower-cased token's letters and digits (≥ 96 bits of it)."""
    return "d-" + "".join(c for c in token.lower() if c.isalnum())[:24]


def proof_records(domain: ShortDomain, cname_target: str) -> list[DnsRecord]:
    """Either record proves ownership; the CNAME also routes the domain to hoplink."""
    if domain.token is None:
        return []
    records = [DnsRecord("TXT", f"{TXT_LABEL}.{domain.hostname}", f"{TXT_PREFIX}{domain.token}")]
    if cname_target:
        target = f"{cname_label(domain.token)}.{cname_target}"
        records.append(DnsRecord("CNAME", domain.hostname, target))
    return records
