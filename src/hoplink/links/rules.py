"""Editing a link's routing rules. The caller owns the transaction; each change records a
``LinkChanged`` event, so after the commit every node serves the new rules within the
invalidation bound.

Rules are an ordered list stored with the link (``links.routing``): first match wins.
Every change is written to the link's history (field ``rules``, old and new JSON).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.events import LinkChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.models import HistoryEntry, Link
from hoplink.links.routing import MAX_RULES, AppPreset, Rule, rules_from_json, validate_rule
from hoplink.links.service import check_not_banned
from hoplink.links.validation import destination_check
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace


def rules_of(link: Link) -> list[Rule]:
    if not link.routing:
        return []
    data: dict[str, Any] = orjson.loads(link.routing)
    return rules_from_json(data.get("rules") or [])


def with_part(routing: str | None, key: str, value: Any) -> str | None:
    """The routing JSON with its ``key`` part ("rules", "ab") replaced (None/empty: removed);
    None when nothing is left."""
    data: dict[str, Any] = orjson.loads(routing) if routing else {}
    if value:
        data[key] = value
    else:
        data.pop(key, None)
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode() if data else None


async def _load(tx: Tx, workspace: Workspace, link_id: str) -> Link:
    link = await tx.links(workspace.id).get(link_id)
    if link is None:
        raise NotFound("no link with this id")
    return link


async def list_rules(tx: Tx, *, workspace: Workspace, link_id: str) -> tuple[Link, list[Rule]]:
    link = await _load(tx, workspace, link_id)
    return link, rules_of(link)


async def _save(
    tx: Tx, link: Link, rules: Sequence[Rule], *, workspace: Workspace, actor: str | None
) -> Link:
    if len(rules) > MAX_RULES:
        raise InvalidInput(FieldError("rules", "too_many", f"at most {MAX_RULES} rules per link"))
    routing = with_part(link.routing, "rules", [r.to_json() for r in rules])
    return await save_routing(
        tx, link, routing, workspace=workspace, actor=actor, field="rules",
        old=_part(link.routing, "rules"), new=_part(routing, "rules"),
    )  # fmt: skip


def _part(routing: str | None, key: str) -> str | None:
    value = orjson.loads(routing).get(key) if routing else None
    return orjson.dumps(value).decode() if value else None


async def save_routing(
    tx: Tx,
    link: Link,
    routing: str | None,
    *,
    workspace: Workspace,
    actor: str | None,
    field: str,
    old: str | None,
    new: str | None,
    extra: Mapping[str, Any] | None = None,
) -> Link:
    """Write the link's routing (and ``extra`` columns), with a history entry for ``field``."""
    if routing == link.routing and not extra:
        return link
    now = utcnow()
    repo = tx.links(workspace.id)
    await repo.update(link.id, {"routing": routing, **(extra or {}), "updated_at": now})
    entry = HistoryEntry(new_id("his"), link.id, now, actor, field, old, new)
    await repo.add_history([entry])
    # After the commit the redirect cache drops the link, on every node (hoplink.events).
    tx.record(LinkChanged(workspace.id, link.id, link.domain, link.code, "updated"))
    updated = await repo.get(link.id)
    assert updated is not None
    return updated


async def _validated(
    tx: Tx,
    link: Link,
    raws: Sequence[tuple[str, Mapping[str, Any], str | None]],
    *,
    workspace: Workspace,
    policy: DestinationPolicy | None,
    presets: Mapping[str, AppPreset],
) -> list[Rule]:
    """Each (field path, input, id to keep) as a rule; every error of every rule at once."""
    check = await destination_check(tx, workspace=workspace, policy=policy)
    rules: list[Rule] = []
    errors: list[FieldError] = []
    for at, raw, rule_id in raws:
        try:
            rules.append(
                validate_rule(
                    raw,
                    default_url=link.final_url,
                    check=check.check,
                    presets=presets,
                    at=at,
                    rule_id=rule_id,
                )
            )
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    # The resolution check (when on) for alternate URLs; the link's own one was judged.
    urls = [
        (f"{at}{'.' if at else ''}action.url", r.action.url)
        for (at, _, _), r in zip(raws, rules, strict=True)
        if r.action.url != link.final_url
    ]
    refused = await check.resolution_errors(urls)
    if refused:
        raise InvalidInput(list(refused.values()))
    return rules


async def add_rule(
    tx: Tx,
    *,
    workspace: Workspace,
    link_id: str,
    rule: Mapping[str, Any],
    position: int | None,
    actor: str | None,
    policy: DestinationPolicy | None,
    presets: Mapping[str, AppPreset],
) -> tuple[Link, Rule]:
    """Add a rule at ``position`` (0 = checked first; None = last)."""
    link = await _load(tx, workspace, link_id)
    check_not_banned(link)
    rules = rules_of(link)
    if position is not None and not 0 <= position <= len(rules):
        raise InvalidInput.one("position", "out_of_range", f"must be 0 to {len(rules)}")
    [new] = await _validated(
        tx, link, [("", rule, None)], workspace=workspace, policy=policy, presets=presets
    )
    rules.insert(len(rules) if position is None else position, new)
    return await _save(tx, link, rules, workspace=workspace, actor=actor), new


async def replace_rule(
    tx: Tx,
    *,
    workspace: Workspace,
    link_id: str,
    rule_id: str,
    rule: Mapping[str, Any],
    actor: str | None,
    policy: DestinationPolicy | None,
    presets: Mapping[str, AppPreset],
) -> tuple[Link, Rule]:
    link = await _load(tx, workspace, link_id)
    check_not_banned(link)
    rules = rules_of(link)
    index = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
    if index is None:
        raise NotFound("no rule with this id on this link")
    [new] = await _validated(
        tx, link, [("", rule, rule_id)], workspace=workspace, policy=policy, presets=presets
    )
    rules[index] = new
    return await _save(tx, link, rules, workspace=workspace, actor=actor), new


async def set_rules(
    tx: Tx,
    *,
    workspace: Workspace,
    link_id: str,
    rules: Sequence[Mapping[str, Any]],
    actor: str | None,
    policy: DestinationPolicy | None,
    presets: Mapping[str, AppPreset],
) -> tuple[Link, list[Rule]]:
    """Replace the whole ordered list (also how rules are reordered). An item may carry the
    ``id`` of an existing rule of this link to keep it (clicks and stats stay attributed)."""
    link = await _load(tx, workspace, link_id)
    check_not_banned(link)
    if len(rules) > MAX_RULES:
        raise InvalidInput(FieldError("rules", "too_many", f"at most {MAX_RULES} rules per link"))
    existing = {r.id for r in rules_of(link)}
    raws: list[tuple[str, Mapping[str, Any], str | None]] = []
    seen: set[str] = set()
    errors: list[FieldError] = []
    for i, raw in enumerate(rules):
        rule_id = raw.get("id")
        if rule_id is not None and (rule_id not in existing or rule_id in seen):
            errors.append(
                FieldError(f"rules.{i}.id", "unknown_rule", "not a rule of this link (or repeated)")
            )
        seen.add(str(rule_id))
        raws.append((f"rules.{i}", {k: v for k, v in raw.items() if k != "id"}, rule_id))
    if errors:
        raise InvalidInput(errors)
    new = await _validated(tx, link, raws, workspace=workspace, policy=policy, presets=presets)
    return await _save(tx, link, new, workspace=workspace, actor=actor), new


async def delete_rule(
    tx: Tx, *, workspace: Workspace, link_id: str, rule_id: str, actor: str | None
) -> Link:
    link = await _load(tx, workspace, link_id)
    check_not_banned(link)
    rules = rules_of(link)
    kept = [r for r in rules if r.id != rule_id]
    if len(kept) == len(rules):
        raise NotFound("no rule with this id on this link")
    return await _save(tx, link, kept, workspace=workspace, actor=actor)
