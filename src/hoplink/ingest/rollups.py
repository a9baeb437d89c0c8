"""What a batch of new clicks adds to the rollups — computed in memory, written in one go.

UV accounting: a human click whose (hour, link), (hour, workspace), (day, link) or
(day, workspace) visitor key is new adds one to ``uv_hour`` / ``uv_day`` of the bucket the
click falls in. The storage layer says which keys are new (an insert into the seen-set
that was not ignored); within a batch the earliest click claims a key. Because visitor
hashes are stable for a UTC day, ``uv_day`` summed over a UTC day is that day's exact
number of distinct visitors, and a breakdown value's ``uv_day`` credits each visitor to
the values of their first click that day (device, OS, browser and country are fixed for a
visitor hash; the referrer is their first referrer). The workspace breakdowns also have
``channel`` and ``campaign``: the clicked link's at click time ("(none)" if it had none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from hoplink.ingest.steps import Event

# (grain "h" | "d", bucket, link or workspace id, visitor hash)
SeenKey = tuple[str, int, str, str]
K = TypeVar("K")


@dataclass(slots=True)
class Counts:
    pv: int = 0
    human_pv: int = 0
    uv_day: int = 0
    uv_hour: int = 0


@dataclass(slots=True)
class RollupDelta:
    # link tables are keyed with the workspace too: every row stores its workspace_id
    link_hours: dict[tuple[str, str, int], Counts] = field(default_factory=dict)
    link_days: dict[tuple[str, str, int], Counts] = field(default_factory=dict)
    workspace_hours: dict[tuple[str, int], Counts] = field(default_factory=dict)
    workspace_days: dict[tuple[str, int], Counts] = field(default_factory=dict)
    link_dim_hours: dict[tuple[str, str, int, str, str], Counts] = field(default_factory=dict)
    link_dim_days: dict[tuple[str, str, int, str, str], Counts] = field(default_factory=dict)
    workspace_dim_hours: dict[tuple[str, int, str, str], Counts] = field(default_factory=dict)
    workspace_dim_days: dict[tuple[str, int, str, str], Counts] = field(default_factory=dict)


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


def _at(table: dict[K, Counts], key: K) -> Counts:
    counts = table.get(key)
    if counts is None:
        counts = table[key] = Counts()
    return counts


def build_delta(events: Iterable[Event], new_keys: set[SeenKey]) -> RollupDelta:
    """The increments for ``events`` (clicks written for the first time)."""
    delta = RollupDelta()
    unclaimed = set(new_keys)
    for e in sorted(events, key=lambda ev: ev.click.ts):
        link, ws, hour, day = e.click.link_id, e.click.workspace_id, e.hour, e.day
        human = 1 if e.human else 0
        dims = list(e.dims())
        ws_dim_values = list(e.workspace_dims())
        rows = [
            _at(delta.link_hours, (link, ws, hour)),
            _at(delta.link_days, (link, ws, day)),
            _at(delta.workspace_hours, (ws, hour)),
            _at(delta.workspace_days, (ws, day)),
        ]
        link_dims = [_at(delta.link_dim_hours, (link, ws, hour, d, v)) for d, v in dims]
        link_dims += [_at(delta.link_dim_days, (link, ws, day, d, v)) for d, v in dims]
        ws_dims = [_at(delta.workspace_dim_hours, (ws, hour, d, v)) for d, v in ws_dim_values]
        ws_dims += [_at(delta.workspace_dim_days, (ws, day, d, v)) for d, v in ws_dim_values]
        for c in (*rows, *link_dims, *ws_dims):
            c.pv += 1
            c.human_pv += human
        if not human or not e.click.visitor_hash:
            continue
        vh = e.click.visitor_hash
        if _claim(unclaimed, ("h", hour, link, vh)):
            rows[0].uv_hour += 1
        if _claim(unclaimed, ("h", hour, ws, vh)):
            rows[2].uv_hour += 1
        if _claim(unclaimed, ("d", day, link, vh)):
            for c in (rows[0], rows[1], *link_dims):
                c.uv_day += 1
        if _claim(unclaimed, ("d", day, ws, vh)):
            for c in (rows[2], rows[3], *ws_dims):
                c.uv_day += 1
    return delta


def _claim(unclaimed: set[SeenKey], key: SeenKey) -> bool:
    if key in unclaimed:
        unclaimed.discard(key)
        return True
    return False
