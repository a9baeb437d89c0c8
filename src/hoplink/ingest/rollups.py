"""What a batch of new clicks adds to the rollups — computed in memory, written in one go.

UV accounting: a human click whose (hour, link), (hour, workspace), (day, link) or
(day, workspace) visitor key is new adds one to ``uv_hour`` / ``uv_day`` of the bucket the
click falls in. The storage layer says which keys are new (an insert into the seen-set
that was not ignored); within a batch the earliest click claims a key. Because visitor
hashes are stable for a UTC day, ``uv_day`` summed over a UTC day is that day's exact
number of distinct visitors, and a breakdown value's ``uv_day`` credits each visitor to
the values of their first click that day (device, OS, browser and country are fixed for a
visitor hash; the referrer is their first referrer). The workspace breakdowns also have
``channel`` and ``campaign``: the clicked link's at click time ("(none)" if it had none),
and ``utm_content`` / ``utm_term``: the link's at click time, only if it had one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from operator import attrgetter
from typing import Any, Generic, TypeVar

from hoplink.clicks.enriched import Counts, Event, RollupDelta, SeenKey

K = TypeVar("K", bound=Hashable)


def seen_keys(events: Iterable[Event]) -> list[SeenKey]:
    """The visitor keys of the human clicks, each once (the database orders them for its
    locks, see ``RollupRepo.mark_seen``)."""
    keys: set[SeenKey] = set()
    for e in events:
        vh = e.click.visitor_hash
        if not e.human or not vh:
            continue
        link, ws = e.click.link_id, e.click.workspace_id
        keys.update(
            (
                ("h", e.hour, link, vh),
                ("h", e.hour, ws, vh),
                ("d", e.day, link, vh),
                ("d", e.day, ws, vh),
            )
        )
    return list(keys)


class _Tally(Generic[K]):
    """The keys of one table a batch touches, listed once per click and count, then
    counted in C (``Counter``): no increment per click, row and count in Python. Human and
    bot clicks are listed apart, so each listed key is counted once (pv = human + bots)."""

    __slots__ = ("bot_pv", "human_pv", "uv_day", "uv_hour", "views")

    def __init__(self) -> None:
        self.human_pv: list[K] = []
        self.bot_pv: list[K] = []
        self.uv_day: list[K] = []
        self.uv_hour: list[K] = []
        self.views: tuple[Counter[K], Counter[K]] | None = None

    def add(self, keys: list[K], *, human: bool) -> None:
        if human:
            self.human_pv += keys
        else:
            self.bot_pv += keys

    def count_views(self) -> tuple[Counter[K], Counter[K]]:
        if self.views is None:
            self.views = Counter(self.human_pv), Counter(self.bot_pv)
            self.human_pv, self.bot_pv = [], []
        return self.views

    def counts(self) -> dict[K, Counts]:
        (human, bots), d = self.count_views(), Counter(self.uv_day).get
        if self.uv_hour:
            u = Counter(self.uv_hour).get
            out = {key: Counts(n, n, d(key, 0), u(key, 0)) for key, n in human.items()}
        else:
            out = {key: Counts(n, n, d(key, 0)) for key, n in human.items()}
        for key, n in bots.items():  # uv counts humans only
            c = out.get(key)
            out[key] = Counts(n) if c is None else c._replace(pv=c.pv + n)
        return out


by_time = attrgetter("click.ts")


def _days(hours: dict[Any, Counts], at: int) -> dict[Any, Counts]:
    """A day table's counts from its hour table's: the same keys with the hour (at index
    ``at``) made its day, summed (pv, human pv and uv_day are counted alike in both; a day
    table has no uv_hour)."""
    days: dict[Any, Counts] = {}
    for key, c in hours.items():
        day_key = (*key[:at], key[at] // 24, *key[at + 1 :])
        had = days.get(day_key)
        days[day_key] = (
            Counts(c.pv, c.human_pv, c.uv_day)
            if had is None
            else Counts(had.pv + c.pv, had.human_pv + c.human_pv, had.uv_day + c.uv_day)
        )
    return days


# A human click's visitor: hour, link, workspace, visitor hash and its rows in the four
# hour tables, kept by ``add`` for ``claim``.
_Visit = tuple[
    int,
    str,
    str,
    str,
    list[tuple[str, str, int]],
    list[tuple[str, int]],
    list[tuple[str, str, int, str, str]],
    list[tuple[str, int, str, str]],
]


class DeltaBuilder:
    """``build_delta`` in steps, so a caller on an event loop can yield between slices and
    do most of the work before it knows the new visitor keys: ``add`` the events in time
    order (``by_time``), slice by slice, and ``count_views``; then, with the keys the
    seen-set took as new, ``claim`` and take ``delta``. On PostgreSQL the seen-set rows
    a batch inserted lock out other workers' inserts of the same keys until the commit, so
    the less work between the seen-set insert and the commit the better.

    Only the hour tables are tallied per click: a click adds the same pv, human pv and
    uv_day to its hour's row as to its day's, so the day tables are the hour tables summed
    by day (``_days``), over the batch's distinct rows instead of its clicks."""

    def __init__(self) -> None:
        self._lh: _Tally[tuple[str, str, int]] = _Tally()
        self._wh: _Tally[tuple[str, int]] = _Tally()
        self._ldh: _Tally[tuple[str, str, int, str, str]] = _Tally()
        self._wdh: _Tally[tuple[str, int, str, str]] = _Tally()
        self._visits: list[_Visit] = []

    def add(self, events: Iterable[Event]) -> None:
        lh, wh, ldh, wdh = self._lh, self._wh, self._ldh, self._wdh
        visits = self._visits
        for e in events:
            click = e.click
            link, ws, hour = click.link_id, click.workspace_id, e.hour
            human = e.bot is None
            # The rows this click adds to, one per table (several in the breakdowns).
            k_lh, k_wh = [(link, ws, hour)], [(ws, hour)]
            k_ldh = [(link, ws, hour, d, v) for d, v in e.dims()]
            k_wdh = [(ws, hour, d, v) for d, v in e.workspace_dims()]
            lh.add(k_lh, human=human)
            wh.add(k_wh, human=human)
            ldh.add(k_ldh, human=human)
            wdh.add(k_wdh, human=human)
            if human and click.visitor_hash:
                visits.append((hour, link, ws, click.visitor_hash, k_lh, k_wh, k_ldh, k_wdh))

    def count_views(self) -> None:
        """Count the page views (the bulk of the counting) before the claims."""
        for tally in (self._lh, self._wh, self._ldh, self._wdh):
            tally.count_views()

    def claim(self, new_keys: set[SeenKey]) -> None:
        """Give each new visitor key to the earliest click that has it: its uv counts."""
        unclaimed = set(new_keys)
        lh, wh, ldh, wdh = self._lh, self._wh, self._ldh, self._wdh
        for hour, link, ws, vh, k_lh, k_wh, k_ldh, k_wdh in self._visits:
            if not unclaimed:
                break
            day = hour // 24
            if _claim(unclaimed, ("h", hour, link, vh)):
                lh.uv_hour += k_lh
            if _claim(unclaimed, ("h", hour, ws, vh)):
                wh.uv_hour += k_wh
            if _claim(unclaimed, ("d", day, link, vh)):
                lh.uv_day += k_lh
                ldh.uv_day += k_ldh
            if _claim(unclaimed, ("d", day, ws, vh)):
                wh.uv_day += k_wh
                wdh.uv_day += k_wdh

    def delta(self) -> RollupDelta:
        link_hours, workspace_hours = self._lh.counts(), self._wh.counts()
        link_dim_hours, workspace_dim_hours = self._ldh.counts(), self._wdh.counts()
        return RollupDelta(
            link_hours=link_hours,
            link_days=_days(link_hours, 2),
            workspace_hours=workspace_hours,
            workspace_days=_days(workspace_hours, 1),
            link_dim_hours=link_dim_hours,
            link_dim_days=_days(link_dim_hours, 2),
            workspace_dim_hours=workspace_dim_hours,
            workspace_dim_days=_days(workspace_dim_hours, 1),
        )


def build_delta(events: Iterable[Event], new_keys: set[SeenKey]) -> RollupDelta:
    """The increments for ``events`` (clicks written for the first time)."""
    builder = DeltaBuilder()
    builder.add(sorted(events, key=by_time))
    builder.claim(new_keys)
    return builder.delta()


def _claim(unclaimed: set[SeenKey], key: SeenKey) -> bool:
    if key in unclaimed:
        unclaimed.discard(key)
        return True
    return False
