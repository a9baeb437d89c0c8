"""How long a verified domain survives failed re-checks before its verification lapses.

A DNS hiccup, a provider's outage or a record being moved must not take live links offline,
so one failed check changes nothing but the record of it. A domain lapses only after
``failures`` checks in a row failed *and* the first of them is at least ``period`` old:
with re-checks every 12 hours, 3 failures over 24 hours by default (docs/domains.md).
Shared by custom short domains (hoplink.domains) and verified destination domains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hoplink.config import Settings


@dataclass(frozen=True, slots=True)
class Grace:
    failures: int = 3
    period: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Settings) -> Grace:
        return cls(
            failures=settings.domain_recheck_failures,
            period=timedelta(hours=settings.domain_recheck_grace_hours),
        )

    def lapsed(self, *, failed_checks: int, failing_since: datetime, now: datetime) -> bool:
        """``failed_checks`` in a row (this one included), the first at ``failing_since``."""
        return failed_checks >= self.failures and now - failing_since >= self.period
