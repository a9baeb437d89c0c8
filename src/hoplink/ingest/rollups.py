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
from typing import Generic, TypeVar

from hoplink.clicks.enriched import Counts, Event, RollupDelta, SeenKey

K = TypeVar("K", bound=Hashable)


def seen_keys(events: Iterable[Event]) -> list[SeenKey]:
    """The visitor keys of the human clicks, each once, in a stable (sorted) order."""
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
    return sorted(keys)


class _Tally(Generic[K]):
    """The keys of one table a batch touches, listed once per click and count, then
    counted in C (``Counter``): no increment per click, row and count in Python."""

    __slots__ = ("human_pv", "pv", "uv_day", "uv_hour")

    def __init__(self) -> None:
        self.pv: list[K] = []
        self.human_pv: list[K] = []
        self.uv_day: list[K] = []
        self.uv_hour: list[K] = []

    def add(self, keys: list[K], *, human: bool) -> None:
        self.pv += keys
        if human:
            self.human_pv += keys

    def counts(self) -> dict[K, Counts]:
        human, uv_day, uv_hour = Counter(self.human_pv), Counter(self.uv_day), Counter(self.uv_hour)
        h, d, u = human.get, uv_day.get, uv_hour.get
        return {
            key: Counts(pv, h(key, 0), d(key, 0), u(key, 0)) for key, pv in Counter(self.pv).items()
        }


by_time = attrgetter("click.ts")


class DeltaBuilder:
    """``build_delta`` in steps, so a caller on an event loop can yield between slices:
    ``add`` the events in time order (``by_time``), slice by slice, then take ``delta``."""

    def __init__(self, new_keys: set[SeenKey]) -> None:
        self._unclaimed = set(new_keys)
        self._lh: _Tally[tuple[str, str, int]] = _Tally()
        self._ld: _Tally[tuple[str, str, int]] = _Tally()
        self._wh: _Tally[tuple[str, int]] = _Tally()
        self._wd: _Tally[tuple[str, int]] = _Tally()
        self._ldh: _Tally[tuple[str, str, int, str, str]] = _Tally()
        self._ldd: _Tally[tuple[str, str, int, str, str]] = _Tally()
        self._wdh: _Tally[tuple[str, int, str, str]] = _Tally()
        self._wdd: _Tally[tuple[str, int, str, str]] = _Tally()

    def add(self, events: Iterable[Event]) -> None:
        unclaimed = self._unclaimed
        lh, ld, wh, wd = self._lh, self._ld, self._wh, self._wd
        ldh, ldd, wdh, wdd = self._ldh, self._ldd, self._wdh, self._wdd
        for e in events:
            link, ws, hour, day = e.click.link_id, e.click.workspace_id, e.hour, e.day
            human = e.bot is None
            dims, ws_dims = e.dims(), e.workspace_dims()
            # The rows this click adds to, one per table (several in the breakdowns).
            k_lh, k_ld, k_wh, k_wd = (
                [(link, ws, hour)],
                [(link, ws, day)],
                [(ws, hour)],
                [(ws, day)],
            )
            k_ldh = [(link, ws, hour, d, v) for d, v in dims]
            k_ldd = [(link, ws, day, d, v) for d, v in dims]
            k_wdh = [(ws, hour, d, v) for d, v in ws_dims]
            k_wdd = [(ws, day, d, v) for d, v in ws_dims]
            lh.add(k_lh, human=human)
            ld.add(k_ld, human=human)
            wh.add(k_wh, human=human)
            wd.add(k_wd, human=human)
            ldh.add(k_ldh, human=human)
            ldd.add(k_ldd, human=human)
            wdh.add(k_wdh, human=human)
            wdd.add(k_wdd, human=human)
            vh = e.click.visitor_hash
            if not human or not vh:
                continue
            if _claim(unclaimed, ("h", hour, link, vh)):
                lh.uv_hour += k_lh
            if _claim(unclaimed, ("h", hour, ws, vh)):
                wh.uv_hour += k_wh
            if _claim(unclaimed, ("d", day, link, vh)):
                lh.uv_day += k_lh
                ld.uv_day += k_ld
                ldh.uv_day += k_ldh
                ldd.uv_day += k_ldd
            if _claim(unclaimed, ("d", day, ws, vh)):
                wh.uv_day += k_wh
                wd.uv_day += k_wd
                wdh.uv_day += k_wdh
                wdd.uv_day += k_wdd

    def delta(self) -> RollupDelta:
        return RollupDelta(
            link_hours=self._lh.counts(),
            link_days=self._ld.counts(),
            workspace_hours=self._wh.counts(),
            workspace_days=self._wd.counts(),
            link_dim_hours=self._ldh.counts(),
            link_dim_days=self._ldd.counts(),
            workspace_dim_hours=self._wdh.counts(),
            workspace_dim_days=self._wdd.counts(),
        )


def build_delta(events: Iterable[Event], new_keys: set[SeenKey]) -> RollupDelta:
    """The increments for ``events`` (clicks written for the first time)."""
    builder = DeltaBuilder(new_keys)
    builder.add(sorted(events, key=by_time))
    return builder.delta()


def _claim(unclaimed: set[SeenKey], key: SeenKey) -> bool:
    if key in unclaimed:
        unclaimed.discard(key)
        return True
    return False
