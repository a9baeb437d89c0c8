"""Attribution: which clicks an order's buyer made within the window, and who gets credit.

The store reports the click id hoplink appended to the destination (exact); failing that,
the link and the buyer's IP + user agent, matched to that link's clicks by visitor hash
(which only works while the day's salt is kept: the same or the next UTC day). The path is
then every human click of the same visitor in the workspace within the window before the
order (visitor hashes change every UTC day, so in practice the clicks of that day). Every
order keeps its whole path; last-click, first-click and linear are weights read at report
time (see docs/attribution.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from hoplink.clicks.models import StoredClick
from hoplink.conversions.models import Click, Model, Touch, Unattributed

MIN_WINDOW_DAYS, MAX_WINDOW_DAYS, DEFAULT_WINDOW_DAYS = 1, 90, 7
# A click stamped up to this long after the order still counts (clocks of two machines).
CLOCK_SKEW = timedelta(minutes=5)
MAX_TOUCHES = 50


def as_click(stored: StoredClick) -> Click:
    """A click found by id (``clicks.service.find_click``), as attribution sees it."""
    return Click(
        click_id=stored.click_id,
        link_id=stored.link_id,
        ts=stored.ts,
        visitor_hash=stored.visitor_hash,
        bot=stored.bot is not None,
    )


def in_window(click_ts: datetime, placed_at: datetime, window_days: int) -> bool:
    return placed_at - timedelta(days=window_days) <= click_ts <= placed_at + CLOCK_SKEW


def path_of(
    anchor: Click, others: Sequence[Click], placed_at: datetime, window_days: int
) -> list[Touch]:
    """The touches of an order whose matched (last) click is ``anchor``: the visitor's human
    clicks in the window up to the anchor, oldest first, the anchor last."""
    clicks = {
        c.click_id: c
        for c in others
        if not c.bot
        and c.visitor_hash == anchor.visitor_hash
        and c.ts <= anchor.ts
        and in_window(c.ts, placed_at, window_days)
    }
    clicks.pop(anchor.click_id, None)
    # Oldest first; a scanner's day of clicks is not a path: the latest ones are kept. The
    # anchor is the last touch even when another click shares its second.
    ordered = sorted(clicks.values(), key=lambda c: (c.ts, c.click_id))[-(MAX_TOUCHES - 1) :]
    ordered.append(anchor)
    n = len(ordered)
    return [
        Touch(
            click_id=c.click_id,
            link_id=c.link_id,
            ts=c.ts,
            is_first=i == 0,
            is_last=i == n - 1,
            touches=n,
        )
        for i, c in enumerate(ordered)
    ]


def check_anchor(
    anchor: Click | None, placed_at: datetime, window_days: int
) -> Unattributed | None:
    """Why ``anchor`` cannot be credited with the order, or None when it can."""
    if anchor is None:
        return Unattributed.UNKNOWN_CLICK
    if not in_window(anchor.ts, placed_at, window_days):
        return Unattributed.OUTSIDE_WINDOW
    return None


def weight(touch: Touch, model: Model) -> float:
    """The share of the order credited to ``touch`` under ``model`` (sums to 1 per order)."""
    if model is Model.LAST_CLICK:
        return 1.0 if touch.is_last else 0.0
    if model is Model.FIRST_CLICK:
        return 1.0 if touch.is_first else 0.0
    return 1.0 / touch.touches
