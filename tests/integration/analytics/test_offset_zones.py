"""Stats in zones whose offset is not a whole number of hours, against ground truth.

Rollups are per UTC hour, and in Asia/Kolkata (+5:30), Asia/Kathmandu (+5:45),
Australia/Adelaide (+9:30/+10:30), America/St_Johns (-3:30/-2:30) or Australia/Lord_Howe
(+10:30/+11, a half-hour DST shift) local midnight falls inside a UTC hour. hoplink
counts a UTC hour on the local day (and at the local time) at which it *starts*, so a
range of local days is the UTC hours that start on those days (docs/analytics.md).

Each test writes clicks at known instants through the worker, asks the API, and compares
with the clicks grouped by that rule, computed here from the instants alone: no extra
day at either end, the series adds up to the totals, 1-, 7- and 30-day ranges, hours,
and days across DST changes.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from api_client import Api, running_api
from hoplink.clicks.models import Click
from hoplink.ingest.worker import Worker

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ZONES = [
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "America/St_Johns",
    "Australia/Lord_Howe",
]
# A local time-of-day for clicks: each side of local midnight (inside the UTC hour that
# straddles it in these zones), the first whole local hour, noon, and late evening.
CLOCK = [time(0, 5), time(0, 20), time(1, 0), time(12, 0), time(23, 10), time(23, 55)]
FIRST = date(2026, 6, 1)  # no DST change in any of the zones for the 40 days from here


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


def counted_on(ts: float, tz: ZoneInfo) -> datetime:
    """The local start of the UTC hour a click at ``ts`` is counted in (the documented
    rule, computed from the instant alone)."""
    return datetime.fromtimestamp(ts // 3600 * 3600, tz)


def instants(tz: ZoneInfo, first: date, days: int) -> list[float]:
    """Click instants at every CLOCK time of ``days`` local days from ``first``."""
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        out += [datetime.combine(day, t, tzinfo=tz).timestamp() for t in CLOCK]
    return out


async def _workspace(api: Api, zone: str, stamps: Sequence[float]) -> dict[str, str]:
    ws = await api.workspace(f"Shop {zone}", timezone=zone)
    headers = {"Authorization": f"Bearer {await api.key(ws)}"}
    r = await api.http.post(
        "/api/v1/links", json={"url": "https://shop.example.com/a"}, headers=headers
    )
    link = r.json()
    clicks = [
        Click(f"c{n:05d}", ts, link["id"], ws.id, "hop.test", "GET", PHONE, "", "en", "IN", f"v{n}")
        for n, ts in enumerate(stamps)
    ]  # fmt: skip
    # The worker's clock a day after the last click: none of them is refused as too old.
    worker = Worker(db=api.db, source=None, clock=lambda: max(stamps) + 86400)  # type: ignore[arg-type]
    await worker.process(clicks)
    return headers


async def _stats(api: Api, headers: dict[str, str], **params: str) -> dict[str, Any]:
    r = await api.http.get("/api/v1/stats/workspace", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _day_series(body: dict[str, Any]) -> list[tuple[str, int]]:
    return [(p["t"][:10], p["pv"]) for p in body["series"]]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("days", [1, 7, 30])
async def test_a_range_of_local_days_has_exactly_those_days(api: Api, zone: str, days: int) -> None:
    tz = ZoneInfo(zone)
    # Clicks from the day before the range to the day after it.
    stamps = instants(tz, FIRST - timedelta(days=1), days + 2)
    headers = await _workspace(api, zone, stamps)
    last = FIRST + timedelta(days=days - 1)
    body = await _stats(api, headers, **{"from": FIRST.isoformat(), "to": last.isoformat()})

    asked = [(FIRST + timedelta(days=n)).isoformat() for n in range(days)]
    truth = Counter(counted_on(ts, tz).date().isoformat() for ts in stamps)
    assert _day_series(body) == [(d, truth[d]) for d in asked]
    assert (
        body["totals"]["pv"] == sum(truth[d] for d in asked) == sum(p["pv"] for p in body["series"])
    )
    assert body["totals"]["uv"] == sum(p["uv"] for p in body["series"])
    # Every click at local noon or at 01:00 is on its own day whatever the rule.
    assert all(pv >= 2 for _, pv in _day_series(body))
    # The range reported is the hours counted: from the first whole UTC hour of the first
    # local day to the first of the day after the last.
    start = datetime.fromisoformat(body["from"])
    end = datetime.fromisoformat(body["to"])
    assert start.date() == FIRST and start.timestamp() % 3600 == 0
    assert end.date() == last + timedelta(days=1) and end.timestamp() % 3600 == 0
    assert start - datetime.combine(FIRST, time(0), tzinfo=tz) < timedelta(hours=1)


@pytest.mark.parametrize("zone", ZONES)
async def test_an_hourly_series_of_one_day_holds_only_that_days_hours(api: Api, zone: str) -> None:
    tz = ZoneInfo(zone)
    stamps = instants(tz, FIRST - timedelta(days=1), 3)
    headers = await _workspace(api, zone, stamps)
    day = FIRST.isoformat()
    body = await _stats(api, headers, **{"from": day, "to": day, "granularity": "hour"})

    series = body["series"]
    assert len(series) == 24
    assert {p["t"][:10] for p in series} == {day}
    starts = [datetime.fromisoformat(p["t"]) for p in series]
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(starts))
    truth = Counter(counted_on(ts, tz) for ts in stamps)
    assert [(s, p["pv"]) for s, p in zip(starts, series, strict=True)] == [
        (s, truth[s]) for s in starts
    ]
    assert body["totals"]["pv"] == sum(p["pv"] for p in series)


# A local day on which the clocks change: (zone, day, UTC hours that start on it).
DST_DAYS = [
    ("Australia/Adelaide", date(2026, 4, 5), 25),  # +10:30 → +9:30
    ("Australia/Adelaide", date(2026, 10, 4), 23),  # +9:30 → +10:30
    ("America/St_Johns", date(2026, 3, 8), 23),  # -3:30 → -2:30
    ("America/St_Johns", date(2026, 11, 1), 25),  # -2:30 → -3:30
    # +10:30 → +11 (a half-hour shift): 23.5 local hours; the hours start at :30 before
    # the change and on the hour after it, so 23 UTC hours start that day.
    ("Australia/Lord_Howe", date(2026, 10, 4), 23),
    # +11 → +10:30: 24.5 local hours; 00:00 and 01:00 start on the hour, then 01:30
    # (again) to 23:30: 25 UTC hours.
    ("Australia/Lord_Howe", date(2026, 4, 5), 25),
]


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    DST_DAYS,
    ids=[f"{z.split('/')[1]}-{d.isoformat()}" for z, d, _ in DST_DAYS],
)
async def test_days_across_a_dst_change(api: Api, zone: str, day: date, hours: int) -> None:
    tz = ZoneInfo(zone)
    stamps = instants(tz, day - timedelta(days=2), 5)
    headers = await _workspace(api, zone, stamps)
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    span = {"from": before.isoformat(), "to": after.isoformat()}
    daily = await _stats(api, headers, **span)
    truth = Counter(counted_on(ts, tz).date() for ts in stamps)
    asked = [day + timedelta(days=n) for n in (-1, 0, 1)]
    assert _day_series(daily) == [(d.isoformat(), truth[d]) for d in asked]
    assert daily["totals"]["pv"] == sum(truth[d] for d in asked)

    one = {"from": day.isoformat(), "to": day.isoformat(), "granularity": "hour"}
    hourly = await _stats(api, headers, **one)
    assert len(hourly["series"]) == hours
    assert {p["t"][:10] for p in hourly["series"]} == {day.isoformat()}
    assert sum(p["pv"] for p in hourly["series"]) == truth[day] == hourly["totals"]["pv"]
