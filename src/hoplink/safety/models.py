from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DestinationDomainStatus(StrEnum):
    PENDING = "pending"  # added, never checked successfully
    VERIFIED = "verified"
    FAILED = "failed"  # the last check found no token


class DestinationDomainMethod(StrEnum):
    WELL_KNOWN = "well_known"  # https://<domain>/.well-known/hoplink-verification/<token>
    DNS_TXT = "dns_txt"  # TXT "hoplink-verification=<token>" on the domain
    ADMIN = "admin"  # a platform admin vouched for it


@dataclass(frozen=True, slots=True)
class DestinationDomain:
    """A destination domain a workspace claims; in allowlist mode, verified ones are allowed."""

    id: str
    workspace_id: str
    hostname: str  # lower-case ASCII (punycode)
    token: str
    status: DestinationDomainStatus
    method: DestinationDomainMethod | None
    last_error: str | None
    created_at: datetime
    checked_at: datetime | None
    verified_at: datetime | None
    # Periodic re-checks of a verified domain: the next one, and the streak of failures.
    next_check_at: datetime | None = None
    failed_checks: int = 0
    failing_since: datetime | None = None
