"""A link's campaign tools on its page: routing rules (builder, edit, reorder, delete), the
A/B test (start, results per variant, stop with a winner) and the schedule and click limit.

Thin adapters over the services the API uses (hoplink.links.rules, .experiments, .service):
the same validation and destination policy, the same history and change events. The forms
post plain fields, so every basic works without JavaScript (three condition rows, five
variant rows); the script only hides the fields a condition type does not use and reveals
more rows. A service's field paths (``conditions.1.values.0``, ``action.url``,
``variants.2.url``) come back as errors next to the form field they name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.pages import flash, gettext
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.links import experiments, service
from hoplink.links import rules as link_rules
from hoplink.links.abresults import AbResults, ab_results
from hoplink.links.abtest import MAX_VARIANTS
from hoplink.links.models import Link
from hoplink.links.routing import (
    CONDITION_TYPES,
    DEVICES,
    IN_APP,
    MAX_CONDITIONS,
    OSES,
    AppPreset,
    Rule,
    app_presets,
)
from hoplink.links.spec import LinkEdit
from hoplink.runtime import Runtime
from hoplink.storage.tx import Tx
from hoplink.wholenumbers import parse_whole

ROWS = 3  # condition rows shown without JavaScript (the script reveals up to MAX_CONDITIONS)
# Commas, semicolons, spaces, and the full-width comma and ideographic comma of Chinese input.
_SPLIT = re.compile("[\\s,;\uff0c\u3001]+")
_ROW = re.compile(r"c\d+_type$")
_SUBFIELDS = ("type", "values", "name", "equals", "start", "end")
Errors = dict[str, list[FieldError]]


def _presets(runtime: Runtime) -> dict[str, AppPreset]:
    return app_presets(runtime.settings.app_presets_file)


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _local_to_iso(value: str, tz: ZoneInfo) -> str:
    """A ``datetime-local`` value in the workspace's zone as ISO 8601 with its offset; any
    other text unchanged, for the service to refuse with its own code."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.isoformat()


def _local(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if dt is not None else ""


# --- the rule builder ----------------------------------------------------------------------


def rule_from_form(form: Mapping[str, Any], tz: ZoneInfo) -> tuple[dict[str, Any], list[int]]:
    """The rule as the API takes it, and which form row each condition came from."""
    conditions: list[dict[str, Any]] = []
    rows: list[int] = []
    for i in range(MAX_CONDITIONS):
        kind = _text(form, f"c{i}_type")
        if not kind:
            continue
        cond: dict[str, Any] = {"type": kind}
        if kind == "query":
            cond["name"] = _text(form, f"c{i}_name")
            if equals := _text(form, f"c{i}_equals"):
                cond["equals"] = equals
        elif kind == "time":
            for edge in ("start", "end"):
                if value := _text(form, f"c{i}_{edge}"):
                    cond[edge] = _local_to_iso(value, tz)
        else:
            cond["values"] = [v for v in _SPLIT.split(_text(form, f"c{i}_values")) if v]
        conditions.append(cond)
        rows.append(i)
    action: dict[str, Any] = {"type": _text(form, "action_type") or "url"}
    url = _text(form, "action_url")
    if action["type"] == "app":
        action["preset"] = _text(form, "action_preset")
        if url:
            action["url"] = url
    else:
        action["url"] = url
    rule: dict[str, Any] = {
        "match": _text(form, "match") or "all",
        "conditions": conditions,
        "action": action,
    }
    if name := _text(form, "rule_name"):
        rule["name"] = name
    return rule, rows


def rule_field(path: str, rows: list[int]) -> str:
    """The builder's form field a service error path names (``_rule``: the form's top)."""
    parts = path.split(".")
    if parts[0] == "conditions" and len(parts) > 1 and parts[1].isdigit():
        index = int(parts[1])
        if index < len(rows):
            sub = parts[2] if len(parts) > 2 and parts[2] in _SUBFIELDS else "type"
            return f"c{rows[index]}_{sub}"
    if parts[0] == "conditions":
        return "conditions"
    if parts[0] == "action":
        return "action_" + (
            parts[1] if len(parts) > 1 and parts[1] in ("url", "preset") else "type"
        )
    if parts[0] == "name":
        return "rule_name"
    if parts[0] == "match":
        return "match"
    return "_rule"


def rule_values(rule: Rule | None, tz: ZoneInfo) -> dict[str, str]:
    """The builder's fields for editing ``rule`` (empty: a new rule)."""
    if rule is None:
        return {"match": "all", "action_type": "url"}
    out = {
        "rule_id": rule.id,
        "rule_name": rule.name or "",
        "match": rule.match,
        "action_type": rule.action.type,
        "action_url": rule.action.url or "",
        "action_preset": rule.action.preset or "",
    }
    for i, c in enumerate(rule.conditions):
        out[f"c{i}_type"] = c.type
        out[f"c{i}_values"] = ", ".join(c.values)
        out[f"c{i}_name"] = c.name or ""
        out[f"c{i}_equals"] = c.equals or ""
        out[f"c{i}_start"] = _local(c.start, tz)
        out[f"c{i}_end"] = _local(c.end, tz)
    return out


def _echo(form: FormData) -> dict[str, str]:
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _by_field(exc: InvalidInput, field: Any) -> Errors:
    out: Errors = {}
    for error in exc.errors:
        out.setdefault(field(error.field), []).append(error)
    return out


# --- what the link's page shows ------------------------------------------------------------


async def page_context(
    tx: Tx, request: Request, v: Viewer, link: Link, **given: Any
) -> dict[str, Any]:
    """The campaign tools' part of a link page; ``given`` (a refused form's values and
    errors) overrides the defaults."""
    runtime = services(request).runtime
    tz = ZoneInfo(v.workspace.timezone)
    rules = link_rules.rules_of(link)
    editing = request.query_params.get("edit_rule")
    edited = next((r for r in rules if r.id == editing), None)
    test = experiments.test_of(link)
    results: AbResults | None = None
    if test is not None:
        results = await ab_results(
            tx,
            workspace_id=v.workspace.id,
            link_id=link.id,
            test=test,
            fx_max_age_days=runtime.settings.fx_max_age_days,
        )
    context: dict[str, Any] = {
        "rules": rules,
        "rule_rows": max(ROWS, len(edited.conditions) if edited else 0),
        "max_conditions": MAX_CONDITIONS,
        "condition_types": CONDITION_TYPES,
        "condition_hints": {"device": DEVICES, "os": OSES, "in_app": IN_APP},
        "app_presets": sorted(_presets(runtime).values(), key=lambda p: p.label),
        "rule_values": rule_values(edited, tz),
        "rule_errors": {},
        "ab": results,
        "variant_rows": MAX_VARIANTS,
        "ab_values": {"v0_weight": "50", "v1_weight": "50"},
        "ab_errors": {},
        "schedule_values": {
            "starts_at": _local(link.starts_at, tz),
            "ends_at": _local(link.ends_at, tz),
            "max_clicks": str(link.max_clicks or ""),
            "expiry_url": link.expiry_url or "",
        },
        "schedule_errors": {},
    }
    context.update(given)
    return context


async def _refused(request: Request, **given: Any) -> Response:
    """The link's page again, with the refused form's values and errors (422)."""
    from hoplink.dashboard.links import link_page

    return await link_page(request, status_code=422, tools=given)


def _back(v: Viewer, link_id: str, anchor: str) -> Response:
    return RedirectResponse(f"{v.base}/links/{link_id}#{anchor}", status_code=303)


# --- rules ---------------------------------------------------------------------------------


async def save_rule(request: Request) -> Response:
    """Add a rule (``position``: where; empty = last) or, with ``rule_id``, replace one."""
    form = await request.form()
    runtime = services(request).runtime
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        rule, rows = rule_from_form(form, ZoneInfo(v.workspace.timezone))
        rule_id = _text(form, "rule_id")
        common: dict[str, Any] = {
            "workspace": v.workspace,
            "link_id": link_id,
            "rule": rule,
            "actor": v.actor,
            "policy": runtime.link_rules.policy,
            "presets": _presets(runtime),
        }
        try:
            if rule_id:
                await link_rules.replace_rule(tx, rule_id=rule_id, **common)
            else:
                await link_rules.add_rule(tx, position=None, **common)
        except InvalidInput as exc:
            errors = _by_field(exc, lambda f: rule_field(f, rows))
        else:
            flash(request, gettext(request, "Rule saved."))
            return _back(v, link_id, "rules")
    values = _echo(form)
    used = [int(k[1:].split("_")[0]) + 1 for k, val in values.items() if _ROW.match(k) and val]
    return await _refused(
        request, rule_values=values, rule_errors=errors, rule_rows=max([ROWS, *used])
    )


async def delete_rule(request: Request) -> Response:
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        await link_rules.delete_rule(
            tx,
            workspace=v.workspace,
            link_id=link_id,
            rule_id=request.path_params["routing_rule"],
            actor=v.actor,
        )
    flash(request, gettext(request, "Rule deleted."))
    return _back(v, link_id, "rules")


async def move_rule(request: Request) -> Response:
    """One place up or down (``to``: up | down); the rules keep their ids and statistics."""
    form = await request.form()
    runtime = services(request).runtime
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        link, rules = await link_rules.list_rules(tx, workspace=v.workspace, link_id=link_id)
        service.check_not_banned(link)
        index = next(
            (i for i, r in enumerate(rules) if r.id == request.path_params["routing_rule"]), None
        )
        if index is None:
            raise NotFound("no rule with this id on this link")
        to = index - 1 if form.get("to") == "up" else index + 1
        if 0 <= to < len(rules):
            rules[index], rules[to] = rules[to], rules[index]
            await link_rules.set_rules(
                tx,
                workspace=v.workspace,
                link_id=link_id,
                rules=[_as_input(r) for r in rules],
                actor=v.actor,
                policy=runtime.link_rules.policy,
                presets=_presets(runtime),
            )
    return _back(v, link_id, "rules")


def _as_input(rule: Rule) -> dict[str, Any]:
    """A stored rule as the API would send it back to keep it (its id kept)."""
    conditions = [{k: v for k, v in c.to_json().items() if v is not None} for c in rule.conditions]
    action: dict[str, Any] = {"type": rule.action.type, "url": rule.action.url}
    if rule.action.preset is not None:
        action["preset"] = rule.action.preset
    out: dict[str, Any] = {
        "id": rule.id,
        "match": rule.match,
        "conditions": conditions,
        "action": action,
    }
    if rule.name:
        out["name"] = rule.name
    return out


# --- A/B test ------------------------------------------------------------------------------


async def start_test(request: Request) -> Response:
    form = await request.form()
    variants: list[dict[str, Any]] = []
    rows: list[int] = []
    for i in range(MAX_VARIANTS):
        url, weight = _text(form, f"v{i}_url"), _text(form, f"v{i}_weight")
        if i > 0 and not url and not weight:
            continue  # an unused row
        number = parse_whole(weight)
        item: dict[str, Any] = {"weight": weight or 1 if number is None else number}
        if url:
            item["url"] = url
        variants.append(item)
        rows.append(i)
    runtime = services(request).runtime
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        try:
            await experiments.start_test(
                tx,
                workspace=v.workspace,
                link_id=link_id,
                variants=variants,
                actor=v.actor,
                policy=runtime.link_rules.policy,
            )
        except InvalidInput as exc:
            errors = _by_field(exc, lambda f: _variant_field(f, rows))
        else:
            flash(request, gettext(request, "A/B test started."))
            return _back(v, link_id, "ab")
    return await _refused(request, ab_values=_echo(form), ab_errors=errors)


def _variant_field(path: str, rows: list[int]) -> str:
    parts = path.split(".")
    if parts[0] == "variants" and len(parts) > 2 and parts[1].isdigit():
        index = int(parts[1])
        if index < len(rows) and parts[2] in ("url", "weight"):
            return f"v{rows[index]}_{parts[2]}"
    return "_ab"


async def stop_test(request: Request) -> Response:
    form = await request.form()
    runtime = services(request).runtime
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        try:
            await experiments.stop_test(
                tx,
                workspace=v.workspace,
                link_id=link_id,
                winner=_text(form, "winner"),
                actor=v.actor,
                policy=runtime.link_rules.policy,
            )
        except InvalidInput as exc:
            errors = _by_field(exc, lambda f: "winner")
        else:
            flash(
                request,
                gettext(request, "A/B test stopped: the link now sends everyone to the winner."),
            )
            return _back(v, link_id, "ab")
    return await _refused(request, ab_errors=errors)


# --- schedule and click limit --------------------------------------------------------------


async def save_schedule(request: Request) -> Response:
    form = await request.form()
    runtime = services(request).runtime
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        tz = ZoneInfo(v.workspace.timezone)
        times: dict[str, datetime | None] = {}
        errors: Errors = {}
        for name in ("starts_at", "ends_at"):
            text = _text(form, name)
            try:
                times[name] = _aware(text, tz) if text else None
            except ValueError:
                errors[name] = [FieldError(name, "invalid", "not a date and time")]
        limit = _text(form, "max_clicks")
        max_clicks = parse_whole(limit) if limit else None
        if limit and max_clicks is None:  # "-5" is a whole number: the service says its range
            errors["max_clicks"] = [FieldError("max_clicks", "invalid", "must be a whole number")]
        edit = LinkEdit(
            starts_at=times.get("starts_at"),
            ends_at=times.get("ends_at"),
            max_clicks=max_clicks,
            expiry_url=_text(form, "expiry_url") or None,
        )
        if not errors:
            try:
                await service.update_link(
                    tx,
                    workspace=v.workspace,
                    link_id=link_id,
                    edit=edit,
                    actor=v.actor,
                    policy=runtime.link_rules.policy,
                )
            except InvalidInput as exc:
                errors = _by_field(exc, lambda f: f.split(".", 1)[0])
            else:
                flash(request, gettext(request, "Schedule and click limit saved."))
                return _back(v, link_id, "schedule")
    return await _refused(request, schedule_values=_echo(form), schedule_errors=errors)


def _aware(text: str, tz: ZoneInfo) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)
