"""What a caller asks of a workspace's settings, as values.

``WorkspaceEdit`` is a partial edit as a seller typed it (the dashboard's settings form, a
test): each field is ``UNSET`` (kept), a value, or, where the workspace may lack it,
``None`` (cleared; ``""`` clears too, as an empty form field does). ``check_edit`` validates
it into a ``WorkspaceUpdate``: checked values, the one thing the repository writes
(``tx.workspaces.update``). The platform operator's services (status, quotas, short-domain
rules) build a ``WorkspaceUpdate`` themselves from values they checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from hoplink.errors import FieldError, InvalidInput
from hoplink.links.urls import (
    canonicalize_destination,
    check_click_param,
    validate_param_template,
)
from hoplink.unset import UNSET, Unset, given
from hoplink.workspaces.models import BUILTIN_CHANNELS, Workspace, WorkspaceStatus

_CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SELLER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_CUSTOM_CHANNELS = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceEdit:
    """A partial edit of a workspace's settings, unchecked."""

    name: str | Unset = UNSET
    # The seller's id on the marketplace; None or "" clears it.
    seller_id: str | Unset | None = UNSET
    timezone: str | Unset = UNSET
    # Replaces the whole template ({} clears it); applies to links created or edited later.
    param_template: Mapping[str, str] | Unset = UNSET
    # Replaces the custom channels (() clears them); built-in channels are dropped.
    custom_channels: Sequence[str] | Unset = UNSET
    click_id_enabled: bool | Unset = UNSET
    # None or "": the operator's HOPLINK_CLICK_ID_PARAM.
    click_id_param: str | Unset | None = UNSET
    # Shown on the visitor page of disabled links; None or "" clears it.
    fallback_url: str | Unset | None = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceUpdate:
    """Checked values to write to a workspace; ``UNSET`` fields are left as they are."""

    # The seller's settings (``check_edit``).
    name: str | Unset = UNSET
    seller_id: str | Unset | None = UNSET
    timezone: str | Unset = UNSET
    param_template: Mapping[str, str] | Unset = UNSET
    custom_channels: tuple[str, ...] | Unset = UNSET
    click_id_enabled: bool | Unset = UNSET
    click_id_param: str | Unset | None = UNSET
    fallback_url: str | Unset | None = UNSET
    # The platform operator's: status (moderation), quotas, custom short domains.
    status: WorkspaceStatus | Unset = UNSET
    status_reason: str | Unset | None = UNSET
    status_before_suspension: WorkspaceStatus | Unset | None = UNSET
    links_per_day: int | Unset | None = UNSET
    links_per_month: int | Unset | None = UNSET
    short_domain_limit: int | Unset | None = UNSET
    short_domains_approved: bool | Unset = UNSET

    @property
    def empty(self) -> bool:
        """Nothing to write."""
        return all(isinstance(getattr(self, f.name), Unset) for f in fields(self))

    def applied_to(self, ws: Workspace) -> Workspace:
        """``ws`` as it reads after this update is written."""
        return replace(
            ws,
            name=given(self.name, ws.name),
            seller_id=given(self.seller_id, ws.seller_id),
            timezone=given(self.timezone, ws.timezone),
            param_template=dict(given(self.param_template, ws.param_template)),
            custom_channels=list(given(self.custom_channels, ws.custom_channels)),
            click_id_enabled=given(self.click_id_enabled, ws.click_id_enabled),
            click_id_param=given(self.click_id_param, ws.click_id_param),
            fallback_url=given(self.fallback_url, ws.fallback_url),
            status=given(self.status, ws.status),
            status_reason=given(self.status_reason, ws.status_reason),
            status_before_suspension=given(
                self.status_before_suspension, ws.status_before_suspension
            ),
            links_per_day=given(self.links_per_day, ws.links_per_day),
            links_per_month=given(self.links_per_month, ws.links_per_month),
            short_domain_limit=given(self.short_domain_limit, ws.short_domain_limit),
            short_domains_approved=given(self.short_domains_approved, ws.short_domains_approved),
        )


def check_edit(edit: WorkspaceEdit) -> WorkspaceUpdate:
    """The checked update, or InvalidInput naming every field that is wrong and why."""
    errors, update = edit_errors(edit)
    if errors:
        raise InvalidInput(errors)
    return update


def edit_errors(edit: WorkspaceEdit) -> tuple[list[FieldError], WorkspaceUpdate]:
    """What is wrong with ``edit`` (in field order), and the update made of the rest; for
    a caller that adds its own errors (``create_workspace``'s slug) before raising."""
    errors: list[FieldError] = []
    return errors, WorkspaceUpdate(
        name=_name(edit.name, errors),
        seller_id=_seller_id(edit.seller_id, errors),
        timezone=_timezone(edit.timezone, errors),
        param_template=_param_template(edit.param_template, errors),
        custom_channels=_custom_channels(edit.custom_channels, errors),
        click_id_enabled=edit.click_id_enabled,
        click_id_param=_click_id_param(edit.click_id_param, errors),
        fallback_url=_fallback_url(edit.fallback_url, errors),
    )


def _name(value: str | Unset, errors: list[FieldError]) -> str | Unset:
    if isinstance(value, Unset):
        return value
    name = value.strip()
    if not 1 <= len(name) <= 200 or any(unicodedata.category(c)[0] == "C" for c in name):
        errors.append(FieldError("name", "invalid", "must be 1 to 200 printable characters"))
    return name


def _seller_id(value: str | Unset | None, errors: list[FieldError]) -> str | Unset | None:
    if isinstance(value, Unset):
        return value
    if not value:  # None or "": cleared
        return None
    if not _SELLER_RE.match(value):
        errors.append(
            FieldError("seller_id", "invalid", "use 1 to 64 letters, digits, '.', '-' or '_'")
        )
    return value


def _timezone(value: str | Unset, errors: list[FieldError]) -> str | Unset:
    if isinstance(value, Unset):
        return value
    try:
        if value not in available_timezones():
            raise ZoneInfoNotFoundError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(
            FieldError(
                "timezone",
                "unknown_timezone",
                f"{value!r} is not an IANA time zone such as 'Asia/Shanghai' or 'UTC'",
            )
        )
    return value


def _param_template(
    value: Mapping[str, str] | Unset, errors: list[FieldError]
) -> Mapping[str, str] | Unset:
    if isinstance(value, Unset):
        return value
    try:
        return validate_param_template(value)
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return UNSET


def _custom_channels(
    value: Sequence[str] | Unset, errors: list[FieldError]
) -> tuple[str, ...] | Unset:
    if isinstance(value, Unset):
        return value
    channels: list[str] = []
    for i, raw in enumerate(value):
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
    if len(channels) > MAX_CUSTOM_CHANNELS:
        errors.append(
            FieldError(
                "custom_channels", "too_many", f"at most {MAX_CUSTOM_CHANNELS} custom channels"
            )
        )
    return tuple(channels)


def _click_id_param(value: str | Unset | None, errors: list[FieldError]) -> str | Unset | None:
    if isinstance(value, Unset) or value is None:
        return value
    name = value.strip()  # "" goes back to the operator's default
    try:
        return check_click_param(name) if name else None
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return UNSET


def _fallback_url(value: str | Unset | None, errors: list[FieldError]) -> str | Unset | None:
    if isinstance(value, Unset) or value is None:
        return value
    # Shown as a link on the visitor page of disabled links: canonical http(s) only.
    url = value.strip()
    try:
        return canonicalize_destination(url, field="fallback_url") if url else None
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return UNSET
