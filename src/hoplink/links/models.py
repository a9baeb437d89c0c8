from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    workspace_id: str
    name: str
    external_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LinkBan:
    """A platform admin's ban of a link: the redirect answers 410, the owner cannot edit it."""

    id: str
    workspace_id: str
    link_id: str
    reason: str
    report_id: str | None
    banned_by: str | None
    banned_at: datetime
    lifted_by: str | None = None
    lifted_at: datetime | None = None
    lift_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    id: str
    workspace_id: str
    domain: str
    code: str
    destination_url: str
    final_url: str
    utm: dict[str, str | None]
    channel: str | None
    campaign_id: str | None
    title: str | None
    notes: str | None
    archived: bool
    forward_query: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    tags: list[str] = field(default_factory=list)
    # The active ban, if a platform admin banned the link (issue 6).
    ban: LinkBan | None = None
    # Routing rules as stored JSON (hoplink.links.routing); None: the link has none.
    routing: str | None = None
    # Schedule and limit: served in [starts_at, ends_at) and up to max_clicks human clicks
    # (exhausted_at: when the worker counted the last one); then expiry_url or a 410 page.
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_clicks: int | None = None
    expiry_url: str | None = None
    exhausted_at: datetime | None = None

    def state(self, now: datetime) -> str:
        """scheduled (before its start), live, or expired (after its end or click limit)."""
        if self.starts_at is not None and now < self.starts_at:
            return "scheduled"
        if self.exhausted_at is not None or (self.ends_at is not None and now >= self.ends_at):
            return "expired"
        return "live"

    # Pass the ad platforms' click ids (fbclid, gclid, ...) on to the destination (issue 10).
    pass_ad_click_ids: bool = False
    # Turned off by its owner: visitors get the friendly page instead of the redirect.
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: str
    link_id: str
    changed_at: datetime
    changed_by: str | None
    field: str
    old_value: str | None
    new_value: str | None


@dataclass(frozen=True, slots=True)
class ShortDomain:
    """A short-link domain: a platform one (``workspace_id`` None, every workspace may use it)
    or a workspace's custom domain (issue 16, hoplink.domains)."""

    id: str
    hostname: str
    workspace_id: str | None
    is_default: bool
    # pending | verified | suspended | removed (hoplink.domains.models.ShortDomainStatus)
    status: str = "verified"
    token: str | None = None
    method: str | None = None  # dns_txt, cname or admin, once verified
    last_error: str | None = None
    checked_at: datetime | None = None
    verified_at: datetime | None = None
    root_url: str | None = None  # "/" redirects here (None: hoplink's page)
    not_found_url: str | None = None  # unknown codes redirect here (None: hoplink's page)
    robots: str | None = None  # robots.txt (None: disallow everything)
    forward_query: bool = False  # the default of new links' forward_query
    workspace_default: bool = False  # new links of its workspace go here by default
    created_at: datetime | None = None
    # Periodic re-checks of a verified domain: the next one, and the streak of failures.
    next_check_at: datetime | None = None
    failed_checks: int = 0
    failing_since: datetime | None = None

    @property
    def usable(self) -> bool:
        """New links may be created on it (verified, not suspended or removed)."""
        return self.status == "verified"


LINK_SORTS = (
    "created",
    "-created",
    "code",
    "-code",
    "title",
    "-title",
    "updated",
    "-updated",
    # By counts in the query's click span (issue 14): all clicks, human clicks, visitors.
    "-pv",
    "pv",
    "-human",
    "human",
    "-uv",
    "uv",
)
COUNT_SORTS = {"pv": "pv", "human": "human_pv", "uv": "uv"}
# Also accepted by storage, for the Shlink-compatible API's orderBy (not offered in /api/v1).
EXTRA_SORTS = ("url", "-url", "visits", "-visits", "human_visits", "-human_visits")


@dataclass(frozen=True, slots=True)
class LinkQuery:
    """A validated filter for listing links (built by the API/CLI, run by storage)."""

    text: str | None = None
    tag: str | None = None
    channel: str | None = None
    campaign_id: str | None = None
    archived: bool | None = False
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Links with any (``tags_all``: every one) of these tags, beside ``tag``.
    tags: tuple[str, ...] = ()
    tags_all: bool = False
    domain_id: str | None = None
    destination: str | None = None  # exactly this canonical destination URL
    # Leave out links whose click limit is used up / whose end lies before this time
    # (the Shlink API's excludeMaxVisitsReached / excludePastValidUntil).
    exclude_exhausted: bool = False
    ended_before: datetime | None = None
    sort: str = "-created"
    page: int = 1
    per_page: int = 50
    # The span of hours (UTC, since the epoch) the count sorts read: [start, end).
    clicks_from_hour: int = 0
    clicks_to_hour: int = 0
