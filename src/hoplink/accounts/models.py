from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hoplink.workspaces.models import Role


class Scope(StrEnum):
    LINKS_READ = "links:read"
    LINKS_WRITE = "links:write"
    STATS_READ = "stats:read"
    # Report conversions (orders, refunds), change attribution settings, import ad spend.
    CONVERSIONS_WRITE = "conversions:write"
    # Export or erase the whole workspace, read its audit log (issue 6). Never given by
    # default: a dashboard user ticks it explicitly.
    WORKSPACE_ADMIN = "workspace:admin"
    # Upload the platform's exchange rates (not the workspace's: every workspace's reports
    # convert with them). An operator scope: only `hoplink apikey create` or a platform
    # admin in the dashboard grants it.
    RATES_WRITE = "rates:write"


# Scopes that act on the whole platform, granted by operators only.
OPERATOR_SCOPES = frozenset({Scope.RATES_WRITE})


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    is_platform_admin: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    user_id: str
    workspace_id: str
    role: Role


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    workspace_id: str
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    created_by: str | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Session:
    """One dashboard sign-in. ``id`` is the SHA-256 of the cookie's secret: shown (to list
    and end sessions), never usable as a cookie."""

    id: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
