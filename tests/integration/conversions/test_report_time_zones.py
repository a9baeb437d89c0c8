"""Conversion reports in a workspace's time zone, read from the order rollups: whole UTC
days in the middle of the range, UTC hours at its ends. In a half-hour zone a local day
starts inside a UTC hour; a UTC hour counts on the local day it starts (docs/analytics.md),
so the range runs from the first whole UTC hour after local midnight, as the click stats do.
Orders placed around local midnight, at the half hour and in the middle of the day; the
totals, the per-link credit (last click and linear) and the daily series equal what this
test computes from the orders it sent. SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from conv_support import click, iso, post, shop, write_clicks

from api_client import Api, running_api

LOCAL_TIMES = [time(0, 0), time(0, 20), time(0, 45), time(5, 30), time(12, 0), time(23, 10)]
LOCAL_TIMES += [time(23, 50)]


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/St_Johns", "Asia/Shanghai"])
async def test_reports_in_a_time_zone_count_the_orders_of_its_hours(api: Api, zone: str) -> None:
    tz = ZoneInfo(zone)
    now = datetime.now(UTC).replace(microsecond=0)
    s = await shop(
        api,
        links=[{"url": "https://shop.example.com/a"}, {"url": "https://shop.example.com/b"}],
        timezone=zone,
    )
    first, second = s.links
    # One visitor's path: first, then second; orders by its last click are split in two
    # under the linear model.
    c1 = click(first, s.ws_id, now - timedelta(days=6, hours=2), "tzv")
    c2 = click(second, s.ws_id, now - timedelta(days=6, hours=1), "tzv")
    await write_clicks(api, [c1, c2])

    today = now.astimezone(tz).date()
    placed: list[tuple[datetime, int, bool]] = []  # (when, amount, attributed)
    for back in range(6):
        for n, at in enumerate(LOCAL_TIMES):
            when = datetime.combine(today - timedelta(days=back), at, tzinfo=tz)
            if when.astimezone(UTC) < now:
                placed.append((when.astimezone(UTC), 200 * (n + 1) + 2 * back, n % 3 != 2))
    events = [
        {
            "type": "purchase",
            "order_id": f"TZ-{i}",
            "amount": amount,
            "currency": "USD",
            "occurred_at": iso(when),
            **({"click_id": c2.click_id} if attributed else {}),
        }
        for i, (when, amount, attributed) in enumerate(placed)
    ]
    r = await post(api, s.headers, {"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text

    start_day, end_day = today - timedelta(days=4), today - timedelta(days=1)
    start_h = math.ceil(_midnight(start_day, tz).timestamp() / 3600)
    end_h = math.ceil(_midnight(end_day + timedelta(days=1), tz).timestamp() / 3600)
    inside = [p for p in placed if start_h <= int(p[0].timestamp() // 3600) < end_h]
    assert len(inside) < len(placed)  # the range leaves some out
    series: Counter[str] = Counter()
    for when, _, _ in inside:
        hour = datetime.fromtimestamp(int(when.timestamp() // 3600) * 3600, tz)
        series[_midnight(hour.date(), tz).isoformat()] += 1

    for model in ("last_click", "linear"):
        got = await api.http.get(
            "/api/v1/stats/conversions/workspace",
            params=[
                ("from", start_day.isoformat()),
                ("to", end_day.isoformat()),
                ("granularity", "day"),
                ("group", "link"),
                ("model", model),
            ],
            headers=s.headers,
        )
        assert got.status_code == 200, got.text
        out = got.json()
        assert out["timezone"] == zone
        assert out["totals"]["orders"] == len(inside)
        assert out["totals"]["gmv"] == sum(a for _, a, _ in inside)
        assert {p["t"]: p["orders"] for p in out["series"] if p["orders"]} == dict(series)
        credit: dict[str, Fraction] = {}
        for _, amount, attributed in inside:
            if not attributed:
                shares = {"(unattributed)": Fraction(1)}
            elif model == "linear":
                shares = {first["id"]: Fraction(1, 2), second["id"]: Fraction(1, 2)}
            else:
                shares = {second["id"]: Fraction(1)}
            for key, share in shares.items():
                credit[key] = credit.get(key, Fraction(0)) + share * amount
        rows = {row["value"]: row["gmv"] for row in out["groups"]["link"] if row["gmv"]}
        assert rows == {k: int(v) for k, v in credit.items()}


def _day_hours(day: date, tz: ZoneInfo) -> int:
    # Aware datetimes of one zone subtract as wall-clock times: compare them in UTC.
    length = _midnight(day + timedelta(days=1), tz).astimezone(UTC) - _midnight(day, tz)
    return int(length.total_seconds() // 3600)


async def test_hourly_series_keeps_both_hours_of_a_clock_change(api: Api) -> None:
    """On the night clocks go back, 01:00-02:00 happens twice: the hourly series has 25
    points, one per UTC hour, as the click stats do, and an order of each 01:30 lands in
    its own hour (the two hours are equal wall-clock times and were merged into one)."""
    zone = "America/New_York"
    tz = ZoneInfo(zone)
    now = datetime.now(UTC)
    today = now.astimezone(tz).date()
    # The latest local day of 25 hours before today (the first Sunday of November).
    day = next(
        today - timedelta(days=back)
        for back in range(1, 367)
        if _day_hours(today - timedelta(days=back), tz) == 25
    )
    s = await shop(api, timezone=zone)
    first_half = datetime.combine(day, time(1, 30), tzinfo=tz)  # fold=0: daylight time
    second_half = first_half.replace(fold=1)  # an hour later: standard time
    noon = datetime.combine(day, time(12, 0), tzinfo=tz)
    placed = [first_half, second_half, second_half, noon]
    assert second_half.astimezone(UTC) - first_half.astimezone(UTC) == timedelta(hours=1)
    events = [
        {
            "type": "purchase",
            "order_id": f"DST-{i}",
            "amount": 100,
            "currency": "USD",
            "occurred_at": iso(w),
        }
        for i, w in enumerate(placed)
    ]
    r = await post(api, s.headers, {"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text

    params = {"from": day.isoformat(), "to": day.isoformat(), "granularity": "hour"}
    got = await api.http.get(
        "/api/v1/stats/conversions/workspace", params=params, headers=s.headers
    )
    assert got.status_code == 200, got.text
    series = got.json()["series"]
    clicks = await api.http.get("/api/v1/stats/workspace", params=params, headers=s.headers)
    assert clicks.status_code == 200, clicks.text
    assert [p["t"] for p in series] == [p["t"] for p in clicks.json()["series"]]
    assert len(series) == 25
    hour = timedelta(hours=1)
    expected = Counter(
        datetime.fromtimestamp(int(w.timestamp() // 3600) * 3600, tz).isoformat() for w in placed
    )
    assert {p["t"]: p["orders"] for p in series if p["orders"]} == dict(expected)
    assert len(expected) == 3 and first_half + hour != second_half  # wall clock vs. UTC
    assert got.json()["totals"]["orders"] == len(placed)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "UTC"])
async def test_ad_spend_of_a_day_counts_on_that_local_day_only(api: Api, zone: str) -> None:
    """An ad platform's daily spend is a day of the seller's calendar: a one-day report has
    that day's spend, not also the next or the previous one's (the days were UTC days that
    touch the range: two of them for every day of a zone off UTC), and reports of
    adjacent ranges never count a day twice. A range counts the days that start in it."""
    tz = ZoneInfo(zone)
    s = await shop(api, timezone=zone)
    today = datetime.now(UTC).astimezone(tz).date()
    days = [today - timedelta(days=n) for n in (4, 3, 2)]
    spend = dict(zip(days, (100, 200, 400), strict=True))
    csv = "date,campaign,spend,currency\n" + "".join(
        f"{d.isoformat()},sale,{cents / 100:.2f},USD\n" for d, cents in spend.items()
    )
    r = await api.http.post(
        "/api/v1/spend/import?format=generic",
        content=csv.encode(),
        headers=s.headers | {"Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text

    async def spend_of(start: str, end: str) -> int | None:
        got = await api.http.get(
            "/api/v1/stats/conversions/workspace",
            params={"from": start, "to": end, "granularity": "day"},
            headers=s.headers,
        )
        assert got.status_code == 200, got.text
        value: int | None = got.json()["totals"]["spend"]
        return value

    for d, cents in spend.items():
        assert await spend_of(d.isoformat(), d.isoformat()) == cents, d
    assert await spend_of(days[0].isoformat(), days[-1].isoformat()) == 700
    after = days[-1] + timedelta(days=1)
    assert await spend_of(after.isoformat(), after.isoformat()) is None
    before = days[0] - timedelta(days=1)
    assert await spend_of(before.isoformat(), before.isoformat()) is None
    # from noon to noon: the one day that starts in between
    noon = datetime.combine(days[0], time(12), tzinfo=tz)
    assert await spend_of(noon.isoformat(), (noon + timedelta(days=1)).isoformat()) == 200
