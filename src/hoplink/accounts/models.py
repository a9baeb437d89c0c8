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


@dataclass(frozen=True, slots=True)
class PasswordReset:
    """A one-time link to set a new password. ``id`` is the SHA-256 of the link's secret."""

    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    origin: str  # "cli" (an operator's link) or "email" (self-service)


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invitation by link to join a workspace with a role; the token is kept hashed."""

    id: str
    workspace_id: str
    email: str
    role: Role
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    accepted_by: str | None
    revoked_at: datetime | None

    def pending(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class TotpState:
    """A user's authenticator: the sealed secret; ``confirmed_at`` None while enrolling."""

    user_id: str
    secret_sealed: str
    created_at: datetime
    confirmed_at: datetime | None
    last_step: int | None

    @property
    def enabled(self) -> bool:
        return self.confirmed_at is not None
