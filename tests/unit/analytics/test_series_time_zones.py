"""Series in zones with part-hour offsets and daylight-saving changes (Asia/Kolkata UTC+5:30,
Australia/Adelaide UTC+9:30/+10:30, Asia/Kathmandu UTC+5:45, America/St_Johns UTC-3:30):
a day series has exactly the local days asked for, each of the UTC hours that start on it
(docs/analytics.md), and adds up to every hour bucket of the range; an hour series has one
point per UTC hour."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hoplink.analytics.conversions import _series
from hoplink.analytics.models import HourRow, ScopeKind, StatsScope
from hoplink.analytics.query import StatsQuery, parse_stats_query
from hoplink.analytics.service import build_series
from hoplink.conversions.models import Settings
from hoplink.conversions.rates import Converter
from hoplink.storage.conversion_reports import OrderSums

ADELAIDE = ZoneInfo("Australia/Adelaide")  # 2026: daylight time ends 5 April, starts 4 October
KOLKATA = ZoneInfo("Asia/Kolkata")


def query(tz: str, from_: str, to: str, granularity: str = "day") -> StatsQuery:
    return parse_stats_query(
        workspace_id="ws1",
        timezone=tz,
        scope=StatsScope(ScopeKind.WORKSPACE),
        from_=from_,
        to=to,
        granularity=granularity,
    )


def every_hour(q: StatsQuery) -> list[HourRow]:
    """One click of one visitor in each hour bucket of the range."""
    return [
        HourRow(hour=h, pv=1, human_pv=1, uv_hour=1, uv_day=1)
        for h in range(q.start_hour, q.end_hour)
    ]


@pytest.mark.parametrize(
    ("tz", "day", "buckets"),
    [
        ("Asia/Kolkata", "2026-11-01", 24),  # the 24 UTC hours starting 00:30 … 23:30 local
        ("Asia/Kathmandu", "2026-11-01", 24),
        ("America/St_Johns", "2026-11-02", 24),
        ("Australia/Adelaide", "2026-11-01", 24),
        ("Australia/Adelaide", "2026-10-04", 23),  # 23 hours: clocks go forward
        ("Australia/Adelaide", "2026-04-05", 25),  # 25 hours: clocks go back
        ("America/New_York", "2026-11-01", 25),  # whole-hour offset: nothing widened
        ("UTC", "2026-11-01", 24),
    ],
    ids=[
        "kolkata",
        "kathmandu",
        "st-johns",
        "adelaide",
        "adelaide-spring-forward",
        "adelaide-fall-back",
        "new-york-fall-back",
        "utc",
    ],
)
def test_one_day_asked_is_one_point_holding_every_bucket(tz: str, day: str, buckets: int) -> None:
    q = query(tz, day, day)
    assert q.end_hour - q.start_hour == buckets
    zone = ZoneInfo(tz)
    [point] = build_series(q, every_hour(q))
    assert point.start == datetime.combine(date.fromisoformat(day), datetime.min.time(), zone)
    assert (point.pv, point.human_pv, point.uv) == (buckets, buckets, buckets)


def test_days_across_adelaides_spring_forward_have_their_true_lengths() -> None:
    q = query("Australia/Adelaide", "2026-10-03", "2026-10-05")
    points = build_series(q, every_hour(q))
    assert [(p.start, p.pv) for p in points] == [
        (datetime(2026, 10, 3, tzinfo=ADELAIDE), 24),
        (datetime(2026, 10, 4, tzinfo=ADELAIDE), 23),
        (datetime(2026, 10, 5, tzinfo=ADELAIDE), 24),
    ]
    assert [p.start.utcoffset() for p in points] == [
        timedelta(hours=9, minutes=30),
        timedelta(hours=9, minutes=30),
        timedelta(hours=10, minutes=30),
    ]
    assert sum(p.pv for p in points) == q.end_hour - q.start_hour


def test_a_kolkata_week_is_seven_points_adding_up_to_the_range() -> None:
    q = query("Asia/Kolkata", "2026-11-01", "2026-11-07")
    rows = every_hour(q)
    points = build_series(q, rows)
    assert [p.start.date() for p in points] == [date(2026, 11, d) for d in range(1, 8)]
    assert [p.pv for p in points] == [24, 24, 24, 24, 24, 24, 24]
    assert sum(p.uv for p in points) == sum(r.uv_day for r in rows)


def test_hourly_points_in_adelaide_skip_the_hour_that_does_not_exist() -> None:
    q = query("Australia/Adelaide", "2026-10-04", "2026-10-04", "hour")
    points = build_series(q, every_hour(q))
    assert len(points) == 23
    starts = [p.start.strftime("%d %H:%M %z") for p in points]
    assert starts[:3] == ["04 00:30 +0930", "04 01:30 +0930", "04 03:30 +1030"]
    assert starts[-1] == "04 23:30 +1030"
    assert not any(" 02:" in s for s in starts)


def test_a_range_from_a_local_date_time_starts_on_its_own_day() -> None:
    # From 22:00 local on 31 October (16:30 UTC): widened back to the whole UTC hour, which
    # starts at 21:30 local on the same day (widening never crosses a local midnight).
    q = query("Asia/Kolkata", "2026-10-31T22:00", "2026-11-01")
    points = build_series(q, every_hour(q))
    assert [(p.start.date(), p.pv) for p in points] == [
        (date(2026, 10, 31), 3),  # the buckets from 21:30, 22:30 and 23:30
        (date(2026, 11, 1), 24),
    ]


def test_the_conversion_series_has_the_same_local_days() -> None:
    q = query("Asia/Kolkata", "2026-11-01", "2026-11-02")
    first, last = q.start_hour, q.end_hour - 1
    rows = [
        OrderSums(None, first, "INR", 1, 100, 0),  # 00:30 on 1 November, the first hour counted
        OrderSums(None, first + 1, "INR", 1, 200, 0),
        OrderSums(None, last, "INR", 1, 400, 0),  # 23:30 on 2 November
    ]
    fx = Converter([], "INR", max_age_days=7)
    points = _series(q, rows, fx, Settings(currency="INR"))
    assert [(t.date(), m.orders, m.gmv) for t, m in points] == [
        (date(2026, 11, 1), 2, Decimal(300)),
        (date(2026, 11, 2), 1, Decimal(400)),
    ]
    assert all(
        t.tzinfo is KOLKATA or t.utcoffset() == timedelta(hours=5, minutes=30) for t, _ in points
    )
