"""Destination health values: verdicts, a link's health row, its history. No HTTP, no SQL.

States, from best to worst:

    unknown    never checked, or the check could not judge (robots.txt disallows it)
    healthy    the product page answers 2xx on the product's own host
    degraded   reachable but not selling: a sold-out marker, 5xx, 403/429, a timeout
    broken     gone: 404/410, redirected to a search or home page or another host,
               an item-not-found marker, a TLS or DNS failure, a refused address
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

HealthState = Literal["unknown", "healthy", "degraded", "broken"]
STATES: tuple[HealthState, ...] = ("unknown", "healthy", "degraded", "broken")
_RANK = {"unknown": 0, "healthy": 1, "degraded": 2, "broken": 3}

AutoFallback = Literal["off", "broken", "degraded"]
AUTO_FALLBACK: tuple[AutoFallback, ...] = ("off", "broken", "degraded")


def worse(a: HealthState, b: HealthState) -> bool:
    """Whether ``a`` is worse than ``b``."""
    return _RANK[a] > _RANK[b]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one check of one URL found."""

    state: HealthState
    reason: str  # ok, http_404, sold_out, redirected_search, timeout, tls, ... (docs)
    detail: str = ""
    status_code: int | None = None
    final_url: str | None = None


@dataclass(frozen=True, slots=True)
class LinkHealth:
    link_id: str
    workspace_id: str
    state: HealthState
    reason: str | None
    detail: str | None
    url: str | None
    status_code: int | None
    checked_at: datetime | None
    changed_at: datetime | None
    next_check_at: datetime
    auto_fallback: AutoFallback
    switched_from: str | None
    switched_to: str | None

    @property
    def switched(self) -> bool:
        return self.switched_from is not None


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """A change of a link's state: its history, and an entry of the notification list."""

    id: str
    workspace_id: str
    link_id: str
    at: datetime
    old_state: HealthState
    new_state: HealthState
    reason: str | None
    detail: str | None
    url: str | None
    status_code: int | None
    switch: str | None  # to_fallback | restored | None
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A link handed to one checker under a lease: what it must fetch, and its last facts."""

    link_id: str
    workspace_id: str
    lease: str
    urls: tuple[str, ...]  # the primary destination first, then rule and variant URLs
    health: LinkHealth
    validators: dict[str, dict[str, str]]  # url -> {etag, last_modified, state, reason, ...}
