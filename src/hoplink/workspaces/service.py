"""Workspaces (one seller each), their settings and members."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from hoplink.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    WorkspaceNotVerified,
    WorkspaceSuspended,
)
from hoplink.events import WorkspaceChanged
from hoplink.ids import new_id, random_base62, utcnow
from hoplink.links.urls import (
    canonicalize_destination,
    check_click_param,
    validate_param_template,
)
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import BUILTIN_CHANNELS, Workspace, WorkspaceStatus

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SELLER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:50]
    return slug if len(slug) >= 3 else f"ws-{random_base62(6).lower()}"


def _check_settings(
    *,
    name: str | None = None,
    seller_id: str | None = None,
    timezone: str | None = None,
    param_template: Mapping[str, str] | None = None,
    custom_channels: Sequence[str] | None = None,
    click_id_enabled: bool | None = None,
    click_id_param: str | None = None,
    fallback_url: str | None = None,
) -> tuple[list[FieldError], dict[str, object]]:
    errors: list[FieldError] = []
    values: dict[str, object] = {}
    if name is not None:
        name = name.strip()
        if not 1 <= len(name) <= 200 or any(unicodedata.category(c)[0] == "C" for c in name):
            errors.append(FieldError("name", "invalid", "must be 1 to 200 printable characters"))
        values["name"] = name
    if seller_id is not None:
        if seller_id and not _SELLER_RE.match(seller_id):
            errors.append(
                FieldError("seller_id", "invalid", "use 1 to 64 letters, digits, '.', '-' or '_'")
            )
        values["seller_id"] = seller_id or None
    if timezone is not None:
        try:
            if timezone not in available_timezones():
                raise ZoneInfoNotFoundError(timezone)
            ZoneInfo(timezone)
            values["timezone"] = timezone
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(
                FieldError(
                    "timezone",
                    "unknown_timezone",
                    f"{timezone!r} is not an IANA time zone such as 'Asia/Shanghai' or 'UTC'",
                )
            )
    if param_template is not None:
        try:
            values["param_template"] = validate_param_template(param_template)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if custom_channels is not None:
        channels: list[str] = []
        for i, raw in enumerate(custom_channels):
            channel = raw.strip().lower()
            if not _CHANNEL_RE.match(channel):
                errors.append(
                    FieldError(
                        f"custom_channels.{i}",
                        "invalid",
                        "use 1 to 32 lowercase letters, digits, '-' or '_'",
                    )
                )
            elif channel not in channels and channel not in BUILTIN_CHANNELS:
                channels.append(channel)
        if len(channels) > 50:
            errors.append(FieldError("custom_channels", "too_many", "at most 50 custom channels"))
        values["custom_channels"] = channels
    if click_id_enabled is not None:
        values["click_id_enabled"] = click_id_enabled
    if click_id_param is not None:  # "" goes back to the operator's default
        name = click_id_param.strip()
        try:
            values["click_id_param"] = check_click_param(name) if name else None
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if fallback_url is not None:
        # Shown as a link on the visitor page of disabled links: canonical http(s) only.
        try:
            values["fallback_url"] = (
                canonicalize_destination(fallback_url.strip(), field="fallback_url")
                if fallback_url.strip()
                else None
            )
        except InvalidInput as exc:
            errors.extend(exc.errors)
    return errors, values


async def create_workspace(
    tx: Tx,
    *,
    name: str,
    slug: str | None = None,
    seller_id: str | None = None,
    timezone: str = "UTC",
    param_template: Mapping[str, str] | None = None,
    custom_channels: Sequence[str] = (),
    status: WorkspaceStatus = WorkspaceStatus.UNVERIFIED,
    click_id_enabled: bool = True,
    click_id_param: str = "",
) -> Workspace:
    errors, values = _check_settings(
        name=name,
        seller_id=seller_id or "",
        timezone=timezone,
        param_template=param_template or {},
        custom_channels=custom_channels,
        click_id_param=click_id_param,
    )
    if slug is not None and not _SLUG_RE.match(slug):
        errors.append(
            FieldError("slug", "invalid", "use 3 to 64 lowercase letters, digits and '-'")
        )
    if errors:
        raise InvalidInput(errors)
    if slug is None:
        slug = slugify(str(values["name"]))
        while await tx.workspaces.slug_exists(slug):
            slug = f"{slug[:56]}-{random_base62(4).lower()}"
    elif await tx.workspaces.slug_exists(slug):
        raise Conflict(f"a workspace with slug {slug!r} already exists", code="slug_taken")
    ws = Workspace(
        id=new_id("ws"),
        slug=slug,
        name=str(values["name"]),
        seller_id=values["seller_id"],  # type: ignore[arg-type]
        timezone=str(values["timezone"]),
        status=status,
        created_at=utcnow(),
        param_template=values["param_template"],  # type: ignore[arg-type]
        custom_channels=values["custom_channels"],  # type: ignore[arg-type]
        click_id_enabled=click_id_enabled,
        click_id_param=values["click_id_param"],  # type: ignore[arg-type]
    )
    await tx.workspaces.insert(ws)
    return ws


async def update_workspace(
    tx: Tx,
    *,
    workspace_id: str,
    name: str | None = None,
    seller_id: str | None = None,
    timezone: str | None = None,
    param_template: Mapping[str, str] | None = None,
    custom_channels: Sequence[str] | None = None,
    click_id_enabled: bool | None = None,
    click_id_param: str | None = None,
    fallback_url: str | None = None,
) -> Workspace:
    """Change settings. A new parameter template applies to links created or edited later;
    the click-id settings and ``fallback_url`` ("" clears it) to redirects after commit."""
    errors, values = _check_settings(
        name=name,
        seller_id=seller_id,
        timezone=timezone,
        param_template=param_template,
        custom_channels=custom_channels,
        click_id_enabled=click_id_enabled,
        click_id_param=click_id_param,
        fallback_url=fallback_url,
    )
    if errors:
        raise InvalidInput(errors)
    before = await tx.workspaces.get(workspace_id) if "fallback_url" in values else None
    if values:
        await tx.workspaces.update(workspace_id, **values)
    if "click_id_enabled" in values or "click_id_param" in values:
        # Every redirect of the workspace carries these (Target.click_param).
        tx.record(WorkspaceChanged(workspace_id, "click_id"))
    ws = await tx.workspaces.get(workspace_id)
    if ws is None:
        raise NotFound("no such workspace")
    if before is not None and before.fallback_url != ws.fallback_url:
        tx.record(WorkspaceChanged(ws.id, "fallback_url"))  # cached targets carry it
    return ws


async def find_workspace(tx: Tx, ref: str) -> Workspace:
    """A workspace by id or slug, or NotFound naming what was looked for."""
    ws = await tx.workspaces.find(ref)
    if ws is None:
        raise NotFound(f"no workspace with id or slug {ref!r}")
    return ws


async def set_status(tx: Tx, *, ref: str, status: WorkspaceStatus) -> Workspace:
    ws = await find_workspace(tx, ref)
    await tx.workspaces.update(ws.id, status=status.value)
    tx.record(WorkspaceChanged(ws.id, "status"))
    updated = await tx.workspaces.get(ws.id)
    assert updated is not None
    return updated


def check_can_create_links(workspace: Workspace, *, require_verified: bool) -> None:
    """Seller eligibility: suspended workspaces never create links; unverified ones only when
    the operator turned the requirement off (HOPLINK_REQUIRE_VERIFIED_WORKSPACE=false)."""
    if workspace.status is WorkspaceStatus.SUSPENDED:
        raise WorkspaceSuspended(
            f"workspace {workspace.slug} is suspended; contact the platform operator"
        )
    if require_verified and workspace.status is not WorkspaceStatus.VERIFIED:
        raise WorkspaceNotVerified(
            f"workspace {workspace.slug} is not verified yet: only verified sellers can create"
            " links; ask the platform operator to verify it"
        )
