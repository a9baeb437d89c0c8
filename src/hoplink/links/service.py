"""Creating, editing and deleting links. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hoplink import audit
from hoplink.errors import CodeTaken, InvalidInput, LinkBanned, NotFound
from hoplink.events import LinkChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.codes import CodeGenerator, default_generator
from hoplink.links.models import HistoryEntry, Link, ShortDomain
from hoplink.links.spec import LinkEdit, LinkRules, LinkSpec
from hoplink.links.urls import UTM_FIELDS
from hoplink.links.validation import Draft, destination_check, prepare
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage.links import LinkRepo
from hoplink.storage.tx import Tx, UniqueViolation
from hoplink.unset import UNSET, given
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.quotas import QuotaDefaults, check_quota
from hoplink.workspaces.service import check_can_create_links

# Re-exported: the inputs callers build for the functions below.
__all__ = ["UNSET", "LinkEdit", "LinkRules", "LinkSpec"]

_GENERATION_ROUNDS = 8


def _to_link(row: Mapping[str, Any], domain: ShortDomain, tags: list[str]) -> Link:
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
    domain: ShortDomain,
    specs: Sequence[LinkSpec],
    actor: str | None,
    rules: LinkRules,
    codes: CodeGenerator = default_generator,
    all_or_nothing: bool = False,
    quota: QuotaDefaults | None = None,
) -> list[Link | InvalidInput]:
    """Create many links; each result is the link or why that item was refused.

    Items are validated independently. With ``all_or_nothing`` any refusal raises
    one InvalidInput whose fields are prefixed ``items.<index>`` and nothing is
    written. Codes are only ever inserted, never upserted: a code that exists on
    the domain (even a deleted link's) is never reused. ``rules``: the operator's code
    length, seller-eligibility setting (suspended workspaces are always refused) and
    destination policy (``Runtime.link_rules``). ``quota``: the operator's default creation quotas
    (``quota_from_settings``); the links to be created must fit the workspace's quota or
    QuotaExceeded is raised and nothing is written. None: no quota (the operator's CLI).
    """
    check_can_create_links(workspace, require_verified=rules.require_verified)
    if domain.workspace_id not in (None, workspace.id) or not domain.usable:
        raise InvalidInput.one("domain", "unknown_domain", f"{domain.hostname} is not yours to use")
    repo = tx.links(workspace.id)
    wanted_campaigns = {s.campaign_id for s in specs if s.campaign_id}
    campaigns = await tx.campaigns(workspace.id).many(wanted_campaigns)
    destinations = await destination_check(tx, workspace=workspace, policy=rules.policy)
    results: list[Draft | InvalidInput] = [
        prepare(s, workspace, campaigns, destinations) for s in specs
    ]
    await destinations.refuse_unresolved(results)

    # Custom codes: unique within the batch and on the domain.
    custom: dict[str, int] = {}
    for i, r in enumerate(results):
        if isinstance(r, Draft) and r.custom_code is not None:
            if r.custom_code in custom:
                results[i] = CodeTaken(r.custom_code)
            else:
                custom[r.custom_code] = i
    for taken in await repo.codes_taken(domain.id, custom):
        results[custom[taken]] = CodeTaken(taken)

    if all_or_nothing:
        _raise_if_any(results)

    now = utcnow()
    drafts = [(i, r) for i, r in enumerate(results) if isinstance(r, Draft)]
    if quota is not None:
        await check_quota(tx, workspace=workspace, defaults=quota, wanted=len(drafts), now=now)
    tag_ids = await repo.ensure_tags({tag for _, d in drafts for tag in d.tags}, now)
    rows: dict[int, dict[str, Any]] = {}
    for i, d in drafts:
        rows[i] = {
            **d.columns(),
            "forward_query": domain.forward_query if d.forward_query is None else d.forward_query,
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
        repo, domain, [r for r in rows.values() if r["code"] is None], codes, rules.code_length
    )

    try:
        async with tx.savepoint():
            await repo.insert_many(list(rows.values()))
    except UniqueViolation:
        # Someone took one of our codes between the check and the insert: go row by row.
        for i, row in list(rows.items()):
            inserted = await _insert_one(
                tx, repo, domain, row, codes, rules.code_length, custom=i in custom.values()
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


def _draft_tags(result: Draft | InvalidInput) -> list[str]:
    return result.tags if isinstance(result, Draft) else []


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
    domain: ShortDomain,
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
    domain: ShortDomain,
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
    domain: ShortDomain,
    spec: LinkSpec,
    actor: str | None,
    rules: LinkRules,
    codes: CodeGenerator = default_generator,
    quota: QuotaDefaults | None = None,
) -> Link:
    [result] = await create_links(
        tx,
        workspace=workspace,
        domain=domain,
        specs=[spec],
        actor=actor,
        rules=rules,
        codes=codes,
        quota=quota,
    )
    if isinstance(result, InvalidInput):
        raise result
    return result


async def preview_link(
    tx: Tx,
    *,
    workspace: Workspace,
    domain: ShortDomain,
    spec: LinkSpec,
    policy: DestinationPolicy | None = None,
) -> str | InvalidInput:
    """The exact final URL ``create_link`` would store for ``spec``, or why it would refuse.

    Runs the same validation and URL building as creation, without writing anything."""
    wanted = {spec.campaign_id} if spec.campaign_id else set()
    campaigns = await tx.campaigns(workspace.id).many(wanted)
    destinations = await destination_check(tx, workspace=workspace, policy=policy)
    drafts: list[Draft | InvalidInput] = [prepare(spec, workspace, campaigns, destinations)]
    await destinations.refuse_unresolved(drafts)
    draft = drafts[0]
    if isinstance(draft, InvalidInput):
        return draft
    if spec.code and await tx.links(workspace.id).codes_taken(domain.id, [spec.code]):
        return CodeTaken(spec.code)
    return draft.final_url


async def get_link(tx: Tx, *, workspace: Workspace, link_id: str) -> Link:
    link = await tx.links(workspace.id).get(link_id)
    if link is None:
        raise NotFound("no link with this id")
    return link


SCHEDULE_FIELDS = ("starts_at", "ends_at", "max_clicks", "expiry_url")
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
    edit: LinkEdit,
    actor: str | None,
    policy: DestinationPolicy | None = None,
) -> Link:
    """Apply a partial edit; the final URL is recomputed whenever an input to it changes.
    ``policy``: the operator's destination policy (``Runtime.link_rules.policy``); None
    applies the built-in rules only (open mode)."""
    repo = tx.links(workspace.id)
    link = await repo.get(link_id)
    if link is None:
        raise NotFound("no link with this id")
    check_not_banned(link)
    campaign_id = given(edit.campaign_id, link.campaign_id)
    campaigns = await tx.campaigns(workspace.id).many({campaign_id} if campaign_id else set())
    spec = LinkSpec(
        url=given(edit.url, link.destination_url),
        utm={**link.utm, **given(edit.utm, {})},
        channel=given(edit.channel, link.channel),
        campaign_id=campaign_id,
        tags=given(edit.tags, link.tags),
        title=given(edit.title, link.title),
        notes=given(edit.notes, link.notes),
        forward_query=given(edit.forward_query, link.forward_query),
        starts_at=given(edit.starts_at, link.starts_at),
        ends_at=given(edit.ends_at, link.ends_at),
        max_clicks=given(edit.max_clicks, link.max_clicks),
        expiry_url=given(edit.expiry_url, link.expiry_url),
        pass_ad_click_ids=given(edit.pass_ad_click_ids, link.pass_ad_click_ids),
    )
    # The policy judges a new destination only: a link whose host a later, stricter policy
    # refuses can still be renamed, archived or deleted by its owner.
    moved = spec.url != link.destination_url or spec.expiry_url != link.expiry_url
    destinations = (
        await destination_check(tx, workspace=workspace, policy=policy) if moved else None
    )
    draft = prepare(spec, workspace, campaigns, destinations)
    if isinstance(draft, InvalidInput):
        raise draft
    if destinations is not None:
        # Only what changed is looked up again (a kept fallback was judged when it was set).
        new_urls = [
            (f, url)
            for f, url in draft.urls()
            if url not in (link.destination_url, link.expiry_url)
        ]
        refused = await destinations.resolution_errors(new_urls)
        if refused:
            raise InvalidInput(list(refused.values()))
    now = utcnow()
    values = draft.columns()
    if edit.archived is not UNSET:
        values["archived"] = edit.archived
    if edit.disabled is not UNSET:
        values["disabled"] = edit.disabled
    before: dict[str, object] = {
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
    tags_changed = edit.tags is not UNSET and sorted(draft.tags) != sorted(link.tags)
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
