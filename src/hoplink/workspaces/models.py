from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class WorkspaceStatus(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    SUSPENDED = "suspended"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def can_edit_links(self) -> bool:
        return self is not Role.VIEWER

    @property
    def can_manage_workspace(self) -> bool:
        return self in (Role.OWNER, Role.ADMIN)


BUILTIN_CHANNELS: tuple[str, ...] = (
    "facebook",
    "tiktok",
    "instagram",
    "google",
    "email",
    "kol",
    "other",
)


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    slug: str
    name: str
    seller_id: str | None
    timezone: str
    status: WorkspaceStatus
    created_at: datetime
    param_template: dict[str, str] = field(default_factory=dict)
    custom_channels: list[str] = field(default_factory=list)
    # Why a platform admin last changed the status (e.g. the suspension's reason).
    status_reason: str | None = None
    # What a suspension replaced; reinstating restores it.
    status_before_suspension: WorkspaceStatus | None = None
    # Every redirect's Location carries the click id (issue 10), under this parameter name
    # (None: the operator's HOPLINK_CLICK_ID_PARAM).
    click_id_enabled: bool = True
    click_id_param: str | None = None
    # Shown on the visitor page of a disabled or unknown link ("visit the shop").
    fallback_url: str | None = None
    # Creation quotas set by the operator; None: the settings' defaults.
    links_per_day: int | None = None
    links_per_month: int | None = None
    # Custom short domains (issue 16): its own limit (None: the operator's default), and
    # whether a platform admin approved it for them (HOPLINK_CUSTOM_DOMAINS=approval).
    short_domain_limit: int | None = None
    short_domains_approved: bool = False

    @property
    def channels(self) -> tuple[str, ...]:
        return BUILTIN_CHANNELS + tuple(
            c for c in self.custom_channels if c not in BUILTIN_CHANNELS
        )
