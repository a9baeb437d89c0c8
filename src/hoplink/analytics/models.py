"""Values of the stats domain: what is asked (scope) and what comes back (rows, results)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ScopeKind(StrEnum):
    WORKSPACE = "workspace"
    LINK = "link"
    CAMPAIGN = "campaign"
    CHANNEL = "channel"
    TAG = "tag"


@dataclass(frozen=True, slots=True)
class StatsScope:
    """Which clicks: the whole workspace, or the links of one link/campaign/channel/tag."""

    kind: ScopeKind
    ref: str | None = None  # link or campaign id, channel or tag name

    @property
    def label(self) -> str:
        return self.kind.value if self.ref is None else f"{self.kind.value}-{self.ref}"


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"


class Metric(StrEnum):
    """What breakdowns are sorted by and what their shares are shares of."""

    PV = "pv"
    HUMAN_PV = "human_pv"
    UV = "uv"


# Breakdown name in the API → dimension stored in the rollups.
DIMENSIONS: dict[str, str] = {
    "countries": "country",
    "devices": "device",
    "os": "os",
    "browsers": "browser",
    "referrers": "referrer",
    "languages": "language",
    "bots": "bot",
    "rules": "rule",  # which routing rule answered (links with rules; "default": none)
    "variants": "variant",  # the A/B test variant a visitor was sent to
}
# Breakdowns by a property of the link: workspace-wide, dimensions the worker wrote (as of
# each click); in link-level scopes, the links' current values joined at query time.
# utm_content (the ad group) and utm_term (the ad) list only clicks on links that have one.
LINK_GROUPS: dict[str, str] = {
    "channels": "channel",
    "campaigns": "campaign",
    "utm_content": "utm_content",
    "utm_term": "utm_term",
}
BREAKDOWNS: tuple[str, ...] = (*DIMENSIONS, *LINK_GROUPS)
NONE_VALUE = "(none)"  # links without a channel or campaign


@dataclass(frozen=True, slots=True)
class Totals:
    pv: int = 0
    human_pv: int = 0
    uv: int = 0

    @property
    def bot_pv(self) -> int:
        return self.pv - self.human_pv


@dataclass(frozen=True, slots=True)
class HourRow:
    hour: int  # UTC hour bucket (unix time // 3600)
    pv: int
    human_pv: int
    uv_hour: int  # distinct visitors within the hour
    uv_day: int  # visitors first seen that UTC day in this hour


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One value of a breakdown, summed over the range."""

    group: str  # dimension name or link property
    value: str
    pv: int
    human_pv: int
    uv: int
    label: str | None = None  # a campaign's name


@dataclass(frozen=True, slots=True)
class Point:
    start: datetime  # local start of the hour or day, in the workspace's time zone
    pv: int
    human_pv: int
    uv: int

    @property
    def bot_pv(self) -> int:
        return self.pv - self.human_pv


@dataclass(frozen=True, slots=True)
class BreakdownItem:
    value: str
    pv: int
    human_pv: int
    uv: int
    share: float  # of the query's metric, over all values of the breakdown
    label: str | None = None

    @property
    def bot_pv(self) -> int:
        return self.pv - self.human_pv


class VisitScope(StrEnum):
    LINK = "link"
    TAG = "tag"
    DOMAIN = "domain"
    WORKSPACE = "workspace"


@dataclass(frozen=True, slots=True)
class VisitQuery:
    """Which visits: a scope (``ref`` a link id, tag name or hostname), a time range
    [start, end), humans only or not, and one page of them, newest first."""

    workspace_id: str
    scope: VisitScope
    ref: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    humans_only: bool = False
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Visit:
    ts: datetime
    link_code: str
    link_domain: str
    domain: str  # the host the visitor asked
    referrer_host: str
    user_agent: str
    country: str | None  # ISO 3166 alpha-2, None when unknown
    bot: str | None  # why the visit was flagged as a bot; None: a person
