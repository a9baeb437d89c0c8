from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hoplink.links.models import LinkBan


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


# What a visitor can report a link for (the /report form's choices).
REPORT_CATEGORIES: tuple[str, ...] = (
    "phishing",
    "malware",
    "scam",
    "counterfeit",
    "spam",
    "illegal",
    "other",
)


@dataclass(frozen=True, slots=True)
class Report:
    id: str
    workspace_id: str
    link_id: str
    short_url: str
    category: str
    message: str
    contact_email: str | None
    reporter_hash: str
    status: ReportStatus
    created_at: datetime
    handled_by: str | None = None
    handled_at: datetime | None = None
    resolution: str | None = None


@dataclass(frozen=True, slots=True)
class LinkRef:
    """A link seen from the platform (any workspace): enough to act on it and show it."""

    id: str
    workspace_id: str
    workspace_slug: str
    domain: str
    code: str
    destination_url: str


@dataclass(frozen=True, slots=True)
class BanView:
    ban: LinkBan
    link: LinkRef


@dataclass(frozen=True, slots=True)
class ReportView:
    report: Report
    link: LinkRef
    banned: bool
