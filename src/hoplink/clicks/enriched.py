"""The values of the click pipeline after the edge: a click with what enrichment derived
from it (``Event``), the worker's view of a clicked link, and what a batch adds to the
rollups. Apart from ``hoplink.ingest`` (which computes them) so that storage, which writes
them, never imports the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from hoplink.analytics.models import NONE_VALUE
from hoplink.clicks.models import Click

DIRECT = "(direct)"  # no referrer
UNKNOWN = "(unknown)"  # no country / language, or a referrer that is not a URL
MAX_USER_AGENT_STORED = 1000
# (grain "h" | "d", bucket, link or workspace id, visitor hash)
SeenKey = tuple[str, int, str, str]


class DeviceClass(StrEnum):
    MOBILE = "mobile"
    TABLET = "tablet"
    DESKTOP = "desktop"
    BOT = "bot"
    OTHER = "other"  # TVs, consoles, unknown agents


class BotReason(StrEnum):
    """Why a click was flagged as a bot (the flag reasons of the ingest pipeline)."""

    HEAD_REQUEST = "head_request"
    EMPTY_USER_AGENT = "empty_user_agent"
    LINK_PREVIEW = "link_preview"
    SPIDER = "spider"
    CRAWLER_LIST = "crawler_list"


@dataclass(slots=True)
class Event:
    """A click plus what enrichment derived from it."""

    click: Click
    hour: int  # UTC hour bucket: unix time // 3600
    device: str = DeviceClass.OTHER.value
    os: str = ""
    browser: str = ""
    bot: BotReason | None = None
    bot_name: str | None = None
    referrer: str = DIRECT
    language: str = UNKNOWN
    country: str = UNKNOWN
    # The link's channel and campaign id when the click is written (None: it has none).
    channel: str | None = None
    campaign: str | None = None
    # The link's utm_content (ad group) and utm_term (ad) when the click is written.
    utm_content: str | None = None
    utm_term: str | None = None

    @property
    def day(self) -> int:
        return self.hour // 24

    @property
    def human(self) -> bool:
        return self.bot is None

    def dims(self) -> list[tuple[str, str]]:
        """The (dimension, value) pairs this event adds to the breakdown rollups."""
        pairs = [
            ("country", self.country),
            ("device", self.device),
            ("os", self.os),
            ("browser", self.browser),
            ("referrer", self.referrer),
            ("language", self.language),
        ]
        if self.bot_name is not None:
            pairs.append(("bot", self.bot_name))
        if self.click.rule is not None:  # links with routing rules only
            pairs.append(("rule", self.click.rule[:32]))
        if self.click.variant is not None:  # links with an A/B test running
            pairs.append(("variant", self.click.variant[:32]))
        return pairs

    def workspace_dims(self) -> list[tuple[str, str]]:
        """``dims`` plus the link's channel, campaign, utm_content and utm_term at click time,
        for the workspace breakdown rollups (a link-level scope joins its links' properties
        instead). The UTM ones only when the link has them: most links have neither, and
        two rows per click and grain for "(none)" would cost every click."""
        pairs = [
            *self.dims(),
            ("channel", self.channel or NONE_VALUE),
            ("campaign", self.campaign or NONE_VALUE),
        ]
        if self.utm_content:
            pairs.append(("utm_content", self.utm_content))
        if self.utm_term:
            pairs.append(("utm_term", self.utm_term))
        return pairs


class LinkRef(NamedTuple):
    """What the worker needs of a clicked link: its owner and its attribution."""

    workspace_id: str
    channel: str | None = None
    campaign_id: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None


class Counts(NamedTuple):
    # A tuple, made once per row from counts taken in C (``_Tally``): a batch has ~20 rows
    # per click, and tuples of numbers are no work for the cyclic garbage collector.
    pv: int = 0
    human_pv: int = 0
    uv_day: int = 0
    uv_hour: int = 0


@dataclass(slots=True)
class RollupDelta:
    # link tables are keyed with the workspace too: every row stores its workspace_id
    link_hours: dict[tuple[str, str, int], Counts] = field(default_factory=dict)
    link_days: dict[tuple[str, str, int], Counts] = field(default_factory=dict)
    workspace_hours: dict[tuple[str, int], Counts] = field(default_factory=dict)
    workspace_days: dict[tuple[str, int], Counts] = field(default_factory=dict)
    link_dim_hours: dict[tuple[str, str, int, str, str], Counts] = field(default_factory=dict)
    link_dim_days: dict[tuple[str, str, int, str, str], Counts] = field(default_factory=dict)
    workspace_dim_hours: dict[tuple[str, int, str, str], Counts] = field(default_factory=dict)
    workspace_dim_days: dict[tuple[str, int, str, str], Counts] = field(default_factory=dict)
