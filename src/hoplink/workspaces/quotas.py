"""Creation quotas: how many links a workspace may create per UTC day and month.

Quotas belong to workspaces, not to addresses: a seller uploading tens of thousands of
links a day from one office is the product working, not abuse. The operator sets the
defaults (``HOPLINK_QUOTA_LINKS_PER_DAY`` / ``_PER_MONTH``) and may give one workspace
its own (``hoplink workspace quota``). Usage is counted from the links table itself
(``ix_links_workspace_created``; deleted links still count), so there is no second counter
to drift. The check runs inside the creating transaction, before the insert; two uploads
racing at the edge of the quota may both pass (a soft limit by at most one batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from hoplink.errors import RateLimited
from hoplink.storage.tx import Tx
from hoplink.workspaces.edit import WorkspaceUpdate
from hoplink.workspaces.models import Workspace

if TYPE_CHECKING:
    from hoplink.config import Settings


@dataclass(frozen=True, slots=True)
class QuotaDefaults:
    per_day: int
    per_month: int


def quota_from_settings(settings: Settings) -> QuotaDefaults:
    return QuotaDefaults(settings.quota_links_per_day, settings.quota_links_per_month)


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    per_day: int
    per_month: int
    used_today: int
    used_this_month: int
    day_resets_at: datetime
    month_resets_at: datetime

    @property
    def left(self) -> int:
        return max(0, min(self.per_day - self.used_today, self.per_month - self.used_this_month))


class QuotaExceeded(RateLimited):
    code = "quota_exceeded"
    title = "Creation quota reached"

    def __init__(
        self, *, period: str, limit: int, used: int, wanted: int, resets_at: datetime, now: datetime
    ) -> None:
        self.period = period  # "day" | "month"
        self.limit, self.used, self.wanted, self.resets_at = limit, used, wanted, resets_at
        seconds = max(1, int((resets_at - now).total_seconds()) + 1)
        super().__init__(
            f"this workspace may create {limit} links per {period} (UTC) and has created"
            f" {used}; {wanted} more would pass the quota. Try again after"
            f" {resets_at:%Y-%m-%d %H:%M} UTC",
            retry_after=seconds,
            quota=limit,
            window=86_400.0 if period == "day" else 31 * 86_400.0,
        )


def _periods(now: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    now = now.astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return day, day + timedelta(days=1), month, next_month


async def quota_usage(
    tx: Tx, *, workspace: Workspace, defaults: QuotaDefaults, now: datetime
) -> QuotaUsage:
    day, next_day, month, next_month = _periods(now)
    repo = tx.links(workspace.id)
    return QuotaUsage(
        per_day=workspace.links_per_day or defaults.per_day,
        per_month=workspace.links_per_month or defaults.per_month,
        used_today=await repo.count_created_since(day),
        used_this_month=await repo.count_created_since(month),
        day_resets_at=next_day,
        month_resets_at=next_month,
    )


async def check_quota(
    tx: Tx, *, workspace: Workspace, defaults: QuotaDefaults, wanted: int, now: datetime
) -> None:
    """Raise QuotaExceeded when ``wanted`` more links would pass a quota (nothing written)."""
    if wanted <= 0:
        return
    usage = await quota_usage(tx, workspace=workspace, defaults=defaults, now=now)
    if usage.used_this_month + wanted > usage.per_month:
        raise QuotaExceeded(
            period="month",
            limit=usage.per_month,
            used=usage.used_this_month,
            wanted=wanted,
            resets_at=usage.month_resets_at,
            now=now,
        )
    if usage.used_today + wanted > usage.per_day:
        raise QuotaExceeded(
            period="day",
            limit=usage.per_day,
            used=usage.used_today,
            wanted=wanted,
            resets_at=usage.day_resets_at,
            now=now,
        )


async def set_quota(
    tx: Tx, *, workspace: Workspace, per_day: int | None, per_month: int | None
) -> None:
    """The operator's quota for one workspace; None goes back to the defaults."""
    await tx.workspaces.update(
        workspace.id, WorkspaceUpdate(links_per_day=per_day, links_per_month=per_month)
    )
