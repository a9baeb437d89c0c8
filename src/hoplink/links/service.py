"""Creating, editing and deleting links. The caller owns the transaction."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hoplink import audit
from hoplink.errors import CodeTaken, FieldError, InvalidInput, LinkBanned, NotFound
from hoplink.events import LinkChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.codes import CodeGenerator, check_custom_code, default_generator
from hoplink.links.models import Campaign, Domain, HistoryEntry, Link
from hoplink.links.urls import (
    UTM_FIELDS,
    build_final_url,
    canonicalize_destination,
    clean_utm_value,
    render_param_template,
)
from hoplink.safety.policy import DestinationPolicy, PolicyMode
from hoplink.storage.links import LinkRepo
from hoplink.storage.tx import Tx, UniqueViolation
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.quotas import QuotaDefaults, check_quota
from hoplink.workspaces.service import check_can_create_links

MAX_TAGS = 20
_GENERATION_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """What a user asks for; validated here, not by the caller."""

    url: str
    utm: Mapping[str, str | None] = field(default_factory=dict)
    channel: str | None = None
    campaign_id: str | None = None
    tags: Sequence[str] = ()
    title: str | None = None
    notes: str | None = None
    code: str | None = None
    forward_query: bool | None = None  # None: the domain's default (issue 16)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_clicks: int | None = None
    expiry_url: str | None = None
    pass_ad_click_ids: bool = False


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


@dataclass(slots=True)
class _Draft:
    values: dict[str, Any]
    tags: list[str]
    custom_code: str | None


# The built-in rules when a caller passes no operator policy: open mode, every block on.
_BUILT_IN_POLICY = DestinationPolicy()


@dataclass(frozen=True, slots=True)
class _Destinations:
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

    async def refuse_unresolved(self, drafts: list[_Draft | InvalidInput]) -> None:
        """Replace each draft whose destination or fallback fails the resolution check
        with why (in place)."""
        wanted = {i: _draft_urls(d) for i, d in enumerate(drafts) if isinstance(d, _Draft)}
        refused = await self.resolution_errors([p for pairs in wanted.values() for p in pairs])
        if not refused:
            return
        for i, pairs in wanted.items():
            errors = [refused[p] for p in pairs if p in refused]
            if errors:
                drafts[i] = InvalidInput(errors)


def _draft_urls(draft: _Draft) -> list[tuple[str, str]]:
    return [
        (f, url)
        for f, key in (("url", "destination_url"), ("expiry_url", "expiry_url"))
        if isinstance(url := draft.values.get(key), str)
    ]


async def destination_check(
    tx: Tx, *, workspace: Workspace, policy: DestinationPolicy | None
) -> _Destinations:
    """The destination policy as it applies to ``workspace`` now (rule and variant URLs)."""
    return await _destinations(tx, workspace, policy)


async def _destinations(
    tx: Tx, workspace: Workspace, policy: DestinationPolicy | None
) -> _Destinations:
    policy = policy or _BUILT_IN_POLICY
    verified: list[str] = []
    if policy.mode is PolicyMode.ALLOWLIST:
        verified = await tx.workspace_domains(workspace.id).verified_hostnames()
    return _Destinations(policy, await tx.domains.hostnames(), verified)


def _prepare(
    spec: LinkSpec,
    workspace: Workspace,
    campaigns: Mapping[str, Campaign],
    destinations: _Destinations | None,
) -> _Draft | InvalidInput:
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
    if errors:
        return InvalidInput(errors)
    values = {
        "destination_url": destination,
        "final_url": final_url,
        **{name: utm.get(name) for name in UTM_FIELDS},
        "channel": channel,
        "campaign_id": campaign.id if campaign else None,
        "title": title,
        "notes": notes,
        "forward_query": spec.forward_query,
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "max_clicks": spec.max_clicks,
        "expiry_url": expiry_url,
        "pass_ad_click_ids": spec.pass_ad_click_ids,
    }
    return _Draft(values, tags, spec.code)


MAX_CLICKS_LIMIT = 1_000_000_000


def _schedule(
    spec: LinkSpec, destinations: _Destinations | None, errors: list[FieldError]
) -> str | None:
    """Check start/end/limit; the expiry URL canonical and, when ``destinations`` is given
    (it changed), allowed by the destination policy like any destination."""
    for name in ("starts_at", "ends_at"):
        value = getattr(spec, name)
        if value is not None and value.tzinfo is None:
            errors.append(FieldError(name, "naive_datetime", "give a time zone, e.g. …T00:00:00Z"))
    if (
        spec.starts_at is not None
        and spec.ends_at is not None
        and spec.starts_at.tzinfo is not None
        and spec.ends_at.tzinfo is not None
        and spec.ends_at <= spec.starts_at
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


def _to_link(row: Mapping[str, Any], domain: Domain, tags: list[str]) -> Link:
    return Link(
        id=row["id"],
        workspace_id=row["workspace_id"],
        domain=domain.hostname,
        code=row["code"],
        destination_url=row["destination_url"],
        final_url=row["final_url"],
        utm={name: row[name] for name in UTM_FIELDS},
        channel=row["channel"],
        campaign_id=row["campaign_id"],
        title=row["title"],
        notes=row["notes"],
        archived=row["archived"],
        disabled=row["disabled"],
        forward_query=row["forward_query"],
        routing=row.get("routing"),
        starts_at=row.get("starts_at"),
        ends_at=row.get("ends_at"),
        max_clicks=row.get("max_clicks"),
        expiry_url=row.get("expiry_url"),
        pass_ad_click_ids=row["pass_ad_click_ids"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        tags=tags,
    )


async def create_links(
    tx: Tx,
    *,
    workspace: Workspace,
    domain: Domain,
    specs: Sequence[LinkSpec],
    actor: str | None,
    code_length: int,
    codes: CodeGenerator = default_generator,
    all_or_nothing: bool = False,
    require_verified: bool = True,
    policy: DestinationPolicy | None = None,
    quota: QuotaDefaults | None = None,
) -> list[Link | InvalidInput]:
    """Create many links; each result is the link or why that item was refused.

    Items are validated independently. With ``all_or_nothing`` any refusal raises
    one InvalidInput whose fields are prefixed ``items.<index>`` and nothing is
    written. Codes are only ever inserted, never upserted: a code that exists on
    the domain (even a deleted link's) is never reused. ``require_verified``: the
    operator's seller-eligibility setting (suspended workspaces are always refused).
    ``policy``: the operator's destination policy (``policy_from_settings``); None applies
    the built-in rules only (open mode). ``quota``: the operator's default creation quotas
    (``quota_from_settings``); the links to be created must fit the workspace's quota or
    QuotaExceeded is raised and nothing is written. None: no quota (the operator's CLI).
    """
    check_can_create_links(workspace, require_verified=require_verified)
    if domain.workspace_id not in (None, workspace.id) or not domain.usable:
        raise InvalidInput.one("domain", "unknown_domain", f"{domain.hostname} is not yours to use")
    repo = tx.links(workspace.id)
    wanted_campaigns = {s.campaign_id for s in specs if s.campaign_id}
    campaigns = await tx.campaigns(workspace.id).many(wanted_campaigns)
    destinations = await _destinations(tx, workspace, policy)
    results: list[_Draft | InvalidInput] = [
        _prepare(s, workspace, campaigns, destinations) for s in specs
    ]
    await destinations.refuse_unresolved(results)

    # Custom codes: unique within the batch and on the domain.
    custom: dict[str, int] = {}
    for i, r in enumerate(results):
        if isinstance(r, _Draft) and r.custom_code is not None:
            if r.custom_code in custom:
                results[i] = CodeTaken(r.custom_code)
            else:
                custom[r.custom_code] = i
    for taken in await repo.codes_taken(domain.id, custom):
        results[custom[taken]] = CodeTaken(taken)

    if all_or_nothing:
        _raise_if_any(results)

    now = utcnow()
    drafts = [(i, r) for i, r in enumerate(results) if isinstance(r, _Draft)]
    if quota is not None:
        await check_quota(tx, workspace=workspace, defaults=quota, wanted=len(drafts), now=now)
    tag_ids = await repo.ensure_tags({tag for _, d in drafts for tag in d.tags}, now)
    rows: dict[int, dict[str, Any]] = {}
    for i, d in drafts:
        forward = d.values["forward_query"]
        rows[i] = {
            **d.values,
            "forward_query": domain.forward_query if forward is None else forward,
            "id": new_id("lnk"),
            "workspace_id": workspace.id,
            "domain_id": domain.id,
            "code": d.custom_code,
            "archived": False,
            "disabled": False,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
    await _assign_codes(
        repo, domain, [r for r in rows.values() if r["code"] is None], codes, code_length
    )

    try:
        async with tx.savepoint():
            await repo.insert_many(list(rows.values()))
    except UniqueViolation:
        # Someone took one of our codes between the check and the insert: go row by row.
        for i, row in list(rows.items()):
            inserted = await _insert_one(
                tx, repo, domain, row, codes, code_length, custom=i in custom.values()
            )
            if not inserted:
                results[i] = CodeTaken(row["code"])
                del rows[i]
        if all_or_nothing:
            _raise_if_any(results)

    await repo.set_tags(
        {row["id"]: [tag_ids[t] for t in _draft_tags(results[i])] for i, row in rows.items()},
        new=True,
    )
    tx.record(
        *(
            LinkChanged(workspace.id, row["id"], domain.hostname, row["code"], "created")
            for row in rows.values()
        )
    )
    out: list[Link | InvalidInput] = []
    for i, r in enumerate(results):
        out.append(r if isinstance(r, InvalidInput) else _to_link(rows[i], domain, sorted(r.tags)))
    return out


def _draft_tags(result: _Draft | InvalidInput) -> list[str]:
    return result.tags if isinstance(result, _Draft) else []


def _raise_if_any(results: Sequence[object]) -> None:
    errors = [
        e.nested(f"items.{i}")
        for i, r in enumerate(results)
        if isinstance(r, InvalidInput)
        for e in r.errors
    ]
    if errors:
        raise InvalidInput(errors)


async def _assign_codes(
    repo: LinkRepo,
    domain: Domain,
    rows: list[dict[str, Any]],
    codes: CodeGenerator,
    length: int,
) -> None:
    pending = rows
    for _ in range(_GENERATION_ROUNDS):
        if not pending:
            return
        for row in pending:
            row["code"] = codes(length)
        proposed = [row["code"] for row in pending]
        taken = await repo.codes_taken(domain.id, proposed)
        seen: set[str] = set()
        retry = []
        for row in pending:
            if row["code"] in taken or row["code"] in seen:
                retry.append(row)
            seen.add(row["code"])
        pending = retry
    if pending:
        raise RuntimeError("could not find a free code; increase HOPLINK_CODE_LENGTH")


async def _insert_one(
    tx: Tx,
    repo: LinkRepo,
    domain: Domain,
    row: dict[str, Any],
    codes: CodeGenerator,
    length: int,
    *,
    custom: bool,
) -> bool:
    for _ in range(_GENERATION_ROUNDS):
        try:
            async with tx.savepoint():
                await repo.insert_many([row])
            return True
        except UniqueViolation:
            if custom:
                return False
            row["code"] = codes(length)
    raise RuntimeError("could not find a free code; increase HOPLINK_CODE_LENGTH")


async def create_link(
    tx: Tx,
    *,
    workspace: Workspace,
    domain: Domain,
    spec: LinkSpec,
    actor: str | None,
    code_length: int,
    codes: CodeGenerator = default_generator,
    require_verified: bool = True,
    policy: DestinationPolicy | None = None,
    quota: QuotaDefaults | None = None,
) -> Link:
    [result] = await create_links(
        tx,
        workspace=workspace,
        domain=domain,
        specs=[spec],
        actor=actor,
        code_length=code_length,
        codes=codes,
        require_verified=require_verified,
        policy=policy,
        quota=quota,
    )
    if isinstance(result, InvalidInput):
        raise result
    return result


async def preview_link(
    tx: Tx,
    *,
    workspace: Workspace,
    domain: Domain,
    spec: LinkSpec,
    policy: DestinationPolicy | None = None,
) -> str | InvalidInput:
    """The exact final URL ``create_link`` would store for ``spec``, or why it would refuse.

    Runs the same validation and URL building as creation, without writing anything."""
    wanted = {spec.campaign_id} if spec.campaign_id else set()
    campaigns = await tx.campaigns(workspace.id).many(wanted)
    destinations = await _destinations(tx, workspace, policy)
    drafts = [_prepare(spec, workspace, campaigns, destinations)]
    await destinations.refuse_unresolved(drafts)
    draft = drafts[0]
    if isinstance(draft, InvalidInput):
        return draft
    if spec.code and await tx.links(workspace.id).codes_taken(domain.id, [spec.code]):
        return CodeTaken(spec.code)
    return str(draft.values["final_url"])


async def get_link(tx: Tx, *, workspace: Workspace, link_id: str) -> Link:
    link = await tx.links(workspace.id).get(link_id)
    if link is None:
        raise NotFound("no link with this id")
    return link


SCHEDULE_FIELDS = ("starts_at", "ends_at", "max_clicks", "expiry_url")
EDITABLE = frozenset(
    {
        "url",
        "utm",
        "channel",
        "campaign_id",
        "tags",
        "title",
        "notes",
        "archived",
        "forward_query",
        "pass_ad_click_ids",
        "disabled",
    }
    | set(SCHEDULE_FIELDS)
)
# Changes to these are written to the link's history (who, when, old, new); final_url
# follows from them and is not repeated.
_TRACKED = (
    "destination_url",
    *UTM_FIELDS,
    "channel",
    "campaign_id",
    "tags",
    "title",
    "notes",
    "archived",
    "disabled",
    "forward_query",
    *SCHEDULE_FIELDS,
    "pass_ad_click_ids",
)


async def update_link(
    tx: Tx,
    *,
    workspace: Workspace,
    link_id: str,
    changes: Mapping[str, Any],
    actor: str | None,
    policy: DestinationPolicy | None = None,
) -> Link:
    """Apply a partial edit; the final URL is recomputed whenever an input to it changes."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(
            [FieldError(f, "not_editable", "this field cannot be changed") for f in sorted(unknown)]
        )
    repo = tx.links(workspace.id)
    link = await repo.get(link_id)
    if link is None:
        raise NotFound("no link with this id")
    check_not_banned(link)
    utm = {**link.utm, **changes.get("utm", {})}
    campaign_id = changes.get("campaign_id", link.campaign_id)
    campaigns = await tx.campaigns(workspace.id).many({campaign_id} if campaign_id else set())
    spec = LinkSpec(
        url=changes.get("url", link.destination_url),
        utm=utm,
        channel=changes.get("channel", link.channel),
        campaign_id=campaign_id,
        tags=changes.get("tags", link.tags) or (),
        title=changes.get("title", link.title),
        notes=changes.get("notes", link.notes),
        forward_query=bool(changes.get("forward_query", link.forward_query)),
        starts_at=changes.get("starts_at", link.starts_at),
        ends_at=changes.get("ends_at", link.ends_at),
        max_clicks=changes.get("max_clicks", link.max_clicks),
        expiry_url=changes.get("expiry_url", link.expiry_url),
        pass_ad_click_ids=bool(changes.get("pass_ad_click_ids", link.pass_ad_click_ids)),
    )
    # The policy judges a new destination only: a link whose host a later, stricter policy
    # refuses can still be renamed, archived or deleted by its owner.
    moved = spec.url != link.destination_url or spec.expiry_url != link.expiry_url
    destinations = await _destinations(tx, workspace, policy) if moved else None
    draft = _prepare(spec, workspace, campaigns, destinations)
    if isinstance(draft, InvalidInput):
        raise draft
    if destinations is not None:
        # Only what changed is looked up again (a kept fallback was judged when it was set).
        new_urls = [
            (f, url)
            for f, url in _draft_urls(draft)
            if url not in (link.destination_url, link.expiry_url)
        ]
        refused = await destinations.resolution_errors(new_urls)
        if refused:
            raise InvalidInput(list(refused.values()))
    now = utcnow()
    values: dict[str, Any] = dict(draft.values)
    for flag in ("archived", "disabled"):
        if flag in changes:
            values[flag] = bool(changes[flag])
    before = {
        "destination_url": link.destination_url,
        "final_url": link.final_url,
        **link.utm,
        "channel": link.channel,
        "campaign_id": link.campaign_id,
        "title": link.title,
        "notes": link.notes,
        "archived": link.archived,
        "disabled": link.disabled,
        "forward_query": link.forward_query,
        **{name: getattr(link, name) for name in SCHEDULE_FIELDS},
        "pass_ad_click_ids": link.pass_ad_click_ids,
    }
    changed = {name: v for name, v in values.items() if before.get(name) != v}
    if "max_clicks" in changed or ("ends_at" in changed and link.exhausted_at is not None):
        # A new limit is judged afresh: the worker sets exhausted_at again if it is reached.
        changed["exhausted_at"] = None
    tags_changed = "tags" in changes and sorted(draft.tags) != sorted(link.tags)
    if tags_changed:
        changed["tags"] = ", ".join(sorted(draft.tags))
        before["tags"] = ", ".join(sorted(link.tags))
    if not changed:
        return link  # nothing to write: updated_at and history stay as they are
    before["exhausted_at"] = link.exhausted_at
    history = [
        HistoryEntry(
            id=new_id("his"),
            link_id=link.id,
            changed_at=now,
            changed_by=actor,
            field=name,
            old_value=_str(before[name]),
            new_value=_str(changed[name]),
        )
        for name in _TRACKED
        if name in changed
    ]
    changed.pop("tags", None)
    await repo.update(link.id, {**changed, "updated_at": now})
    await repo.add_history(history)
    if "destination_url" in changed:
        await audit.record(
            tx,
            action=audit.LINK_DESTINATION_CHANGED,
            actor=actor,
            workspace_id=workspace.id,
            target=link.id,
            detail={"old": link.destination_url, "new": str(changed["destination_url"])},
        )
    if tags_changed:
        tag_ids = await repo.ensure_tags(draft.tags, now)
        await repo.set_tags({link.id: [tag_ids[t] for t in draft.tags]})
    tx.record(LinkChanged(workspace.id, link.id, link.domain, link.code, "updated"))
    updated = await repo.get(link.id)
    assert updated is not None
    return updated


def _str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def delete_link(
    tx: Tx, *, workspace: Workspace, link_id: str, at: datetime | None = None
) -> Link:
    """Delete (tombstone) a link; returns it as it was."""
    repo = tx.links(workspace.id)
    link = await repo.get(link_id)
    if link is not None:
        check_not_banned(link)
    if link is None or not await repo.mark_deleted(link_id, at or utcnow()):
        raise NotFound("no link with this id")
    tx.record(LinkChanged(workspace.id, link.id, link.domain, link.code, "deleted"))
    return link


def check_not_banned(link: Link) -> None:
    """A banned link is read-only for its owner: only a platform admin can lift the ban."""
    if link.ban is not None:
        raise LinkBanned(
            f"this link was banned by the platform ({link.ban.reason}); it cannot be changed"
            " or deleted. Contact the platform operator if you think this is a mistake."
        )
