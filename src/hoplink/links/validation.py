"""Checking a ``LinkSpec`` against the workspace and the operator's destination policy:
every field's problem named, the final URL built. Nothing here writes."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hoplink.errors import FieldError, InvalidInput
from hoplink.instants import OUT_OF_RANGE, in_utc
from hoplink.links.codes import check_custom_code
from hoplink.links.models import Campaign
from hoplink.links.spec import BUILT_IN_POLICY, LinkSpec
from hoplink.links.urls import (
    UTM_FIELDS,
    build_final_url,
    canonicalize_destination,
    clean_utm_value,
    render_param_template,
)
from hoplink.safety.policy import DestinationPolicy, PolicyMode
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace

MAX_TAGS = 20
MAX_CLICKS_LIMIT = 1_000_000_000


def _text(
    value: str | None, name: str, limit: int, errors: list[FieldError], *, multiline: bool = False
) -> str | None:
    if value is None:
        return None
    value = value.strip()
    allowed = {"\n", "\r", "\t"} if multiline else set()
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in value):
        errors.append(FieldError(name, "control_character", "must not contain control characters"))
    elif len(value) > limit:
        errors.append(FieldError(name, "too_long", f"must be at most {limit} characters"))
    return value or None


def clean_tags(tags: Sequence[str], errors: list[FieldError]) -> list[str]:
    cleaned: list[str] = []
    for i, raw in enumerate(tags):
        tag = unicodedata.normalize("NFC", raw.strip())
        if not 1 <= len(tag) <= 64:
            errors.append(FieldError(f"tags.{i}", "invalid_length", "must be 1 to 64 characters"))
        elif "," in tag or any(unicodedata.category(c) in ("Cc", "Cf") for c in tag):
            errors.append(
                FieldError(f"tags.{i}", "invalid", "must not contain commas or control characters")
            )
        elif tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        errors.append(FieldError("tags", "too_many", f"at most {MAX_TAGS} tags per link"))
    return cleaned


def _channel(value: str | None, workspace: Workspace, errors: list[FieldError]) -> str | None:
    if value is None or not value.strip():
        return None
    channel = value.strip().lower()
    if channel not in workspace.channels:
        errors.append(
            FieldError(
                "channel",
                "unknown_channel",
                f"{value!r} is not a channel of this workspace; use one of "
                + ", ".join(workspace.channels),
            )
        )
    return channel


def _campaign(
    campaign_id: str | None, campaigns: Mapping[str, Campaign], errors: list[FieldError]
) -> Campaign | None:
    if not campaign_id:
        return None
    campaign = campaigns.get(campaign_id)
    if campaign is None:
        errors.append(
            FieldError(
                "campaign_id", "unknown_campaign", "no campaign with this id in this workspace"
            )
        )
    return campaign


def _final_url(
    destination: str,
    utm: Mapping[str, str | None],
    workspace: Workspace,
    channel: str | None,
    campaign: Campaign | None,
) -> str:
    bound = render_param_template(
        workspace.param_template,
        {
            "seller_id": workspace.seller_id,
            "channel": channel,
            "campaign_id": (campaign.external_id or campaign.id) if campaign else None,
            "campaign": campaign.name if campaign else None,
        },
    )
    return build_final_url(destination, utm=utm, bound=bound)


@dataclass(frozen=True, slots=True)
class Draft:
    """A validated spec: the link's columns as they will be written, its tags, its code."""

    destination_url: str
    final_url: str
    utm: Mapping[str, str | None]
    channel: str | None
    campaign_id: str | None
    title: str | None
    notes: str | None
    forward_query: bool | None
    starts_at: datetime | None
    ends_at: datetime | None
    max_clicks: int | None
    expiry_url: str | None
    pass_ad_click_ids: bool
    tags: list[str]
    custom_code: str | None

    def columns(self) -> dict[str, object]:
        """The links-table columns this draft sets (tags and the code apart)."""
        return {
            "destination_url": self.destination_url,
            "final_url": self.final_url,
            **{name: self.utm.get(name) for name in UTM_FIELDS},
            "channel": self.channel,
            "campaign_id": self.campaign_id,
            "title": self.title,
            "notes": self.notes,
            "forward_query": self.forward_query,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "max_clicks": self.max_clicks,
            "expiry_url": self.expiry_url,
            "pass_ad_click_ids": self.pass_ad_click_ids,
        }

    def urls(self) -> list[tuple[str, str]]:
        """(field, url) of the destination and the fallback, for the resolution check."""
        pairs = [("url", self.destination_url)]
        if self.expiry_url is not None:
            pairs.append(("expiry_url", self.expiry_url))
        return pairs


@dataclass(frozen=True, slots=True)
class Destinations:
    """The destination policy with this call's facts, loaded once per batch."""

    policy: DestinationPolicy
    own_hosts: list[str]
    verified: list[str]

    def check(self, url: str, field: str = "url") -> FieldError | None:
        return self.policy.check(url, own_hosts=self.own_hosts, verified=self.verified, field=field)

    async def resolution_errors(
        self, urls: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], FieldError]:
        """The create-time resolution check (when the operator has it on) of (field, url)
        pairs that ``check`` allowed: the refused ones, with the field named."""
        refused = await self.policy.check_resolves({url for _, url in urls})
        return {
            (f, url): FieldError(f, refused[url].code, refused[url].message)
            for f, url in urls
            if url in refused
        }

    async def refuse_unresolved(self, drafts: list[Draft | InvalidInput]) -> None:
        """Replace each draft whose destination or fallback fails the resolution check
        with why (in place)."""
        wanted = {i: d.urls() for i, d in enumerate(drafts) if isinstance(d, Draft)}
        refused = await self.resolution_errors([p for pairs in wanted.values() for p in pairs])
        if not refused:
            return
        for i, pairs in wanted.items():
            errors = [refused[p] for p in pairs if p in refused]
            if errors:
                drafts[i] = InvalidInput(errors)


async def destination_check(
    tx: Tx, *, workspace: Workspace, policy: DestinationPolicy | None
) -> Destinations:
    """The destination policy as it applies to ``workspace`` now (links, rule and variant
    URLs); ``policy`` None: the built-in rules (open mode)."""
    policy = policy or BUILT_IN_POLICY
    verified: list[str] = []
    if policy.mode is PolicyMode.ALLOWLIST:
        verified = await tx.destination_domains(workspace.id).verified_hostnames()
    return Destinations(policy, await tx.short_domains.hostnames(), verified)


def prepare(
    spec: LinkSpec,
    workspace: Workspace,
    campaigns: Mapping[str, Campaign],
    destinations: Destinations | None,
) -> Draft | InvalidInput:
    """Validate ``spec``; ``destinations`` None: the URL is the link's unchanged one."""
    errors: list[FieldError] = []
    destination: str | None = None
    try:
        destination = canonicalize_destination(spec.url, field="url")
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if destination is not None and destinations is not None:
        refused = destinations.check(destination)
        if refused is not None:
            errors.append(refused)
    utm: dict[str, str | None] = {}
    for name, value in spec.utm.items():
        if name not in UTM_FIELDS:
            errors.append(FieldError(name, "unknown_field", f"use one of {', '.join(UTM_FIELDS)}"))
            continue
        try:
            utm[name] = clean_utm_value(name, value)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    channel = _channel(spec.channel, workspace, errors)
    campaign = _campaign(spec.campaign_id, campaigns, errors)
    title = _text(spec.title, "title", 300, errors)
    notes = _text(spec.notes, "notes", 5000, errors, multiline=True)
    tags = clean_tags(spec.tags, errors)
    if spec.code is not None and (problem := check_custom_code(spec.code)):
        errors.append(problem)
    expiry_url = _schedule(spec, destinations, errors)
    final_url = ""
    if destination is not None and not errors:
        try:
            final_url = _final_url(destination, utm, workspace, channel, campaign)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors or destination is None:
        return InvalidInput(errors)
    return Draft(
        destination_url=destination,
        final_url=final_url,
        utm=utm,
        channel=channel,
        campaign_id=campaign.id if campaign else None,
        title=title,
        notes=notes,
        forward_query=spec.forward_query,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        max_clicks=spec.max_clicks,
        expiry_url=expiry_url,
        pass_ad_click_ids=spec.pass_ad_click_ids,
        tags=tags,
        custom_code=spec.code,
    )


def _schedule(
    spec: LinkSpec, destinations: Destinations | None, errors: list[FieldError]
) -> str | None:
    """Check start/end/limit; the expiry URL canonical and, when ``destinations`` is given
    (it changed), allowed by the destination policy like any destination."""
    instants: dict[str, datetime] = {}
    for name, value in (("starts_at", spec.starts_at), ("ends_at", spec.ends_at)):
        if value is None:
            continue
        if value.tzinfo is None:
            errors.append(FieldError(name, "naive_datetime", "give a time zone, e.g. …T00:00:00Z"))
        elif (utc := in_utc(value)) is None:
            errors.append(FieldError(name, "out_of_range", OUT_OF_RANGE))
        else:
            instants[name] = utc
    if (
        "starts_at" in instants
        and "ends_at" in instants
        and instants["ends_at"] <= instants["starts_at"]
    ):
        errors.append(FieldError("ends_at", "before_start", "must be after starts_at"))
    if spec.max_clicks is not None and not 1 <= spec.max_clicks <= MAX_CLICKS_LIMIT:
        errors.append(
            FieldError("max_clicks", "out_of_range", f"must be 1 to {MAX_CLICKS_LIMIT:,}")
        )
    if spec.expiry_url is None or not spec.expiry_url.strip():
        return None
    try:
        url = canonicalize_destination(spec.expiry_url, field="expiry_url")
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return None
    if destinations is not None and (refused := destinations.check(url, "expiry_url")):
        errors.append(refused)
    return url
